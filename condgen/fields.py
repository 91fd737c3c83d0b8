"""Bounded field types for recipe sections and component configs.

"Anything that validates must train": a width of 1e9, a negative size, a seed
torch cannot take or a path the filesystem cannot hold is refused when the
recipe is read, with its file and line, instead of crashing the run later.
Plugins use these types for their own options (``hidden: list[condgen.Width]``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

#: the widest layer, channel count or latent size a config accepts (memory is checked when the model is built)
MAX_WIDTH = 65_536
#: seeds torch.manual_seed takes, on every platform
MAX_SEED = 2**63 - 1
#: a file name's length in bytes (NAME_MAX) and a whole path's (PATH_MAX) on Linux and macOS
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4095

Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


def path_problem(path: Path | str) -> str | None:
    """Why the filesystem could never hold ``path`` (a NUL byte, an over-long name), or ``None``."""
    text = os.fspath(path)
    if "\x00" in text:
        return "it contains a NUL byte"
    encoded = os.fsencode(text)
    if len(encoded) > MAX_PATH_BYTES:
        return f"it is {len(encoded)} bytes long; paths can be at most {MAX_PATH_BYTES}"
    for part in Path(text).parts:
        size = len(os.fsencode(part))
        if size > MAX_NAME_BYTES:
            shown = part if len(part) <= 40 else part[:37] + "..."
            return f"its component {shown!r} is {size} bytes long; a file name can be at most {MAX_NAME_BYTES}"
    return None


def _usable(path: Path) -> Path:
    problem = path_problem(path)
    if problem is not None:
        raise ValueError(f"not a usable path: {problem}")
    return path


UsablePath = Annotated[Path, AfterValidator(_usable)]
