"""A checkpoint with no code in it but a crafted structure is refused before any of it is used, and nothing in
the run folder is rewritten on its account; run.json and a missing checkpoint are reported as what they are."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import torch

from condgen.engine.checkpoint import CHECKSUM_KEY, load_checkpoint, save_checkpoint
from helpers import needs_permissions


def snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def craft(run: Path, **changes) -> None:
    """A checkpoint whose checksum is valid (anyone can compute it) and whose fields are what the attacker chose."""
    path = run / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    state.update(changes)
    save_checkpoint(path, {k: v for k, v in state.items() if k not in ("format", CHECKSUM_KEY)})


def deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def write_deep_history(run: Path) -> None:
    path = run / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    state["history"] = deep_list(20_000)
    state[CHECKSUM_KEY] = "0" * 64  # never reached: the structure is checked first
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # what the attacker needs to pickle it
    try:
        torch.save(state, path)
    finally:
        sys.setrecursionlimit(limit)


COMMANDS = {
    "resume": lambda run: ("run", "--resume", run),
    "sample": lambda run: ("sample", run),
    "eval": lambda run: ("eval", run, "--k", "2", "--per-class", "2", "--particles", "1"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "forge, problem",
    [
        (lambda run: write_deep_history(run), "nests containers more than"),
        (lambda run: craft(run, history=[1]), "'history' should be"),
        (lambda run: craft(run, epoch="abc"), "'epoch' should be a non-negative integer"),
        (lambda run: craft(run, global_step=-3), "'global_step' should be"),
        (lambda run: craft(run, totals={"sums": {}, "examples": "many", "seconds": 0.0}), "'totals' should be"),
        (lambda run: craft(run, model=[1, 2]), "'model' should be"),
        (lambda run: craft(run, precision="fp16"), "'precision' should be 'fp32' or 'bf16'"),
        (lambda run: craft(run, precision=["bf16"]), "'precision' should be 'fp32' or 'bf16'"),
    ],
    ids=["deep-nesting", "history-of-ints", "epoch-string", "negative-step", "bad-totals", "model-list", "precision",
         "precision-list"],
)
def test_a_crafted_checkpoint_is_refused_before_any_of_it_is_used(run_copy, cli, command, forge, problem) -> None:
    forge(run_copy)
    before = snapshot(run_copy)
    started = time.monotonic()
    code, _, err = cli(*COMMANDS[command](run_copy))
    assert code == 2, err
    assert "malformed" in err and problem in " ".join(err.split()) and "Traceback" not in err
    assert snapshot(run_copy) == before  # metrics.jsonl, run.json, eval.json: nothing rewritten
    assert time.monotonic() - started < 30  # refused up front, not after a whole evaluation


@pytest.mark.parametrize("content", ["[]", "null", "7", "{not json"])
def test_a_damaged_run_json_is_a_clear_error_on_resume(run_copy, cli, content) -> None:
    (run_copy / "run.json").write_text(content)
    code, _, err = cli("run", "--resume", run_copy)
    assert code == 2 and "run.json" in err and "Traceback" not in err
    assert (run_copy / "run.json").read_text() == content  # left as found


def test_a_missing_checkpoint_of_a_run_that_trained_says_so(run_copy, cli) -> None:
    (run_copy / "checkpoints" / "last.pt").unlink()
    for command in (("run", "--resume", run_copy), ("sample", run_copy), ("eval", run_copy)):
        code, _, err = cli(*command)
        text = " ".join(err.split())
        assert code == 2 and "reached epoch 2" in text and "no checkpoint now" in text
        assert "before its first one was saved" not in text


def test_a_checkpoint_that_is_not_a_file_is_reported_as_such(run_copy, cli) -> None:
    path = run_copy / "checkpoints" / "last.pt"
    path.unlink()
    path.mkdir()
    code, _, err = cli("sample", run_copy)
    assert code == 2 and "last.pt is not a file" in err


PROC_MEM = Path("/proc/self/mem")


@pytest.mark.skipif(not PROC_MEM.is_file(), reason="needs Linux's /proc")
def test_a_checkpoint_whose_read_fails_is_reported_as_unreadable_not_corrupted(run_copy, cli) -> None:
    # Works as root too: a process's own memory file fails to read at offset 0 (nothing is mapped there) with
    # EIO, the error a failing disk gives.
    path = run_copy / "checkpoints" / "last.pt"
    path.unlink()
    path.symlink_to(PROC_MEM)
    code, _, err = cli("sample", run_copy)
    text = " ".join(err.split())
    assert code == 2 and "Traceback" not in err
    assert f"Checkpoint {str(path)!r} cannot be read: Input/output error" in text
    assert "permissions (and the disk)" in text and "corrupted" not in text


@needs_permissions(covered_by=test_a_checkpoint_whose_read_fails_is_reported_as_unreadable_not_corrupted)
def test_an_unreadable_checkpoint_is_not_called_corrupted(run_copy) -> None:
    path = run_copy / "checkpoints" / "last.pt"
    path.chmod(0)
    try:
        with pytest.raises(Exception, match="cannot be read"):
            load_checkpoint(path)
    finally:
        path.chmod(0o644)


def test_eval_json_is_written_only_after_everything_is_known_good(run_copy, cli) -> None:
    craft(run_copy, epoch="abc")
    code, _, _ = cli("eval", run_copy, "--k", "2", "--per-class", "2", "--particles", "1")
    assert code == 2
    assert not (run_copy / "eval.json").exists()
    assert json.loads((run_copy / "run.json").read_text())["status"] == "finished"
