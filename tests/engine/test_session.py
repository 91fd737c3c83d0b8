"""Starting and resuming runs: what a resume says, what it leaves in run.json, and what it refuses to redo."""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path

import pytest
from rich.console import Console

from condgen.engine.progress import RichReporter, SilentReporter
from condgen.engine.session import start_run
from condgen.engine.trainer import Interrupted
from condgen.recipe import load_recipe


class CtrlCAt:
    """A reporter mixin that presses Ctrl-C (a real SIGINT) during the given global training step."""

    def __init__(self, at: int, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.at, self.steps = at, 0

    def step(self, *args) -> None:
        super().step(*args)
        self.steps += 1
        if self.steps == self.at:
            signal.raise_signal(signal.SIGINT)


class SilentCtrlC(CtrlCAt, SilentReporter):
    pass


class LiveCtrlC(CtrlCAt, RichReporter):
    pass


def interrupted_run(recipe: Path, at: int, reporter=None) -> Path:
    with pytest.raises(Interrupted):
        start_run(load_recipe(recipe), reporter or SilentCtrlC(at))
    (run,) = (recipe.parent / "runs").iterdir()
    return run


def status(run: Path) -> dict:
    return json.loads((run / "run.json").read_text())


def test_ctrl_c_clears_the_live_progress_bar_before_the_notice(tiny_recipe) -> None:
    screen = io.StringIO()
    reporter = LiveCtrlC(4, Console(file=screen, force_terminal=True, width=100))
    assert reporter.live  # a terminal: the bar is drawn
    interrupted_run(tiny_recipe, 4, reporter)
    assert reporter.progress is None  # stopped, and as a transient bar, erased from the screen
    assert screen.getvalue().endswith("\x1b[2K")  # the last thing drawn erases the bar's line


def test_ctrl_c_is_reported_as_a_notice_not_an_error(tiny_recipe, capsys) -> None:
    from condgen.cli import report

    with pytest.raises(Interrupted) as caught:
        start_run(load_recipe(tiny_recipe), SilentCtrlC(4))
    report(caught.value)
    err = capsys.readouterr().err
    assert err.startswith("Stopped: Interrupted at epoch 1, step 4; checkpoint saved.")
    assert "Error" not in err and "condgen run --resume" in err


def test_resume_says_where_it_continues_and_finishes_without_a_stale_step(tiny_recipe, cli) -> None:
    run = interrupted_run(tiny_recipe, 13)  # 10 steps per epoch: epoch 2, step 3
    assert status(run)["status"] == "interrupted" and status(run)["step_in_epoch"] == 3
    code, out, err = cli("run", "--resume", run)
    assert code == 0, err
    assert f"Resuming {run} from epoch 2, step 3." in out
    finished = status(run)
    assert finished["status"] == "finished" and finished["epoch"] == 2
    assert "step_in_epoch" not in finished  # it described the interruption, which is over


def test_resuming_a_finished_run_says_so_and_how_to_extend_it(tiny_recipe, cli) -> None:
    run, _ = start_run(load_recipe(tiny_recipe), SilentReporter())
    before = (run.path / "checkpoints" / "last.pt").read_bytes()
    code, out, err = cli("run", "--resume", run.path)
    assert code == 0, err
    finished = f"Finished: Run {str(run.path)!r} is already finished: it trained every epoch its recipe asks for (2)."
    assert finished in err
    assert f"condgen run --resume {run.path} trainer.epochs=N --force" in err
    assert "Error" not in err and "Resuming" not in out
    assert (run.path / "checkpoints" / "last.pt").read_bytes() == before


def test_extending_a_run_removes_the_evaluation_of_its_old_checkpoint(tiny_recipe, cli) -> None:
    run, _ = start_run(load_recipe(tiny_recipe), SilentReporter())
    assert cli("eval", run.path, "--k", "2", "--per-class", "2")[0] == 0
    assert run.evaluation.is_file()
    code, out, err = cli("run", "--resume", run.path, "trainer.epochs=3", "--force")
    assert code == 0, err
    assert "Removed eval.json" in out
    assert not run.evaluation.exists()
    assert status(run.path)["epoch"] == 3
