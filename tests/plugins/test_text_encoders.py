"""The built-in text encoders: protocol, the plugin kit, the tokenizer saved in the state dict."""

from __future__ import annotations

import pytest
import torch

import condgen
from condgen.testing import check_component
from condgen_text.encoders import GRUConfig, GRUTextEncoder, TransformerConfig, TransformerTextEncoder


class Captions:
    def __init__(self, texts: list[str]) -> None:
        self.texts, self.calls = texts, 0

    def text_corpus(self) -> list[str]:
        self.calls += 1
        return self.texts


CORPUS = [f"a {w} {d}" for w in ("thin", "thick") for d in ("seven", "two", "7", "2")]
ENCODERS = [(GRUTextEncoder, GRUConfig), (TransformerTextEncoder, TransformerConfig)]


@pytest.mark.parametrize("name", ["gru", "transformer"])
def test_passes_the_text_encoder_kit(name: str) -> None:
    report = check_component("text_encoder", name, {"dim": 16})
    assert "satisfies the text_encoder protocol" in report.passed


@pytest.mark.parametrize("cls,config", ENCODERS)
def test_one_vector_per_text_whatever_the_text(cls, config) -> None:
    encoder = cls(config(dim=8), condgen.BuildContext(dataset=Captions(CORPUS)))
    assert isinstance(encoder, condgen.TextEncoder)
    out = encoder(["a thick seven", "", "ünïcode 数字 " * 400])
    assert out.shape == (3, 8) and torch.isfinite(out).all()


@pytest.mark.parametrize("cls,config", ENCODERS)
def test_padding_does_not_change_a_texts_vector(cls, config) -> None:
    encoder = cls(config(dim=8), condgen.BuildContext(dataset=Captions(CORPUS))).eval()
    alone = encoder(["a thin 7"])
    beside_a_longer_one = encoder(["a thin 7", "a thick seven a thick seven"])[:1]
    assert torch.allclose(alone, beside_a_longer_one, atol=1e-5)


@pytest.mark.parametrize("cls,config", ENCODERS)
def test_the_tokenizer_travels_in_the_state_dict_and_is_not_retrained_on_load(cls, config) -> None:
    trained = cls(config(dim=8), condgen.BuildContext(dataset=Captions(CORPUS)))
    state = trained.state_dict()
    other = Captions(["entirely different words"])
    loaded = cls(config(dim=8), condgen.BuildContext(dataset=other))
    loaded.load_state_dict(state)
    assert other.calls == 0  # the tokenizer came from the state, the corpus was never read
    assert loaded.tokenizer.to_str() == trained.tokenizer.to_str()
    assert torch.equal(loaded(["a thick two"]), trained(["a thick two"]))


def test_a_dataset_without_texts_is_a_plugin_error_naming_it() -> None:
    with pytest.raises(condgen.PluginError, match="text_corpus"):
        GRUTextEncoder(GRUConfig(), condgen.BuildContext(dataset=object()))


def test_an_embedding_not_divisible_by_the_heads_is_a_recipe_error() -> None:
    with pytest.raises(condgen.RecipeError, match="multiple of heads"):
        TransformerTextEncoder(TransformerConfig(embedding=30, heads=4), condgen.BuildContext(dataset=Captions(CORPUS)))
