"""The training step's forward pass under ``torch.compile``, with a one-line fallback when compiling fails.

``trainer.compile``: ``on`` compiles; ``off`` does not; ``auto`` compiles on
CUDA only. On this project's 2-core CPU machine, compiling condgen's step
for the seed model took minutes and then ran slower than eager, while a
bare loop's compiled loss ran 2.36x eager (see the README's throughput
section). Until the difference is understood (graph breaks around the
distributions are the first suspect), ``auto`` leaves CPUs eager.

Compiling happens at the first call, so its time is measured there and
reported apart from the training time. When it fails (no C++ compiler, an op
inductor cannot lower), the step warns once and goes on eagerly, with the
random number state it started the failed call with: a run never crashes for
want of a compiler.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Literal

import torch

from ..errors import UserError

CompileSetting = Literal["off", "on", "auto"]


def wants_compile(setting: CompileSetting, device: torch.device) -> bool:
    """Whether ``setting`` compiles on ``device`` (the ``auto`` rule)."""
    if setting == "auto":
        return device.type == "cuda"
    return setting == "on"


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
        #: seconds spent in calls that compiled (the first call of each function); reported apart
        self.compile_seconds = 0.0

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        return _Compiled(function, self) if self.enabled else function

    def failed(self, error: BaseException) -> None:
        if self.enabled:
            self.enabled = False
            self.warn(f"trainer.compile: torch.compile failed ({_gist(error)}); training eagerly.")


class _Compiled:
    """``function`` compiled, its first call timed; eager once its compiler has failed."""

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
        started = time.perf_counter()
        rng = torch.get_rng_state()
        try:
            return self.compiled(*args, **kwargs)
        except UserError:
            raise
        except _compile_errors() as error:
            self.compiler.failed(error)
            torch.set_rng_state(rng)  # the eager call draws what the failed one would have
            return self.eager(*args, **kwargs)
        finally:
            self.compiler.compile_seconds += time.perf_counter() - started


def _gist(error: BaseException) -> str:
    """The innermost cause's first line: what a user can act on (a missing compiler, an op)."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 400 else text[:397] + "..."
