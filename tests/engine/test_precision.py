"""trainer.precision: the auto rule (bf16 where the CPU multiplies bfloat16 natively), and bf16 steps with heads."""

from __future__ import annotations

import math

import pytest
import torch

from condgen.engine.checkpoint import CHECKSUM_KEY, load_checkpoint, save_checkpoint
from condgen.engine.precision import autocast_dtype, native_bf16, resumed_autocast
from condgen.engine.trainer import Interrupted
from helpers import GAN, StopAtStep, checkpoint, metrics, train

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


def test_a_resumed_run_keeps_the_precision_it_began_in_whatever_auto_picks_on_this_machine() -> None:
    assert resumed_autocast(None, torch.bfloat16) == (torch.bfloat16, None)  # a checkpoint from before the record
    assert resumed_autocast("bf16", torch.bfloat16) == (torch.bfloat16, None)
    kept, note = resumed_autocast("bf16", None)  # begun where bf16 is native, resumed where it is not
    assert kept is torch.bfloat16 and "continues in bf16 (this CPU has no native bf16" in note
    kept, note = resumed_autocast("fp32", torch.bfloat16)
    assert kept is None and "continues in fp32, not the bf16 that auto picks" in note


def test_a_run_resumed_from_another_machines_checkpoint_continues_in_its_precision(tiny_recipe, cli) -> None:
    with pytest.raises(Interrupted):
        train(tiny_recipe, "trainer.precision=auto", "trainer.epochs=2", reporter=StopAtStep(13))
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    path = run / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    here = "bf16" if autocast_dtype("auto", CPU) is torch.bfloat16 else "fp32"
    assert state["precision"] == here
    other = "fp32" if here == "bf16" else "bf16"  # as if written on a CPU that auto treats the other way
    state["precision"] = other
    save_checkpoint(path, {k: v for k, v in state.items() if k not in ("format", CHECKSUM_KEY)})
    code, out, err = cli("run", "--resume", run)
    assert code == 0, err
    assert f"continues in {other}" in " ".join((out + err).split())
    assert checkpoint(run)["precision"] == other
