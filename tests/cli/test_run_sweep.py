"""``condgen run RECIPE KEY=A,B --sweep``: every combination in turn, a summary, compare, and reruns that continue."""

from __future__ import annotations

import pytest

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from helpers import TINY_RECIPE, write_mnist_root


def runs_in(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []


@pytest.mark.slow
def test_a_sweep_trains_the_cross_product_then_prints_a_summary_and_compares_them(tiny_recipe, cli) -> None:
    out = tiny_recipe.parent / "runs"
    code, stdout, err = cli("run", tiny_recipe, "seed=0,1", "model.encoder.latent_dim=2,3", "trainer.epochs=1", "--sweep")
    assert code == 0, err
    runs = runs_in(out)
    assert len(runs) == 4
    trained = sorted((r["seed"], r["model"]["encoder"]["latent_dim"]) for r in
                     (yaml.safe_load((run / "recipe.yaml").read_text()) for run in runs))
    assert trained == [(0, 2), (0, 3), (1, 2), (1, 3)]
    assert all(json.loads((run / "run.json").read_text())["status"] == "finished" for run in runs)
    assert "[4/4] seed=1 model.encoder.latent_dim=3: training" in stdout
    assert stdout.count("trained") >= 4  # the summary's outcome column
    assert "condgen runs" in stdout  # condgen compare's table
    assert (out / "tiny-sweep-compare.png").is_file()


@pytest.mark.slow
def test_rerunning_a_finished_sweep_skips_every_run(tiny_recipe, cli) -> None:
    out = tiny_recipe.parent / "runs"
    args = ("run", tiny_recipe, "seed=0,1", "trainer.epochs=1", "--sweep")
    assert cli(*args)[0] == 0
    before = runs_in(out)
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert runs_in(out) == before
    assert stdout.count("finished before, skipped") == 2


def test_a_sweep_cannot_be_combined_with_resume(tiny_recipe, cli) -> None:
    code, _, err = cli("run", "--resume", tiny_recipe.parent, "seed=0,1", "--sweep")
    assert code == 2 and "drop --resume" in err


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_and_a_rerun_resumes_that_run_and_trains_the_rest(tmp_path) -> None:
    root = write_mnist_root(tmp_path / "data", n_train=1000, n_test=100)
    recipe = tmp_path / "sweep.yaml"
    out = tmp_path / "runs"
    recipe.write_text(TINY_RECIPE.format(root=root, out=out))
    args = [sys.executable, "-m", "condgen", "run", str(recipe), "seed=0,1", "trainer.epochs=2",
            "trainer.batch_size=10", "trainer.checkpoint_every_steps=5", "trainer.threads=1", "--sweep"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/checkpoints/last.pt")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stdout, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "Run the same command again" in stdout
    (first,) = runs_in(out)
    assert json.loads((first / "run.json").read_text())["status"] == "interrupted"

    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"\[1/2\] seed=0: resuming", done.stdout), done.stdout
    assert "[2/2] seed=1: training" in done.stdout
    runs = runs_in(out)
    assert len(runs) == 2 and first in runs
    assert all(json.loads((run / "run.json").read_text())["status"] == "finished" for run in runs)
