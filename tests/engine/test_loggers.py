"""A run's loggers: metrics.jsonl always, the recipe's loggers beside it, and a failing one never stops the run."""

from __future__ import annotations

import json

import pytest
import torch

from condgen.engine.loggers import Loggers
from condgen.errors import RecipeError
from condgen.protocols import RunInfo
from condgen.recipe import load_recipe

FLAKY = '''
import condgen


class Config(condgen.ComponentConfig):
    fail_in: str = "log_metrics"


class Flaky:
    """Raises in one method; counts the calls that reached it."""

    calls = []

    def __init__(self, config, context):
        self.config = config

    def _maybe_fail(self, method):
        Flaky.calls.append(method)
        if method == self.config.fail_in:
            raise OSError("the disk of the tracking server is full")

    def start(self, run):
        self._maybe_fail("start")

    def log_metrics(self, metrics, step):
        self._maybe_fail("log_metrics")

    def log_images(self, tag, images, step):
        self._maybe_fail("log_images")

    def finish(self, status):
        self._maybe_fail("finish")


@condgen.hookimpl
def register_components(register):
    register("logger", "flaky", Flaky, Config)
'''


@pytest.fixture
def with_loggers(tiny_recipe):
    (tiny_recipe.parent / "flaky_logger.py").write_text(FLAKY)

    def recipe(loggers: str):
        text = tiny_recipe.read_text() + f"plugins: [flaky_logger.py]\nloggers: {loggers}\n"
        tiny_recipe.write_text(text)
        return load_recipe(tiny_recipe)

    return recipe


def drive(loggers: Loggers, folder) -> None:
    loggers.start(RunInfo(folder, "tiny", {}))
    for epoch in (1, 2):
        loggers.log_metrics({"epoch": epoch, "test_elbo": 100.0 - epoch}, 10 * epoch)
        loggers.log_images("samples", torch.zeros(2, 1, 28, 28), 10 * epoch)
    loggers.finish("finished")


def test_a_failing_logger_warns_once_is_dropped_and_the_others_go_on(with_loggers, tmp_path) -> None:
    resolved = with_loggers("[{name: flaky}, {name: tensorboard}]")
    messages: list[str] = []
    loggers = Loggers.for_recipe(resolved, messages.append)
    flaky = type(loggers.guests["flaky (loggers[0])"])
    flaky.calls.clear()
    drive(loggers, tmp_path)
    assert len(messages) == 1, messages
    assert "flaky (loggers[0]) logger failed in log_metrics" in messages[0]
    assert "the disk of the tracking server is full" in messages[0]
    assert flaky.calls == ["start", "log_metrics"]  # nothing after its failure
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_a_run_whose_logger_fails_prints_one_warning_line_and_finishes_every_epoch(with_loggers, tiny_recipe,
                                                                                  cli) -> None:
    with_loggers("[{name: flaky}]")
    code, out, err = cli("run", tiny_recipe)
    assert code == 0, err
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    said = [line for line in err.splitlines() if "logger failed" in line]
    # one line in the run's own voice: no Python warning with condgen's file and source line
    assert said == ["Warning: The flaky (loggers[0]) logger failed in log_metrics and is switched off for the rest "
                    "of this run: OSError: the disk of the tracking server is full"], err
    assert "LoggerWarning" not in err and "Traceback" not in err


def test_metrics_jsonl_is_written_without_any_logger_listed_and_naming_it_adds_no_second_one(
    with_loggers, tmp_path
) -> None:
    loggers = Loggers.for_recipe(with_loggers("[{name: jsonl}]"), print)
    assert loggers.guests == {}
    drive(loggers, tmp_path)
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2


def test_an_unknown_logger_is_a_recipe_error_with_the_line_and_closest_name(with_loggers, tiny_recipe) -> None:
    with pytest.raises(RecipeError) as caught:
        with_loggers("[{name: tensorbord}]")
    message = caught.value.message
    assert "loggers.0.name" in message and "Did you mean 'tensorboard'?" in message
    assert f"{tiny_recipe}:{len(tiny_recipe.read_text().splitlines())}" in message  # the last line: loggers
