"""The ``captions`` dataset, ``text`` conditioner and text encoders' configs: the options a recipe may set, without torch.

Kept apart from the code that builds the components, so ``condgen validate`` and
``condgen plugins`` read them without importing torch or tokenizers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

import condgen

SizeMeasure = Literal["area", "height", "width"]


class CaptionsConfig(condgen.ComponentConfig):
    base: Annotated[condgen.ComponentBlock, condgen.BlockKind("dataset")] = Field(
        default_factory=lambda: condgen.ComponentBlock(name="mnist"),
        validate_default=True,
        description="the digits to caption: a morpho dataset (label: true) measuring thickness, slant and the size "
        "measurement, or any labelled dataset of (1, H, W) grayscale images with 10 classes, which is then measured "
        "through morpho",
    )
    seed: condgen.Seed = Field(0, description="seeds the grammar: which templates and synonyms are held out")
    holdout: float = Field(0.25, gt=0, lt=1, description="fraction of each template and synonym list held out")
    size: SizeMeasure = Field("area", description="the Morpho-MNIST measurement that 'small' and 'large' describe")
    p_digit: float = Field(0.9, ge=0, le=1, description="chance that a training caption names the digit")
    p_attribute: float = Field(0.5, ge=0, le=1, description="chance that a training caption names each attribute")
    captions_per_request: int = Field(32, gt=0, le=1024, description="captions in the bank per combination named")
    max_chars: int = Field(96, ge=16, le=4096, description="characters a caption or prompt may have; longer are cut")
    cache: Path | None = Field(
        None,
        description="folder of the measurement cache when the base is not a morpho dataset (a morpho base has its "
        "own cache option); default: morpho/ in the base dataset's data root",
    )
    test_seed: condgen.Seed = Field(0, description="seeds the test split's captions, one per example")
    preview_examples: int = Field(10, gt=0, le=100, description="prompts in the sample grid, one per row")


class TextConditionerConfig(condgen.ComponentConfig):
    encoder: Annotated[condgen.ComponentBlock, condgen.BlockKind("text_encoder")] = Field(
        default_factory=lambda: condgen.ComponentBlock(name="gru"),
        validate_default=True,
        description="the text encoder: any registered text_encoder (built-ins: gru, transformer)",
    )


class TokenizedConfig(condgen.ComponentConfig):
    dim: int = Field(64, gt=0, le=4096, description="size of the text embedding handed to the conditioner")
    # Bounds chosen so every valid config trains: single characters and their ## continuations take about 140
    # entries, and in any caption bank the commonest words occur more than 100 times.
    vocab_size: int = Field(
        512, ge=256, le=65536, description="most entries in the tokenizer's vocabulary (single characters take ~140)"
    )
    min_frequency: int = Field(1, ge=1, le=100, description="fewest occurrences for a word to be a token")
    max_tokens: int = Field(32, gt=0, le=512, description="tokens read per text; the rest is cut")
    embedding: int = Field(64, gt=0, le=4096, description="size of each token's embedding")


class GRUConfig(TokenizedConfig):
    hidden: int = Field(128, gt=0, le=4096, description="units of the GRU")


class TransformerConfig(TokenizedConfig):
    layers: int = Field(2, gt=0, le=24)
    heads: int = Field(4, gt=0, le=64)
    feedforward: int = Field(128, gt=0, le=16384)
