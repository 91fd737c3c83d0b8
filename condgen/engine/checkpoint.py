"""Checkpoints: everything needed to continue a run exactly, loaded without pickle code.

``torch.load(weights_only=True)`` only rebuilds tensors and plain containers,
so a checkpoint from a stranger cannot run code when condgen opens it. Every
checkpoint also carries a SHA-256 of its contents, so a file damaged on disk
is reported as corrupted instead of resuming from garbage weights.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .atomic import atomic_path

FORMAT = 1
CHECKSUM_KEY = "checksum"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    state = {"format": FORMAT, **state}
    state[CHECKSUM_KEY] = content_digest(state)
    # Serialised in memory and written by Python, so a full disk surfaces as an
    # OSError with its errno (torch's own file writer reports only "write failed").
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {str(path)!r}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols are not the user's business
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise _unpickling_error(path, error) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError, IndexError) as error:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} is truncated or corrupted ({_first_line(error)}).",
            hint="Restore it from a copy, or start the run again.",
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a condgen checkpoint (format {FORMAT}).")
    recorded = state.get(CHECKSUM_KEY)
    if recorded is not None and recorded != content_digest(state):
        raise CheckpointError(
            f"Checkpoint {str(path)!r} is corrupted: its contents do not match the checksum written with it.",
            hint="Restore it from a copy, or start the run again.",
        )
    return state


def content_digest(state: dict[str, Any]) -> str:
    """SHA-256 over every value in ``state`` (tensors by dtype, shape and bytes), except the checksum itself."""
    digest = hashlib.sha256()
    _feed(digest, {key: value for key, value in state.items() if key != CHECKSUM_KEY})
    return digest.hexdigest()


def _feed(digest, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"tensor {tensor.dtype} {tuple(tensor.shape)}|".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(f"dict {len(value)}|".encode())
        for key in sorted(value, key=repr):
            digest.update(f"{key!r}:".encode())
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__} {len(value)}|".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"{value!r}|".encode())


_GLOBAL = re.compile(r"GLOBAL (\S+)")


def _unpickling_error(path: Path, error: pickle.UnpicklingError) -> CheckpointError:
    """torch's message is mostly boilerplate: keep what says which object was refused."""
    text = str(error)
    found = _GLOBAL.search(text)
    if found:
        return CheckpointError(
            f"Refusing to load {str(path)!r}: it holds a pickled Python object ({found.group(1)}) that could "
            "run code when unpickled. condgen loads only tensors and plain data from checkpoints.",
            hint="Only use checkpoints written by condgen, from a source you trust.",
        )
    detail = next(
        (line.strip() for line in text.splitlines()[1:] if line.strip() and "WeightsUnpickler" not in line
         and not line.startswith("Check the documentation")),
        _first_line(error),
    )
    return CheckpointError(
        f"Refusing to load {str(path)!r}: it is corrupted or not a condgen checkpoint, and holds data other than "
        f"tensors and plain containers ({detail}).",
        hint="Only use checkpoints written by condgen, from a source you trust.",
    )


def _first_line(error: BaseException) -> str:
    """The gist of an error: its first line, cut after the first sentence when long (torch adds advice)."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    line = text.splitlines()[0]
    sentence, dot, _ = line.partition(". ")
    return sentence if dot and len(line) > 120 else line
