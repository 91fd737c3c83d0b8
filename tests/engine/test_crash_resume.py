"""Crash and resume, with real processes and real signals.

A run is started as ``python -m condgen run``; while it trains, this test reads
``last.pt`` as often as it can (every read must succeed: the file is replaced
atomically, never seen half-written), then kills the process with SIGKILL or
interrupts it with SIGINT at a step it did not choose. ``condgen run --resume``
must then end with exactly the weights, optimizer state and metrics of a run
that was never stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from condgen.engine.checkpoint import load_checkpoint
from condgen.errors import CheckpointError
from helpers import TIMING_KEYS, TINY_RECIPE, write_mnist_root

pytestmark = pytest.mark.slow  # every test trains in a subprocess it kills or interrupts

EPOCHS, STEPS_PER_EPOCH, EVERY = 3, 100, 5  # 1000 examples in batches of 10
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH
OVERRIDES = (
    f"trainer.epochs={EPOCHS}",
    "trainer.batch_size=10",
    f"trainer.checkpoint_every_steps={EVERY}",
    "trainer.threads=1",  # one thread: fast on a shared CPU, and the same in every process
)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("crash")
    root = write_mnist_root(base / "data", n_train=1000, n_test=100)
    path = base / "crash.yaml"
    path.write_text(TINY_RECIPE.format(root=root, out=base / "unused"))
    return path


def condgen(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "condgen", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def start(recipe: Path, out: Path) -> subprocess.Popen:
    return condgen("run", recipe, *OVERRIDES, f"output.dir={out}")


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def only_run(out: Path) -> Path:
    runs = [p for p in out.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


@pytest.fixture(scope="module")
def reference(recipe: Path, tmp_path_factory) -> Path:
    """The run that was never stopped."""
    out = tmp_path_factory.mktemp("reference")
    code, _, err = finish(start(recipe, out))
    assert code == 0, err
    return only_run(out)


def watch_checkpoints(process: subprocess.Popen, out: Path, min_step: int, timeout: float = 90) -> list[int]:
    """Read ``last.pt`` while the run writes it, until one at ``min_step`` or later shows up.

    Every read must yield a whole checkpoint: a partial file would fail to load
    (or fail its checksum) and end the test here.
    """
    steps: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the run ended (exit {process.returncode}) before step {min_step}; seen {steps}\n{err}")
        for path in out.glob("*/checkpoints/last.pt"):
            try:
                step = load_checkpoint(path)["global_step"]
            except CheckpointError as error:
                if path.exists():
                    raise AssertionError(f"a reader saw a damaged last.pt: {error.message}") from None
                continue
            if not steps or steps[-1] != step:
                steps.append(step)
            if step >= min_step:
                return steps
        time.sleep(0.002)
    process.kill()
    pytest.fail(f"no checkpoint at step {min_step} or later within {timeout} s; seen {steps}")


def metrics(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rows]


def assert_same_tensors(a: dict, b: dict, what: str) -> None:
    assert a.keys() == b.keys(), what
    for key in a:
        if isinstance(a[key], dict):
            assert_same_tensors(a[key], b[key], f"{what}.{key}")
        elif isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), f"{what}.{key} differs"
        else:
            assert a[key] == b[key], f"{what}.{key} differs"


def assert_same_result(run: Path, reference: Path) -> None:
    mine, theirs = (load_checkpoint(r / "checkpoints" / "last.pt") for r in (run, reference))
    assert mine["global_step"] == theirs["global_step"] == TOTAL_STEPS
    assert_same_tensors(mine["model"], theirs["model"], "model")
    assert_same_tensors(mine["optimizers"], theirs["optimizers"], "optimizers")
    assert metrics(run) == metrics(reference)
    assert len(metrics(run)) == EPOCHS
    for epoch in range(1, EPOCHS + 1):
        name = f"samples/epoch-{epoch:03d}.png"
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name


def test_sigkill_mid_run_then_resume_ends_with_the_uninterrupted_weights_and_metrics(recipe, reference, tmp_path):
    out = tmp_path / "runs"
    process = start(recipe, out)
    seen = watch_checkpoints(process, out, min_step=2 * EVERY + 3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    run = only_run(out)

    # Checkpoints came every EVERY steps, not only at epoch ends.
    assert all(step % EVERY == 0 for step in seen) and any(step % STEPS_PER_EPOCH for step in seen), seen
    killed_at = load_checkpoint(run / "checkpoints" / "last.pt")["global_step"]
    assert 2 * EVERY <= killed_at < TOTAL_STEPS, "the kill must land mid-run"
    assert json.loads((run / "run.json").read_text())["status"] == "running"  # it never got to say otherwise

    code, stdout, err = finish(condgen("run", "--resume", run))
    assert code == 0, err
    assert "Traceback" not in err
    assert_same_result(run, reference)
    leftovers = [p.name for p in (run / "checkpoints").iterdir() if p.name != "last.pt"]
    assert all(name.startswith(".last.pt.") and name.endswith(".tmp") for name in leftovers), leftovers


def test_ctrl_c_saves_a_checkpoint_prints_the_resume_command_and_exits_130(recipe, reference, tmp_path):
    out = tmp_path / "runs"
    process = start(recipe, out)
    watch_checkpoints(process, out, min_step=EVERY)
    process.send_signal(signal.SIGINT)
    code, _, err = finish(process)
    assert code == 130, err
    assert "Traceback" not in err
    assert "Stopped: Interrupted at epoch" in err and "Error" not in err  # a notice: stopping was intended
    run = only_run(out)
    printed = re.search(r"condgen run --resume (\S+)", err)
    assert printed and Path(printed.group(1)) == run, err

    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert EVERY <= state["global_step"] < TOTAL_STEPS
    status = json.loads((run / "run.json").read_text())
    assert status["status"] == "interrupted"

    code, _, err = finish(condgen("run", "--resume", printed.group(1)))
    assert code == 0, err
    assert_same_result(run, reference)


@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c_and_exits_143(recipe, reference, tmp_path):
    """A scheduler's or systemd's stop: checkpoint, status interrupted, the resume command, exit 128 + 15."""
    out = tmp_path / "runs"
    process = start(recipe, out)
    watch_checkpoints(process, out, min_step=EVERY)
    process.send_signal(signal.SIGTERM)
    code, _, err = finish(process)
    assert code == 143, err
    assert "Traceback" not in err and "SIGTERM" in err
    run = only_run(out)
    assert re.search(r"condgen run --resume (\S+)", err).group(1) == str(run)
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    assert EVERY <= load_checkpoint(run / "checkpoints" / "last.pt")["global_step"] < TOTAL_STEPS

    code, _, err = finish(condgen("run", "--resume", run))
    assert code == 0, err
    assert_same_result(run, reference)


def test_kill_between_the_last_checkpoint_and_the_metrics_write_is_caught_up_on_resume(reference, tmp_path):
    """The on-disk state such a kill leaves: last.pt holds all epochs, metrics.jsonl one fewer."""
    run = tmp_path / reference.name
    shutil.copytree(reference, run)
    lines = (run / "metrics.jsonl").read_text().splitlines(keepends=True)
    (run / "metrics.jsonl").write_text("".join(lines[:-1]))

    code, _, err = finish(condgen("run", "--resume", run))
    assert code == 0, err
    assert metrics(run) == metrics(reference)
