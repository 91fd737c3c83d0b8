"""``condgen run --nproc N``: the same launch as ``torchrun --nproc-per-node N -m condgen run ...``.

torchrun's own launcher runs in this process (not as a subprocess) so that
its result comes back as the workers' exit codes: a user error ends the
command with 2 and the one message rank 0 printed, not with torchrun's
failure report and exit code 1.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterator

from ..errors import DistributedError

#: torchrun's launcher logs a report per failed worker; the workers print the user's message themselves
_LAUNCHER_LOGGERS = ("torch.distributed",)


def check_nproc(nproc: int) -> None:
    if nproc < 1:
        raise DistributedError(f"--nproc must be 1 or more, got {nproc}.")
    if "WORLD_SIZE" in os.environ:
        raise DistributedError(
            "--nproc starts its own processes, but this command is already one of torchrun's workers.",
            hint="Leave out --nproc under torchrun (or run condgen run --nproc N without torchrun).",
        )


def threads_per_rank(nproc: int) -> int:
    """The machine's cores shared out, so N ranks do not oversubscribe them (torchrun's own default is 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // nproc)


def launch(nproc: int, run_args: list[str]) -> int:
    """Start ``nproc`` workers running ``condgen run RUN_ARGS`` on this machine; their exit code."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    os.environ.setdefault("OMP_NUM_THREADS", str(threads_per_rank(nproc)))
    args = torchrun.get_args_parser().parse_args(
        ["--standalone", f"--nproc-per-node={nproc}", "-m", "condgen", "run", *run_args]
    )
    with _quiet(_LAUNCHER_LOGGERS):
        try:
            torchrun.run(args)
        except ChildFailedError as error:
            _, failure = error.get_first_failure()
            code = failure.exitcode
            return code if code > 0 else 128 - code  # -N: killed by signal N
        except SignalException as error:  # Ctrl-C: the workers saved a checkpoint and printed the resume command
            return 128 + int(error.sigval)
        except (RuntimeError, ValueError) as error:
            raise DistributedError(f"torchrun could not start the {nproc} workers: {error}") from None
    return 0


@contextmanager
def _quiet(prefixes: tuple[str, ...]) -> Iterator[None]:
    names = [name for name in logging.root.manager.loggerDict if name.startswith(prefixes)]
    loggers = [logging.getLogger(name) for name in {*prefixes, *names}]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
