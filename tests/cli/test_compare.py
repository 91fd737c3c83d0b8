"""``condgen compare``: runs side by side and a PNG of their training curves."""

from __future__ import annotations

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
