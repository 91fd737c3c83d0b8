"""Arrays computed from data, kept in one ``.npz`` file per key so the next run loads them instead.

One way for every such cache (the test images' FID statistics, the Morpho-MNIST
measurements), so each keeps the same promises:

- loading never runs code: the file is read with ``allow_pickle`` off, and a
  file that needs pickle (an object array) counts as not cached;
- a file is trusted only when it names the caller's ``version`` and ``key`` and
  its arrays pass the caller's check; anything else (missing, truncated,
  edited, stale, for other inputs) is computed afresh and rewritten, never used;
- the file is replaced atomically (:func:`~condgen.engine.atomic.atomic_path`),
  so a reader sees the old file or the new one, never half of one;
- a folder that cannot be written (a read-only data copy) costs the time of
  computing, never the caller's run: one warning says so.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import OutputError
from .atomic import atomic_path

Arrays = dict[str, np.ndarray]

#: what a damaged or foreign file raises while it is read: each means "not cached"
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, TypeError)


def cached_arrays(
    path: Path,
    key: str,
    version: int,
    compute: Callable[[], Arrays],
    valid: Callable[[Arrays], bool],
    what: str,
) -> Arrays:
    """The arrays stored at ``path`` when that file is for ``version`` and ``key`` and ``valid`` accepts them; else
    ``compute()``'s, stored there for next time. ``what`` names the arrays (a plural: "the Morpho-MNIST
    measurements") in the warning given when they cannot be stored.

    ``valid`` sees every array of the file but ``version`` and ``key``; it should insist on exactly the names,
    dtypes and shapes that ``compute`` returns, since what it accepts is what the caller gets.
    """
    path = Path(path)
    stored = _read(path, key, version)
    if stored is not None and valid(stored):
        return stored
    arrays = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, version=version, key=key, **arrays)
    except (OSError, OutputError) as error:
        warnings.warn(
            f"could not cache {what} in {str(path.parent)!r} ({error}); they will be computed again next time",
            stacklevel=2,
        )
    return arrays


def _read(path: Path, key: str, version: int) -> Arrays | None:
    """The file's arrays (without ``version`` and ``key``), or None when it is unreadable or not for this key."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["version"]) != version or str(stored["key"]) != key:
                return None
            return {name: stored[name] for name in stored.files if name not in ("version", "key")}
    except _UNREADABLE:
        return None
