"""The built-in ``mlp`` encoder and decoder: layer sizes and output distributions."""

from __future__ import annotations

import pydantic
import pytest
import torch
from torch import distributions as D
from torch import nn

from condgen import BuildContext
from condgen_mlp import MLPDecoderConfig, MLPEncoderConfig
from condgen_mlp.networks import MLPDecoder, MLPEncoder


def linear_sizes(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def encoder(**options) -> MLPEncoder:
    return MLPEncoder(MLPEncoderConfig(**options), BuildContext(input_shape=(794,)))


def decoder(**options) -> MLPDecoder:
    return MLPDecoder(MLPDecoderConfig(**options), BuildContext(input_shape=(12,), output_shape=(1, 28, 28)))


def test_seed_shapes_by_default() -> None:
    assert linear_sizes(encoder()) == [(794, 512), (512, 4)]
    assert linear_sizes(decoder()) == [(12, 512), (512, 784)]
    assert encoder().latent_dim == 2


def test_hidden_layers_and_latent_dim_set_the_sizes() -> None:
    assert linear_sizes(encoder(hidden=[64, 32], latent_dim=5)) == [(794, 64), (64, 32), (32, 10)]
    assert linear_sizes(encoder(hidden=[])) == [(794, 4)]


@pytest.mark.parametrize(("name", "kind"), [("relu", nn.ReLU), ("tanh", nn.Tanh), ("elu", nn.ELU), ("silu", nn.SiLU)])
def test_activation_sits_between_layers_only(name, kind) -> None:
    net = encoder(hidden=[8, 8], activation=name)
    activations = [m for m in net.modules() if isinstance(m, nn.Module) and type(m) in (nn.ReLU, nn.Tanh, nn.ELU, nn.SiLU)]
    assert len(activations) == 2 and all(isinstance(m, kind) for m in activations)


def test_encoder_gives_a_diagonal_gaussian_over_the_latents() -> None:
    q = encoder(hidden=[16], latent_dim=3)(torch.rand(7, 794))
    assert isinstance(q, D.Independent) and isinstance(q.base_dist, D.Normal)
    assert q.batch_shape == (7,) and q.event_shape == (3,)
    assert q.rsample().shape == (7, 3)
    assert (q.base_dist.scale > 0).all()
    assert q.log_prob(torch.zeros(7, 3)).shape == (7,)


def test_decoder_gives_bernoulli_pixels_by_default() -> None:
    p = decoder(hidden=[16])(torch.rand(4, 12))
    assert isinstance(p.base_dist, D.Bernoulli)
    assert p.batch_shape == (4,) and p.event_shape == (1, 28, 28)
    assert p.mean.shape == (4, 1, 28, 28) and (0 <= p.mean).all() and (p.mean <= 1).all()
    assert p.log_prob(torch.zeros(4, 1, 28, 28)).shape == (4,)


def test_continuous_bernoulli_likelihood_scores_grey_pixels() -> None:
    net = decoder(hidden=[16], likelihood="continuous_bernoulli")
    p = net(torch.rand(3, 12))
    assert isinstance(p.base_dist, D.ContinuousBernoulli)
    assert p.event_shape == (1, 28, 28)
    grey = torch.full((3, 1, 28, 28), 0.37)
    assert torch.isfinite(p.log_prob(grey)).all()
    # A plain Bernoulli with the same logits scores grey pixels differently: the normaliser.
    bernoulli = D.Independent(D.Bernoulli(logits=p.base_dist.logits, validate_args=False), 3)
    assert not torch.allclose(p.log_prob(grey), bernoulli.log_prob(grey))


def test_options_are_validated() -> None:
    for bad in ({"latent_dim": 0}, {"activation": "gelu"}, {"hidden": "big"}, {"depth": 3}):
        with pytest.raises(pydantic.ValidationError):
            MLPEncoderConfig(**bad)
    with pytest.raises(pydantic.ValidationError):
        MLPDecoderConfig(likelihood="poisson")
