"""The training step's forward pass under ``torch.compile``, with a one-line fallback when compiling fails.

``trainer.compile``: ``on`` compiles; ``off`` does not; ``auto`` compiles on
CUDA, and on a CPU when inductor's C++ compiler is found and the run plans at
least ``AUTO_CPU_MIN_STEPS`` optimiser steps. The CPU threshold is where
compiling was measured to pay for itself on this project's 2-core machine
(README, throughput section): compiling the seed model's step took 5-8 s with
inductor's cache warm (up to 50 s cold under load). Compiled, the step then
saved 1.2 ms at one thread (10.9 against 9.7 ms, alternating in one process
under load), which repays 8 s after about 7,000 steps; at two threads on an
idle machine eager takes 2.8 ms, and if the compiled step reaches the
compiled bare loop's 2.0 ms the break-even is about 10,000 steps (not yet
measured there). The 20-epoch seed recipe plans 24,000. Short runs (tests,
smoke runs) stay eager. So do
recipes with heads on a CPU: the CVAE-GAN's compiled step (forward pass plus
each head's two losses, compiled apart) ran at 194 images/s against its bare
eager loop's 330, where condgen's eager step matches the bare loop
(benchmarks/cvae_gan.py, one thread, under load), so on CPUs ``auto`` leaves
it eager until that is understood.

Compiling happens in the first step (forward graphs at the first call,
backward graphs at the first backward), so that step's time is reported as
compiling, apart from the training time. When it fails (no C++ compiler, an op
inductor cannot lower), the step warns once and goes on eagerly, with the
random number state it started the failed call with: a run never crashes for
want of a compiler.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Literal

import torch

from ..errors import UserError

CompileSetting = Literal["off", "on", "auto"]


#: the fewest planned optimiser steps for which ``auto`` compiles on a CPU (see the module's docstring)
AUTO_CPU_MIN_STEPS = 10_000


def wants_compile(
    setting: CompileSetting, device: torch.device, planned_steps: int, heads: bool = False, convolutional: bool = False
) -> bool:
    """Whether ``setting`` compiles on ``device`` for a run of ``planned_steps`` steps, with or without
    ``heads``, for a model with or without convolutions (the ``auto`` rule).

    On a CPU, steps with heads or convolutions stay eager: compiled, they measured slower than eager. (A compiled
    conv decoder also trained differently until the model update copied each gradient into its weight's memory
    layout: see ``updates._in_layout_of``.)
    """
    if setting != "auto":
        return setting == "on"
    if device.type == "cuda":
        return True
    return (
        device.type == "cpu" and not heads and not convolutional and planned_steps >= AUTO_CPU_MIN_STEPS and cxx_found()
    )


def convolutional(model: torch.nn.Module) -> bool:
    """Whether any of ``model``'s layers is a convolution (what the ``auto`` rule asks of a CPU run)."""
    return any(isinstance(module, torch.nn.modules.conv._ConvNd) for module in model.modules())


def cxx_found() -> bool:
    """Whether the C++ compiler inductor would call for CPU kernels is on the PATH (``$CXX``, else its default)."""
    default = "clang++" if sys.platform == "darwin" else "g++"
    return shutil.which(os.environ.get("CXX", default)) is not None


def _compile_errors() -> tuple[type[BaseException], ...]:
    """What torch raises when compiling fails: dynamo's and inductor's errors (a missing compiler surfaces as
    one of these, or as the OSError or subprocess error inductor's build step hit)."""
    import subprocess

    errors: list[type[BaseException]] = [OSError, subprocess.CalledProcessError]
    try:
        from torch._dynamo.exc import TorchDynamoException

        errors.append(TorchDynamoException)
    except ImportError:  # pragma: no cover - every supported torch has it
        pass
    try:
        from torch._inductor.exc import InductorError

        errors.append(InductorError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


class Compiler:
    """Compiles the step's functions when ``enabled``; after one failed compile, every one runs eagerly,
    with one warning for the run."""

    def __init__(self, enabled: bool, warn: Callable[[str], None]) -> None:
        self.enabled = enabled
        self.warn = warn
        #: seconds of the first step of a compiled run (see :meth:`first_step`); reported apart
        self.compile_seconds = 0.0
        self._timed = False

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        return _Compiled(function, self) if self.enabled else function

    @contextmanager
    def first_step(self) -> Iterator[None]:
        """Time the run's first step as compiling when compiling is on: dynamo compiles the forward pass (and
        each head's losses) at their first call, and AOT autograd compiles their backward graphs at the first
        backward, after the forward call has returned (on the conv CVAE, seconds that were counted as training
        time when only the first calls were timed)."""
        if not self.enabled or self._timed:
            yield
            return
        self._timed = True
        started = time.perf_counter()
        try:
            yield
        finally:
            self.compile_seconds += time.perf_counter() - started

    def failed(self, error: BaseException) -> None:
        if self.enabled:
            self.enabled = False
            self.warn(f"trainer.compile: torch.compile failed ({_gist(error)}); training eagerly.")


class _Compiled:
    """``function`` compiled; eager once its compiler has failed (its first call falls back)."""

    def __init__(self, function: Callable[..., Any], compiler: Compiler) -> None:
        self.eager = function
        self.compiled = torch.compile(function)
        self.compiler = compiler
        self.first = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.compiler.enabled:
            return self.eager(*args, **kwargs)
        if not self.first:
            return self.compiled(*args, **kwargs)
        self.first = False
        rng = torch.get_rng_state()
        try:
            return self.compiled(*args, **kwargs)
        except UserError:
            raise
        except _compile_errors() as error:
            self.compiler.failed(error)
            torch.set_rng_state(rng)  # the eager call draws what the failed one would have
            return self.eager(*args, **kwargs)


def _gist(error: BaseException) -> str:
    """The innermost cause's first line: what a user can act on (a missing compiler, an op)."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 400 else text[:397] + "..."
