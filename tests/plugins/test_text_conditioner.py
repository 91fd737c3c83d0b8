"""The ``text`` conditioner: the text's embedding joins x, z and the conditional prior, trained jointly."""

from __future__ import annotations

import pytest
import torch

import condgen
from condgen.compose import assemble, resolver
from condgen.registry import Part
from condgen.plugins import load_plugins
from condgen_text.codes import decode_texts, encode_texts

TEXTS = ["a thin seven", "a thick 2", "", "ünïcode ✓"]


class Captions:
    x_shape, condition_shape = (1, 4, 4), (24,)

    def text_corpus(self) -> list[str]:
        return ["a thin seven", "a thick two", "a thin 2", "a thick 7"]


def build_model(prior: str = "conditional"):
    plugins = load_plugins()
    registry = plugins.registry
    parts = {"conditioner": ("text", {"encoder": {"name": "gru", "dim": 8}}), "encoder": ("mlp", {"hidden": [16]}),
             "decoder": ("mlp", {"hidden": [16]}), "prior": (prior, {"hidden": [16]} if prior == "conditional" else {})}

    def build(role, context):
        name, options = parts[role]
        component = registry.get(role, name)
        return Part(component, component.config.model_validate(options)).build(context)

    return assemble(build, Captions.x_shape, Captions.condition_shape, resolver(plugins), Captions())


def test_code_points_round_trip_any_text_and_cut_at_the_length() -> None:
    codes = encode_texts(TEXTS, 24)
    assert codes.dtype == torch.float32 and codes.shape == (4, 24)
    assert decode_texts(codes) == TEXTS
    assert decode_texts(encode_texts(["x" * 100], 24)) == ["x" * 24]


def test_the_networks_and_the_prior_read_the_embedding() -> None:
    model = build_model()
    conditioner = model.conditioner
    assert isinstance(conditioner, condgen.Conditioner)
    assert conditioner.encoder_input_shape((1, 4, 4), (24,)) == (16 + 8,)
    assert conditioner.decoder_input_shape(2, (24,)) == (2 + 8,)
    assert model.prior.hidden[0].in_features == 8  # the prior reads the 8-value embedding, not 24 code points
    condition = encode_texts(TEXTS, 24)
    assert model.prior_for(condition).batch_shape == (4,)


def test_one_text_encoding_per_step_and_gradients_reach_the_text_encoder() -> None:
    model = build_model()
    calls = []
    model.conditioner.text_encoder.register_forward_hook(lambda *args: calls.append(1))
    losses = model.losses(torch.rand(4, 1, 4, 4), encode_texts(TEXTS, 24))
    assert len(calls) == 1  # encoder input, decoder input and prior share one embedding
    losses.loss.backward()
    assert model.conditioner.text_encoder.rnn.weight_ih_l0.grad.abs().sum() > 0


def test_the_embedding_is_recomputed_once_the_text_encoder_has_moved() -> None:
    model = build_model()
    condition = encode_texts(TEXTS, 24)
    before = model.conditioner.embedding(condition)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.losses(torch.rand(4, 1, 4, 4), condition).loss.backward()
    optimizer.step()
    assert not torch.equal(model.conditioner.embedding(condition), before)


def test_samples_depend_on_the_text() -> None:
    from condgen.evaluation import ignores_condition

    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.zeros(4, 1, 4, 4)
    x[0] = 1  # "a thin seven" is all ink, the others blank
    condition = encode_texts(TEXTS, 24)
    for _ in range(60):
        optimizer.zero_grad()
        model.losses(x, condition).loss.backward()
        optimizer.step()
    assert not ignores_condition(model, condition)
    model.eval()
    means = model.likelihood(torch.zeros(4, 2), condition).mean
    assert means[0].mean() > 0.8 and means[1].mean() < 0.2


def test_a_condition_that_is_not_one_row_of_code_points_is_refused() -> None:
    from condgen_text.conditioner import TextConditioner, TextConditionerConfig

    with pytest.raises(condgen.PluginError, match="code points"):
        TextConditioner(TextConditionerConfig(), condgen.BuildContext(condition_shape=(2, 3), dataset=Captions()))
