"""trainer.compile: auto: the measured rule, decided from the device, the run's planned steps and its heads."""

from __future__ import annotations

import torch

from condgen.engine import compiled
from condgen.engine.compiled import AUTO_CPU_MIN_STEPS, wants_compile

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
    monkeypatch.setattr(compiled, "cxx_found", lambda: False)
    assert not wants_compile("auto", CPU, 10**6)


def test_auto_always_compiles_on_cuda() -> None:
    assert wants_compile("auto", CUDA, 1, heads=True)


def test_the_cxx_compiler_is_looked_up_as_inductor_does(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-c++"))
    assert not compiled.cxx_found()
    monkeypatch.setenv("CXX", "sh")  # any program on the PATH
    assert compiled.cxx_found()
