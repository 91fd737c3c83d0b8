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
import reprlib
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .atomic import atomic_path
from .precision import RECORDED

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
    """A checkpoint checked before any of it is used: readable, plain data only, its checksum, its shape."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {str(path)!r}.")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} cannot be read: {error.strerror or error}.",
            hint="Check its permissions (and the disk); the file itself may be intact.",
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols are not the user's business
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise _unpickling_error(path, error) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError, IndexError) as error:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} is truncated or corrupted ({_first_line(error)}).",
            hint="Restore it from a copy, or start the run again.",
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a condgen checkpoint (format {FORMAT}).")
    check_plain(path, state)  # before the checksum, which walks the nesting recursively
    recorded = state.get(CHECKSUM_KEY)
    if recorded is None:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} has no checksum: condgen writes one into every checkpoint, so this file "
            "was made or altered elsewhere.",
            hint="Only use checkpoints written by condgen, from a source you trust.",
        )
    if recorded != content_digest(state):
        raise CheckpointError(
            f"Checkpoint {str(path)!r} is corrupted: its contents do not match the checksum written with it.",
            hint="Restore it from a copy, or start the run again.",
        )
    check_fields(path, state)
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


#: deeper than any checkpoint condgen writes (optimizer state: dict > dict > dict > tensor)
MAX_DEPTH = 32
_SCALARS = (str, int, float, bool, type(None), torch.Tensor)


def check_plain(path: Path, state: Any) -> None:
    """Plain containers of tensors and scalars, nested at most MAX_DEPTH deep (walked without recursion)."""
    pending = [(state, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _malformed(path, f"it nests containers more than {MAX_DEPTH} deep")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int)):
                    raise _malformed(path, f"it has a mapping key of type {type(key).__name__}")
                pending.append((item, depth + 1))
        elif isinstance(value, (list, tuple)):
            pending.extend((item, depth + 1) for item in value)
        elif not isinstance(value, _SCALARS):
            raise _malformed(path, f"it holds a value of type {type(value).__name__}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tensors(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())


def _weights(value: Any) -> bool:
    """A module's state dict: tensors, plus the plain data a module keeps as ``get_extra_state`` (a tokenizer's
    vocabulary, say), which the walk above has already checked holds no code."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and (isinstance(v, torch.Tensor) or k.endswith("_extra_state")) for k, v in value.items()
    )


def _metric_rows(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(row, dict) and _is_count(row.get("epoch")) and all(
            isinstance(k, str) and (_is_number(v) or v is None) for k, v in row.items()
        )
        for row in value
    )


def _totals(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("sums"), dict)
        and all(isinstance(k, str) and _is_number(v) for k, v in value["sums"].items())
        and _is_count(value.get("examples"))
        and _is_number(value.get("seconds"))
    )


#: every field a checkpoint must hold, and what it must be: checked before any of it is used
_FIELDS: dict[str, tuple[str, Any]] = {
    "condgen_version": ("a version string", lambda v: isinstance(v, str)),
    "recipe": ("the resolved recipe (a mapping)", lambda v: isinstance(v, dict)),
    "recipe_digest": ("a SHA-256 hex digest", lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v)),
    "epoch": ("a non-negative integer", _is_count),
    "step_in_epoch": ("a non-negative integer", _is_count),
    "global_step": ("a non-negative integer", _is_count),
    "model": ("a mapping of parameter names to tensors", _weights),
    "optimizers": ("a mapping of optimiser states", lambda v: isinstance(v, dict)),
    "heads": ("a mapping of parameter names to tensors", _weights),
    "rng": ("a mapping of RNG states (tensors)", _tensors),
    "world_size": ("a positive integer", lambda v: _is_count(v) and v >= 1),
    "history": ("a list of metric rows (mappings with an integer epoch and numbers)", _metric_rows),
    "totals": ("the epoch's running sums (sums, examples, seconds)", _totals),
}


def check_fields(path: Path, state: dict[str, Any]) -> None:
    """Every field present and of its type, so a crafted checkpoint fails here, not half-way through a command."""
    for key, (what, valid) in _FIELDS.items():
        if key not in state:
            raise _malformed(path, f"it has no {key!r}")
        if not valid(state[key]):
            raise _malformed(path, f"{key!r} should be {what}, but is {_short(state[key])}")
    if state.get("precision", "fp32") not in tuple(RECORDED):  # a tuple: an unhashable value is simply not in it
        recorded = " or ".join(map(repr, RECORDED))
        raise _malformed(path, f"'precision' should be {recorded}, but is {_short(state['precision'])}")
    ranks = state.get("rank_rng")
    if ranks is not None and not (isinstance(ranks, list) and all(_tensors(rank) for rank in ranks)):
        raise _malformed(path, "'rank_rng' should be a list of RNG states")


def _short(value: Any) -> str:
    text = reprlib.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _malformed(path: Path, problem: str) -> CheckpointError:
    return CheckpointError(
        f"Checkpoint {str(path)!r} is malformed: {problem}. condgen did not use any of it.",
        hint="Only use checkpoints written by condgen, from a source you trust.",
    )


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
