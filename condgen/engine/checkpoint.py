"""Checkpoints: everything needed to continue a run exactly, loaded without pickle code.

``torch.load(weights_only=True)`` only rebuilds tensors and plain containers,
so a checkpoint from a stranger cannot run code when condgen opens it.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .atomic import atomic_path

FORMAT = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    state = {"format": FORMAT, **state}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {str(path)!r}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"Refusing to load {str(path)!r}: it holds objects other than tensors and plain data, "
            f"which could run code when unpickled ({_first_line(error)}).",
            hint="Only load checkpoints written by condgen.",
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} is truncated or corrupted ({_first_line(error)})."
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a condgen checkpoint (format {FORMAT}).")
    return state


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
