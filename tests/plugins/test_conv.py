"""The ``conv`` encoder and decoder: a configurable number of stride-2 stages, any likelihood."""

from __future__ import annotations

import pytest
import torch

import condgen
from condgen_conv import ConvDecoderConfig, ConvEncoderConfig
from condgen_conv.networks import ConvDecoder, ConvEncoder


def encoder(shape, **options) -> ConvEncoder:
    return ConvEncoder(ConvEncoderConfig(**options), condgen.BuildContext(input_shape=shape))


def decoder(shape, latent=8, **options) -> ConvDecoder:
    return ConvDecoder(ConvDecoderConfig(**options), condgen.BuildContext(input_shape=(latent,), output_shape=shape))


@pytest.mark.parametrize("shape, channels", [((3, 32, 32), [16, 32, 64]), ((3, 64, 64), [8, 16, 32, 64])])
def test_more_stages_encode_and_decode_larger_colour_images(shape, channels) -> None:
    q = encoder(shape, channels=channels, hidden=32, latent_dim=8)(torch.rand(2, *shape))
    assert q.batch_shape == (2,) and q.event_shape == (8,)
    convs = [m for m in encoder(shape, channels=channels).modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == len(channels)
    p = decoder(shape, channels=channels[::-1], hidden=32, likelihood="logistic_mixture", mixtures=3)(torch.randn(2, 8))
    assert p.batch_shape == (2,) and p.event_shape == shape
    x = torch.randint(0, 256, (2, *shape)) / 255
    assert torch.isfinite(p.log_prob(x)).all()
    assert p.mean.shape == (2, *shape) and 0 <= p.mean.min() and p.mean.max() <= 1


def test_two_stages_keep_the_parameter_names_of_earlier_checkpoints() -> None:
    # Checkpoints written before stages were configurable must still load.
    names = set(encoder((11, 28, 28)).state_dict())
    assert names == {f"blocks.{i}.layer.{p}" for i in (0, 1) for p in ("weight", "bias")} | {
        "blocks.2.layer.1.weight", "blocks.2.layer.1.bias", "out.weight", "out.bias"
    }
    names = set(decoder((1, 28, 28), latent=12).state_dict())
    assert names == {"blocks.0.layer.weight", "blocks.0.layer.bias", "blocks.1.layer.0.weight", "blocks.1.layer.0.bias",
                     "blocks.2.layer.weight", "blocks.2.layer.bias", "out.weight", "out.bias"}


def test_images_that_the_stages_cannot_halve_are_refused_naming_the_divisor() -> None:
    with pytest.raises(condgen.PluginError, match="divisible by 8"):
        encoder((3, 28, 28), channels=[8, 8, 8])
    with pytest.raises(condgen.PluginError, match="divisible by 8"):
        decoder((3, 28, 28), channels=[8, 8, 8])


def test_a_gaussian_decoder_with_learned_variance_doubles_the_output_channels() -> None:
    net = decoder((3, 32, 32), likelihood="gaussian", channels=[16, 8])
    assert net.out.out_channels == 6
    assert decoder((3, 32, 32), likelihood="gaussian", sigma=0.1, channels=[16, 8]).out.out_channels == 3
