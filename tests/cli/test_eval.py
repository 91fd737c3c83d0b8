"""``condgen eval``: eval.json with every metric, reproducible, and clean refusals of bad input."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

import condgen_mnist.metric_net as metric_net

FAST = ("--k", "50", "--per-class", "10")


@pytest.fixture
def run(tiny_recipe, cli) -> Path:
    code, out, err = cli("run", tiny_recipe, "trainer.epochs=3")
    assert code == 0, err
    (path,) = (tiny_recipe.parent / "runs").iterdir()
    return path


def test_eval_writes_every_metric_and_the_settings_that_produced_them(run, cli):
    code, out, err = cli("eval", run, *FAST)
    assert code == 0, err
    result = json.loads((run / "eval.json").read_text())
    assert result["nll"] <= result["test_elbo"]  # importance weighting tightens the bound
    assert result["nll_k"] == 50
    # Bits per dimension: the same figures over 28 x 28 entries in base 2.
    assert result["nll_bits_per_dim"] == pytest.approx(result["nll"] / (784 * math.log(2)))
    assert result["test_elbo_bits_per_dim"] == pytest.approx(result["test_elbo_particles"] / (784 * math.log(2)))
    assert 0.0 <= result["cond_accuracy"] <= 1.0
    assert result["fid"] > 0 and result["fid_images"] == 100  # 10 per class, as many test images
    assert {k: result["settings"][k] for k in ("k", "per_class", "seed", "checkpoint_epoch")} == {
        "k": 50, "per_class": 10, "seed": 0, "checkpoint_epoch": 3,
    }
    assert "NLL, K=50" in out and "bits per dimension" in out and "conditional accuracy" in out


def test_accuracy_and_fid_are_the_numbers_of_separate_passes_and_a_second_eval_reads_the_cached_test_side(
    run, cli, tiny_recipe
):
    # eval runs the metric network once on the generated images (features, then logits from them) and caches
    # the test images' statistics beside the data; the figures are those of the plain computation.
    import torch

    from condgen.engine.loaded_run import load_run
    from condgen.evaluation import apply_in_batches, frechet_distance, generate_for_labels

    assert cli("eval", run, *FAST)[0] == 0
    first = json.loads((run / "eval.json").read_text())
    (cached,) = (tiny_recipe.parent / "data" / "fid").iterdir()  # the data root the tiny recipe names

    loaded = load_run(run)
    network, test = loaded.dataset.metric_network(), loaded.dataset.load("test")
    torch.manual_seed(0)
    generated, labels = generate_for_labels(loaded.model, loaded.dataset, 10)
    accuracy = (apply_in_batches(network, generated).argmax(1) == labels).float().mean().item()
    pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[: len(generated)]
    fid = frechet_distance(apply_in_batches(network.features, generated), apply_in_batches(network.features, test.batch(pick)[0]))
    assert first["cond_accuracy"] == accuracy
    assert first["fid"] == pytest.approx(fid, rel=1e-9)

    modified = cached.stat().st_mtime_ns
    assert cli("eval", run, *FAST)[0] == 0
    second = json.loads((run / "eval.json").read_text())
    assert cached.stat().st_mtime_ns == modified  # read, not rewritten
    assert second["fid"] == first["fid"] and second["cond_accuracy"] == first["cond_accuracy"]


@pytest.mark.slow
def test_an_unconditional_model_gets_no_conditional_accuracy_but_still_a_fid(tiny_recipe, cli):
    code, out, err = cli("run", tiny_recipe, "trainer.epochs=1", "model.conditioner.name=none")
    assert code == 0, err
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    code, out, err = cli("eval", run, *FAST)
    assert code == 0, err
    result = json.loads((run / "eval.json").read_text())
    assert result["cond_accuracy"] is None and "do not depend on the condition" in result["note"]
    assert result["fid"] > 0  # FID is still meaningful without a condition
    assert "do not depend on the condition" in out


@pytest.mark.slow
def test_eval_with_the_same_seed_repeats_exactly(run, cli):
    assert cli("eval", run, *FAST)[0] == 0
    first = json.loads((run / "eval.json").read_text())
    assert cli("eval", run, *FAST)[0] == 0
    second = json.loads((run / "eval.json").read_text())
    first.pop("seconds"), second.pop("seconds")
    assert first == second
    assert cli("eval", run, *FAST, "--seed", "1")[0] == 0
    assert json.loads((run / "eval.json").read_text())["nll"] != first["nll"]


def assert_refused(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_a_folder_that_is_not_a_run_is_refused(cli, tmp_path):
    code, out, err = cli("eval", tmp_path, *FAST)
    assert_refused(code, err, "not a run folder")
    assert not (tmp_path / "eval.json").exists()


@pytest.mark.slow
def test_a_run_without_a_checkpoint_is_refused(run, cli):
    (run / "checkpoints" / "last.pt").unlink()
    code, out, err = cli("eval", run, *FAST)
    assert_refused(code, err, "no checkpoint")
    assert not (run / "eval.json").exists()


@pytest.mark.slow
def test_a_checkpoint_from_another_recipe_is_refused(run, cli):
    recipe = run / "recipe.yaml"
    recipe.write_text(recipe.read_text().replace("- 32", "- 48"))  # the hidden width the weights were not trained with
    code, out, err = cli("eval", run, *FAST)
    assert_refused(code, err, "recipe")
    assert not (run / "eval.json").exists()


@pytest.mark.slow
def test_a_corrupted_metric_network_is_refused(run, cli, tmp_path, monkeypatch):
    damaged = tmp_path / "metric_net.pt"
    shutil.copyfile(metric_net.WEIGHTS, damaged)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(metric_net, "WEIGHTS", damaged)
    code, out, err = cli("eval", run, *FAST)
    assert_refused(code, err, "corrupted", "metric network")
    assert not (run / "eval.json").exists()


def test_control_tables_show_every_name_whole_in_80_columns() -> None:
    """A pipe or a CI log is 80 columns wide: no metric or attribute name may be cut to an ellipsis."""
    from rich.console import Console

    from condgen.cli.eval_cmd import control_tables

    metrics = {"spearman": 0.97, "mae": 0.3, "mae_over_sd": 0.39, "requested_low": 1.2, "requested_high": 4.5,
               "measured_mean": 2.3, "generated": 1000, "missing_measurements": 0}
    result = {"attribute_control": {"thickness": metrics, "slant": dict(metrics, missing_measurements=2)}}
    console = Console(width=80, record=True)
    for table in control_tables(result):
        console.print(table)
    text = console.export_text()
    assert "…" not in text
    for name in [*metrics, "thickness", "slant"]:
        assert name in text
