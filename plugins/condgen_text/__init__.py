"""Text as a condition: captions of Morpho-MNIST digits, a tokenizer and text encoder trained
with the model, and the ``text`` conditioner joining the text's embedding into the CVAE."""

from __future__ import annotations

import condgen

from . import dataset
from .conditioner import TextConditioner, TextConditionerConfig
from .encoders import GRUConfig, GRUTextEncoder, TransformerConfig, TransformerTextEncoder


@condgen.hookimpl
def register_components(register):
    register("dataset", "captions", dataset.build, dataset.CaptionsConfig)
    register("conditioner", "text", TextConditioner, TextConditionerConfig)
    register("text_encoder", "gru", GRUTextEncoder, GRUConfig)
    register("text_encoder", "transformer", TransformerTextEncoder, TransformerConfig)
