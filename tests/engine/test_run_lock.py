"""One process per run folder: a second trainer is refused naming the holder, and a SIGKILLed trainer's lock
is gone with it, so its run resumes at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from condgen.engine.run_dir import RunDir
from condgen.engine.run_lock import LOCK_FILE, run_lock
from helpers import TINY_RECIPE, write_mnist_root


def test_a_second_trainer_is_refused_naming_the_process_that_holds_the_lock(run_copy, cli) -> None:
    checkpoint = run_copy / "checkpoints" / "last.pt"
    before = checkpoint.read_bytes()
    with run_lock(RunDir(run_copy)):  # another open file description: flock conflicts as with another process
        for extra in ((), ("--force", "trainer.epochs=3")):
            code, _, err = cli("run", "--resume", run_copy, *extra)
            assert code == 2, err
            assert f"PID {os.getpid()}" in err and "Traceback" not in err
    assert checkpoint.read_bytes() == before  # the refused trainers wrote nothing
    code, _, err = cli("run", "--resume", run_copy, "--force", "trainer.epochs=3")
    assert code == 0, err  # released with its holder


def test_a_fresh_run_holds_its_lock_from_the_start(tiny_recipe, cli) -> None:
    code, _, err = cli("run", tiny_recipe, "trainer.epochs=1")
    assert code == 0, err
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    assert (run / LOCK_FILE).read_text().strip().isdigit()


@pytest.mark.slow
def test_a_sigkilled_trainer_releases_its_lock_at_once(tmp_path, cli) -> None:
    root = write_mnist_root(tmp_path / "data", n_train=1000, n_test=100)
    recipe = tmp_path / "long.yaml"
    recipe.write_text(TINY_RECIPE.format(root=root, out=tmp_path / "runs"))
    overrides = ["trainer.epochs=50", "trainer.batch_size=10", "trainer.checkpoint_every_steps=5", "trainer.threads=1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "condgen", "run", str(recipe), *overrides],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        while not list((tmp_path / "runs").glob("*/checkpoints/last.pt")):
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.05)
        (run,) = (tmp_path / "runs").iterdir()
        code, _, err = cli("run", "--resume", run, *overrides)
        assert code == 2 and f"PID {process.pid}" in err, err
        assert process.poll() is None  # the refusal did not disturb the trainer
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    code, _, err = cli("run", "--resume", run, *overrides[:1], "--force", "trainer.epochs=1")
    assert code == 0, err
