"""Text as a condition: captions of Morpho-MNIST digits, a tokenizer and text encoder trained
with the model, and the ``text`` conditioner joining the text's embedding into the CVAE."""

from __future__ import annotations

import condgen

from .config import CaptionsConfig, GRUConfig, TextConditionerConfig, TransformerConfig


@condgen.hookimpl
def register_components(register):
    register("dataset", "captions", "condgen_text.dataset:build", CaptionsConfig)
    register("conditioner", "text", "condgen_text.conditioner:TextConditioner", TextConditionerConfig)
    register("text_encoder", "gru", "condgen_text.encoders:GRUTextEncoder", GRUConfig)
    register("text_encoder", "transformer", "condgen_text.encoders:TransformerTextEncoder", TransformerConfig)
