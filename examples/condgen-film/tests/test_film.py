"""The FiLM conditioner against condgen's plugin test kit, as any plugin author would test."""

import torch

import condgen
from condgen_film.layers import FiLMLayer


def test_film_passes_the_conditioner_kit(condgen_check):
    report = condgen_check("conditioner", "film")
    assert report.loss_after < report.loss_before


def test_film_with_an_embedding_and_concatenated_input_passes_the_kit(condgen_check):
    report = condgen_check("conditioner", "film", {"hidden": 16, "concat_input": True})
    assert report.loss_after < report.loss_before


def test_film_modulates_convolution_channels_and_starts_as_identity():
    layer = FiLMLayer(condition_dim=10, features=8, hidden=None)
    h = torch.randn(4, 8, 7, 7)
    condition = torch.eye(10)[:4]
    assert torch.equal(layer(h, condition), h)  # zero-initialised: the plain network at step 0
    with torch.no_grad():
        layer.project.bias[:8] = 1.0  # gamma = 1 doubles every channel
    assert torch.allclose(layer(h, condition), 2 * h)


def test_film_is_discovered_through_its_entry_point():
    from condgen.plugins import load_plugins

    component = load_plugins().registry.get("conditioner", "film")
    assert component.source.distribution == "condgen-film"
    assert issubclass(component.config, condgen.ComponentConfig)
