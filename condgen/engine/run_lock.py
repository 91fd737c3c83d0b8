"""One training process per run folder: an exclusive lock the kernel releases when its holder dies.

``fcntl.flock`` on ``RUN/run.lock`` is held for as long as a process trains in
the folder. A second trainer (``condgen run --resume RUN`` while RUN still
trains) is refused, naming the process that holds it. The lock belongs to the
open file, so a SIGKILLed trainer leaves nothing to clean up: the next resume
takes the lock at once. The file is never deleted (deleting it would let two
processes lock two different files of the same name).
"""

from __future__ import annotations

import errno
import fcntl
import os
from contextlib import contextmanager
from typing import Iterator

from ..errors import CheckpointError, OutputError
from .run_dir import RunDir

LOCK_FILE = "run.lock"
#: set to 1 to train on a filesystem whose locks do not work (see docs/reliability.md)
NO_LOCK_ENV = "CONDGEN_NO_RUN_LOCK"
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


class RunLocked(CheckpointError):
    """Another process trains in this run folder."""


@contextmanager
def run_lock(run: RunDir) -> Iterator[None]:
    """Hold the run folder's lock for the block; refuse (exit 2) if another process holds it."""
    path = run.path / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise OutputError(f"Cannot open the run's lock file {str(path)!r}: {error.strerror or error}.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            raise RunLocked(
                f"Run {str(run.path)!r} is being trained by another process ({holder}): two processes training "
                "in one run folder would overwrite each other's checkpoints.",
                hint=f"Wait for it to finish, or stop it (kill {holder.split()[-1]}: it saves a checkpoint first) "
                "and resume then.",
            ) from None
        except OSError as error:
            if error.errno not in _NO_LOCKS or os.environ.get(NO_LOCK_ENV, "") != "1":
                raise OutputError(
                    f"Cannot lock the run folder {str(run.path)!r} ({error.strerror or error}): its filesystem "
                    "does not support file locks, so condgen cannot make sure one process trains in it.",
                    hint=f"Use a local folder for output.dir, or set {NO_LOCK_ENV}=1 to train without the lock.",
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        pid = ""
    return f"PID {pid}" if pid.isdigit() else "PID unknown"
