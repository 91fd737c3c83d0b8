"""``condgen compare``: runs side by side and a PNG of their training curves."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest


@pytest.fixture
def two_runs(tiny_recipe, cli) -> list[Path]:
    for epochs in (2, 3):
        code, out, err = cli("run", tiny_recipe, f"trainer.epochs={epochs}")
        assert code == 0, err
    return sorted((tiny_recipe.parent / "runs").iterdir())


@pytest.mark.slow  # trains and evaluates two runs
def test_compare_tabulates_evaluated_runs_and_plots_their_curves(two_runs, cli, tmp_path):
    first, second = two_runs
    assert cli("eval", first, "--k", "10", "--per-class", "5")[0] == 0
    plot = tmp_path / "curves.png"
    code, out, err = cli("compare", first, second, "-o", plot)
    assert code == 0, err
    assert first.name in out and second.name in out
    assert "NLL" in out and "FID" in out
    assert "Not evaluated yet" in out and str(second) in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_of_a_folder_without_metrics_is_refused(cli, tmp_path):
    code, out, err = cli("compare", tmp_path, "-o", tmp_path / "x.png")
    assert code == 2 and "metrics.jsonl" in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow  # trains and evaluates two runs
def test_compare_names_the_recipe_keys_whose_values_differ(two_runs, cli, tmp_path):
    code, out, err = cli("compare", *two_runs, "-o", tmp_path / "curves.png")
    assert code == 0, err
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in out.splitlines() if line.startswith("│")}
    assert rows["trainer.epochs"] == ["2", "3"]
    assert "seed" not in rows and "model.encoder.name" not in rows  # the same in both runs


def test_runs_whose_folders_share_a_name_are_told_apart_by_their_parents(tmp_path):
    from condgen.cli.compare import run_labels

    first, second, other = tmp_path / "seed1" / "run-1200", tmp_path / "seed2" / "run-1200", tmp_path / "x" / "run-1300"
    assert run_labels((first, second)) == {first: "seed1/run-1200", second: "seed2/run-1200"}
    assert run_labels((first, other)) == {first: "run-1200", other: "run-1300"}


def table_rows(out: str) -> dict[str, list[str]]:
    return {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in out.splitlines() if line.startswith("│")}


@pytest.mark.slow
def test_a_run_without_eval_json_shows_the_test_elbo_of_its_last_epoch(two_runs, cli, tmp_path):
    code, out, err = cli("compare", *two_runs, "-o", tmp_path / "curves.png")
    assert code == 0, err
    last = [json.loads(run.joinpath("metrics.jsonl").read_text().splitlines()[-1])["test_elbo"] for run in two_runs]
    assert table_rows(out)["test -ELBO"] == [f"{value:.2f}*" for value in last]
    assert "* test -ELBO after the last epoch, from metrics.jsonl" in out
    assert table_rows(out)["NLL"] == ["-", "-"]  # only condgen eval computes it


def test_the_legend_names_what_differs(tmp_path):
    from condgen.cli.compare import legend_labels

    runs = tuple(tmp_path / f"run-{i}" for i in range(4))
    paths = {run: run.name for run in runs}
    # Two runs: the one key that differs, with both values.
    assert legend_labels(runs[:2], [("seed", ["0", "1"])], paths) == {runs[0]: "seed=0", runs[1]: "seed=1"}
    two = [("seed", ["0", "1"]), ("trainer.epochs", ["2", "3"])]
    assert legend_labels(runs[:2], two, paths) == {
        runs[0]: "seed=0, trainer.epochs=2",
        runs[1]: "seed=1, trainer.epochs=3",
    }
    # Recipe names that tell the runs apart say it best.
    named = [("name", ["cvae_gan", "cvae_conv"]), ("model.heads.classifier.name", ["classifier", "-"])]
    assert legend_labels(runs[:2], named, paths) == {runs[0]: "cvae_gan", runs[1]: "cvae_conv"}
    # One factor at a time: what each run changed from the common settings; a differing name alone.
    differences = [
        ("name", ["cvae", "cvae", "cvae", "wide"]),
        ("seed", ["0", "1", "0", "0"]),
        ("trainer.epochs", ["2", "2", "3", "2"]),
        ("model.encoder.hidden", ["[32]", "[32]", "[32]", "[64]"]),
    ]
    assert legend_labels(runs, differences, paths) == {
        runs[0]: "common settings",
        runs[1]: "seed=1",
        runs[2]: "trainer.epochs=3",
        runs[3]: "wide, model.encoder.hidden=[64]",
    }
    # The same recipe twice: only the folders tell them apart.
    assert legend_labels(runs[:2], [], paths) == {runs[0]: "run-0", runs[1]: "run-1"}


def test_the_curves_have_whole_epoch_ticks_and_a_legend_outside_the_panels(tmp_path):
    from condgen.cli.compare import curve_figure

    histories = {
        tmp_path / "a": [{"epoch": e, "train_loss": 10.0 - e, "test_elbo": 11.0 - e} for e in (1, 2)],
        tmp_path / "b": [{"epoch": e, "train_loss": 9.0 - e, "test_elbo": 10.5 - e} for e in (1, 2, 3)],
    }
    figure = curve_figure(histories, {run: run.name for run in histories})
    figure.canvas.draw()
    for axis in figure.axes:
        if axis.get_visible():
            ticks = [tick.get_text() for tick in axis.get_xticklabels() if tick.get_text()]
            assert ticks and all(text.isdigit() for text in ticks), ticks  # 1, 2, 3; never 1.25
            assert axis.get_legend() is None
    assert [text.get_text() for text in figure.legends[0].get_texts()] == ["a", "b"]


@pytest.mark.parametrize("count", [2, 6])
def test_the_table_fits_80_columns_without_breaking_a_word(tmp_path, count):
    from rich.console import Console

    from condgen.cli.compare import run_tables

    runs = tuple(tmp_path / f"mnist_cvae_conv-20261125-1015{i:02d}" for i in range(count))
    labels = {run: run.name for run in runs}
    rows = [
        ("model.encoder.hidden", [f"[{64 * (i + 1)}, 512]" for i in range(count)], "cyan"),
        ("trainer.optimizer.lr", ["0.001"] * count, "cyan"),
        None,
        ("cond. accuracy", ["0.9974"] * count, None),
        ("train images/s", ["10,850"] * count, None),
    ]
    screen = Console(width=80, file=io.StringIO(), highlight=False)
    for table in run_tables(runs, labels, rows, 80):
        screen.print(table)
    text = screen.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    words = [key for row in rows if row for key in [row[0], *row[1]]] + list(labels.values())
    for word in words:
        assert word in text, word  # whole, on one line
    if count == 6:  # six long folder names become numbers, listed under the table
        assert "#1 ┃" in text and "#6 mnist_cvae_conv-20261125-101505" in text
