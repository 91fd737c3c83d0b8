"""trainer.precision: the auto rule (bf16 where the CPU multiplies bfloat16 natively), and bf16 steps with heads."""

from __future__ import annotations

import math

import pytest
import torch

from condgen.engine.precision import autocast_dtype, native_bf16
from helpers import GAN, checkpoint, metrics, train

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def _cpu_with(monkeypatch: pytest.MonkeyPatch, avx512_bf16: bool, amx: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)


@pytest.mark.parametrize("avx512_bf16, amx", [(True, False), (False, True), (True, True)])
def test_auto_autocasts_to_bf16_on_a_cpu_with_native_bf16_instructions(monkeypatch, avx512_bf16, amx) -> None:
    _cpu_with(monkeypatch, avx512_bf16, amx)
    assert native_bf16(CPU)
    assert autocast_dtype("auto", CPU) is torch.bfloat16


def test_auto_stays_fp32_on_a_cpu_that_would_emulate_bf16_and_on_cuda(monkeypatch) -> None:
    _cpu_with(monkeypatch, False, False)
    assert autocast_dtype("auto", CPU) is None  # emulated bfloat16 is slower than float32
    _cpu_with(monkeypatch, True, True)
    assert autocast_dtype("auto", CUDA) is None  # not measured on a GPU yet


def test_fp32_and_bf16_mean_what_they_say_whatever_the_hardware(monkeypatch) -> None:
    _cpu_with(monkeypatch, True, False)
    assert autocast_dtype("fp32", CPU) is None
    _cpu_with(monkeypatch, False, False)
    assert autocast_dtype("bf16", CPU) is torch.bfloat16
    assert autocast_dtype("bf16", CUDA) is torch.bfloat16


def test_a_cvae_gan_trains_in_bf16_its_heads_under_autocast_too(tiny_recipe) -> None:
    # The heads take the images the decoder generated under autocast (bfloat16): before the heads' losses ran
    # under autocast too, the classifier's float32 convolution rejected them at the first step.
    run = train(tiny_recipe, *GAN, "trainer.precision=bf16", "trainer.epochs=1")
    (row,) = metrics(run)
    for key in ("train_classifier_loss", "train_discriminator_loss", "train_encoder_loss", "test_elbo"):
        assert math.isfinite(row[key]), key
    state = checkpoint(run)
    assert {t.dtype for t in [*state["model"].values(), *state["heads"].values()]} == {torch.float32}
