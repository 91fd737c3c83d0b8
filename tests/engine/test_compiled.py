"""trainer.compile: the auto rule (device, planned steps, heads, a C++ compiler), and when compiling is impossible:
one warning line, then the eager step, never a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import assert_same_tensors, checkpoint, train

from condgen.engine import compiled
from condgen.engine.compiled import AUTO_CPU_MIN_STEPS, wants_compile


@pytest.mark.slow
def test_a_missing_cxx_compiler_falls_back_to_the_eager_step_with_one_warning_line(tiny_recipe, tmp_path) -> None:
    missing = tmp_path / "no-such-c++"
    # A real failure of inductor's build step: CXX names a compiler that is not there. (A fresh cache
    # folder, so no kernel compiled by an earlier run can stand in for the build.)
    env = {**os.environ, "CXX": str(missing), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor-cache")}
    command = [sys.executable, "-m", "condgen", "run", str(tiny_recipe), "trainer.compile=on", "output.dir=fallback"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Warning: trainer.compile: torch.compile failed (")
    assert "C++ compiler" in lines[0] and str(missing) in lines[0] and lines[0].endswith("training eagerly.")
    assert "compiling" in done.stdout  # the failed attempt's time is reported apart from training time
    # The eager step then trains exactly what a run that never tried to compile trains: the failed call's
    # random draws are given back.
    (fallback,) = (tmp_path / "fallback").iterdir()
    eager = train(tiny_recipe, "trainer.compile=off")
    assert_same_tensors(checkpoint(eager)["model"], checkpoint(Path(fallback))["model"])


CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_on_and_off_are_obeyed_whatever_the_run() -> None:
    assert wants_compile("on", CPU, 1, heads=True)
    assert not wants_compile("off", CUDA, 10**6)


def test_auto_compiles_a_long_headless_cpu_run_where_a_cxx_compiler_is_found(monkeypatch) -> None:
    monkeypatch.setattr(compiled, "cxx_found", lambda: True)
    assert wants_compile("auto", CPU, AUTO_CPU_MIN_STEPS)
    assert wants_compile("auto", CPU, 24_000)  # the 20-epoch seed recipe: 20 x 1,200 steps


def test_auto_leaves_short_runs_heads_and_compilerless_cpus_eager(monkeypatch) -> None:
    monkeypatch.setattr(compiled, "cxx_found", lambda: True)
    assert not wants_compile("auto", CPU, AUTO_CPU_MIN_STEPS - 1)  # compiling would not be repaid
    assert not wants_compile("auto", CPU, 10**6, heads=True)  # measured slower than eager with heads
    assert not wants_compile("auto", CPU, 10**6, convolutional=True)  # measured slower than eager
    monkeypatch.setattr(compiled, "cxx_found", lambda: False)
    assert not wants_compile("auto", CPU, 10**6)


def test_a_model_with_a_convolution_anywhere_counts_as_convolutional() -> None:
    from torch import nn

    assert compiled.convolutional(nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ConvTranspose2d(1, 1, 3))))
    assert not compiled.convolutional(nn.Sequential(nn.Linear(4, 4), nn.ReLU()))


def test_auto_always_compiles_on_cuda() -> None:
    assert wants_compile("auto", CUDA, 1, heads=True)


def test_the_cxx_compiler_is_looked_up_as_inductor_does(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-c++"))
    assert not compiled.cxx_found()
    monkeypatch.setenv("CXX", "sh")  # any program on the PATH
    assert compiled.cxx_found()


def test_only_the_first_step_of_a_compiled_run_counts_as_compiling() -> None:
    # The backward graphs compile at the first backward, after the compiled forward call returned: the whole
    # first step is compiling time, and no later step is.
    import time

    compiler = compiled.Compiler(True, print)
    with compiler.first_step():
        time.sleep(0.05)
    first = compiler.compile_seconds
    with compiler.first_step():
        time.sleep(0.05)
    assert first >= 0.05 and compiler.compile_seconds == first
    eager = compiled.Compiler(False, print)
    with eager.first_step():
        time.sleep(0.01)
    assert eager.compile_seconds == 0.0


@pytest.mark.slow
def test_a_compiled_conv_step_has_the_eager_loss_and_gradients_on_the_same_batch_and_seed(tiny_recipe) -> None:
    # Why a compiled conv model trains a different run from the eager one: not its backward, nor its noise.
    # The compiled step draws its reparameterisation noise through aten's normal_ (torch's generator, as eager),
    # and its loss and every parameter's gradient are the eager step's to float rounding.
    from condgen.engine.trainer import build_parts
    from condgen.model import forward_step
    from condgen.recipe import load_recipe

    conv = ["model.conditioner.layout=channels", "model.encoder={name: conv, channels: [8, 16], hidden: 32}",
            "model.decoder={name: conv, channels: [16, 8], hidden: 32}", "trainer.precision=fp32"]
    parts = build_parts(load_recipe(tiny_recipe, conv))
    x, c = parts.train_split.batch(torch.arange(20))

    def loss_and_grads(step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        torch.manual_seed(1)
        loss = step(parts.model, x, c, generate=False).losses.loss
        parts.model.zero_grad(set_to_none=True)
        loss.backward()
        return loss.detach(), {name: p.grad.clone() for name, p in parts.model.named_parameters()}

    eager_loss, eager_grads = loss_and_grads(forward_step)
    compiled_loss, compiled_grads = loss_and_grads(torch.compile(forward_step))
    torch.testing.assert_close(compiled_loss, eager_loss, rtol=1e-5, atol=0)
    for name, grad in eager_grads.items():
        torch.testing.assert_close(compiled_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.slow
def test_a_compiled_conv_model_update_moves_the_weights_as_the_eager_one(tiny_recipe) -> None:
    # The compiled backward hands a transposed convolution's weight gradient back in channels-last strides, and
    # torch's fused Adam updates parameter and gradient in memory order: unless the update copies the gradient
    # into the weight's layout (as backward() does), the compiled run moves the wrong weights by up to 2 x lr
    # at its first step (how the compiled Morpho-MNIST recipe ended its first epoch 7 nats behind eager).
    from condgen.engine.trainer import build_parts
    from condgen.engine.updates import Updates
    from condgen.recipe import load_recipe

    conv = ["model.decoder={name: conv, channels: [16, 8], hidden: 32}", "trainer.precision=fp32"]

    def two_steps(compiling: bool) -> dict[str, torch.Tensor]:
        parts = build_parts(load_recipe(tiny_recipe, conv))
        settings = parts.resolved.recipe.trainer
        updates = Updates(parts.model, parts.heads, settings.update_order, settings.optimizer,
                          compiler=compiled.Compiler(compiling, print))
        for step in range(2):
            x, c = parts.train_split.batch(torch.arange(20 * step, 20 * step + 20))
            torch.manual_seed(step)
            updates.step(x, c, RuntimeError)
        return {name: p.detach().clone() for name, p in parts.model.named_parameters()}

    eager, compiled_ = two_steps(False), two_steps(True)
    for name, weight in eager.items():
        torch.testing.assert_close(compiled_[name], weight, rtol=0, atol=1e-5, msg=name)  # lr is 1e-3
