"""trainer.compile when compiling is impossible: one warning line, then the eager step, never a crash."""

from __future__ import annotations

import pytest

import os
import subprocess
import sys
from pathlib import Path

from test_trainer import assert_same_tensors, checkpoint, train


@pytest.mark.slow
def test_a_missing_cxx_compiler_falls_back_to_the_eager_step_with_one_warning_line(tiny_recipe, tmp_path) -> None:
    missing = tmp_path / "no-such-c++"
    # A real failure of inductor's build step: CXX names a compiler that is not there. (A fresh cache
    # folder, so no kernel compiled by an earlier run can stand in for the build.)
    env = {**os.environ, "CXX": str(missing), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor-cache")}
    command = [sys.executable, "-m", "condgen", "run", str(tiny_recipe), "trainer.compile=on", "output.dir=fallback"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Warning: trainer.compile: torch.compile failed (")
    assert "C++ compiler" in lines[0] and str(missing) in lines[0] and lines[0].endswith("training eagerly.")
    assert "compiling" in done.stdout  # the failed attempt's time is reported apart from training time
    # The eager step then trains exactly what a run that never tried to compile trains: the failed call's
    # random draws are given back.
    (fallback,) = (tmp_path / "fallback").iterdir()
    eager = train(tiny_recipe, "trainer.compile=off")
    assert_same_tensors(checkpoint(eager)["model"], checkpoint(Path(fallback))["model"])
