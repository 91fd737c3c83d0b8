"""``condgen eval`` on a labelled dataset that ships no metric network: a classifier trained once, cached, hash-checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from condgen.engine.metric_classifier import SmallClassifier


@pytest.fixture
def folder_run(tmp_path, tiny_image_folder, cli, monkeypatch) -> Path:
    monkeypatch.setenv("CONDGEN_DATA_DIR", str(tmp_path / "data"))
    recipe = tmp_path / "folder.yaml"
    recipe.write_text(
        f"name: folder\nseed: 0\ndata: {{name: image_folder, root: {tiny_image_folder}, size: [28, 28], mode: L}}\n"
        "model:\n  conditioner: {name: concat}\n  encoder: {name: mlp, hidden: [16], latent_dim: 2}\n"
        "  decoder: {name: mlp, hidden: [16]}\n  prior: {name: standard_normal}\n"
        f"trainer: {{epochs: 1, batch_size: 20}}\noutput: {{dir: {tmp_path / 'runs'}}}\n"
    )
    code, out, err = cli("run", recipe)
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    return run


FAST = ("--k", "5", "--per-class", "10", "--particles", "2")


def test_eval_trains_a_metric_classifier_once_and_says_which_network_judged(folder_run, cli, tmp_path) -> None:
    code, out, err = cli("eval", folder_run, *FAST)
    assert code == 0, err
    result = json.loads((folder_run / "eval.json").read_text())
    assert 0.0 <= result["cond_accuracy"] <= 1.0 and result["fid"] is not None
    card = result["metric_network"]
    assert card["source"].startswith("trained on the dataset's training split")
    assert card["network"] == "condgen.engine.metric_classifier.SmallClassifier"
    (weights,) = (tmp_path / "data" / "metric_networks").glob("*.pt")
    assert card["file"] == str(weights) and 0.0 <= card["test_accuracy"] <= 1.0
    stamp = weights.stat().st_mtime_ns
    code, out, err = cli("eval", folder_run, *FAST)
    assert code == 0, err
    assert weights.stat().st_mtime_ns == stamp  # read from the cache, not trained again
    assert json.loads((folder_run / "eval.json").read_text())["cond_accuracy"] == result["cond_accuracy"]


def test_a_cached_classifier_that_fails_its_hash_is_trained_again_not_used(folder_run, cli, tmp_path) -> None:
    assert cli("eval", folder_run, *FAST)[0] == 0
    (weights,) = (tmp_path / "data" / "metric_networks").glob("*.pt")
    original = weights.read_bytes()
    weights.write_bytes(original[:-10] + b"0123456789")
    assert cli("eval", folder_run, *FAST)[0] == 0
    assert weights.read_bytes() == original  # same seed, same network, rewritten


def test_without_train_metric_there_is_no_accuracy_and_a_note(folder_run, cli) -> None:
    code, out, err = cli("eval", folder_run, *FAST, "--no-train-metric")
    assert code == 0, err
    result = json.loads((folder_run / "eval.json").read_text())
    assert result["cond_accuracy"] is None and result["metric_network"] is None and "no cond_accuracy" in result["note"]


def test_the_classifier_takes_colour_and_other_sizes() -> None:
    import torch

    for shape in ((3, 32, 32), (3, 64, 64), (1, 28, 28)):
        net = SmallClassifier(shape[0], 7)
        assert net(torch.rand(2, *shape)).shape == (2, 7) and net.features(torch.rand(2, *shape)).shape == (2, 64)
