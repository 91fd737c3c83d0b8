"""Write files so a reader sees the old version or the new one, never half of one.

The data goes to a temporary file in the same folder, is flushed to disk, and
is renamed over the target (``os.replace`` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import OutputError


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputError(f"Cannot write in {str(path.parent)!r}: {error.strerror or error}.") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _CREATE_MODE)  # mkstemp makes 0600 files; give the usual umask-based mode
        os.replace(tmp, path)
    except OSError as error:
        raise OutputError(f"Cannot write {str(path)!r}: {error.strerror or error}.", hint=_hint(error)) from None
    finally:
        tmp.unlink(missing_ok=True)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_CREATE_MODE = _umask_mode()
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _hint(error: OSError) -> str | None:
    if error.errno in _NO_SPACE:
        return (
            "The disk, your quota or the file size limit is full; the previous version of the file is intact. "
            "Free some space (or choose another output.dir) and try again; a run resumes from its last checkpoint."
        )
    return None


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: object) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")
