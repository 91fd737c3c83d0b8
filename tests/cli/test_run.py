"""``condgen run``: training from a recipe, and every user mistake as exit 2 without a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from helpers import locked_folder, needs_permissions

BLOCK_RECIPE = """\
name: tiny
data:
  name: mnist
  root: {root}
  download: false
model:
  conditioner:
    name: concat
  encoder:
    name: mlp
    hidden: [16]
  decoder:
    name: mlp
    hidden: [16]
trainer:
  epochs: 1
  batch_size: 20
output:
  dir: {out}
"""


@pytest.fixture
def block_recipe(tmp_path, tiny_mnist) -> Path:
    path = tmp_path / "block.yaml"
    path.write_text(BLOCK_RECIPE.format(root=tiny_mnist, out=tmp_path / "runs"))
    return path


def assert_user_error(result, *fragments: str) -> str:
    code, out, err = result
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    assert err.startswith("Error: ")
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_run_trains_and_reports_the_run_folder(tiny_recipe, cli) -> None:
    code, out, err = cli("run", tiny_recipe, "trainer.epochs=1")
    assert code == 0, err
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    assert "Training tiny for 1 epoch\n" in out  # not "1 epochs"
    assert "Finished: test -ELBO" in out and "after epoch 1" in out
    assert f"Run folder: {run}" in out
    saved = yaml.safe_load((run / "recipe.yaml").read_text())
    assert saved["trainer"]["epochs"] == 1  # the override is what was saved


@pytest.mark.slow
def test_overrides_reach_the_model(tiny_recipe, cli) -> None:
    code, out, err = cli("run", tiny_recipe, "trainer.epochs=1", "model.encoder.hidden=[24,12]")
    assert code == 0, err
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    saved = yaml.safe_load((run / "recipe.yaml").read_text())
    assert saved["model"]["encoder"]["hidden"] == [24, 12]


def test_missing_recipe_file(tmp_path, cli) -> None:
    assert_user_error(cli("run", tmp_path / "nope.yaml"), "Recipe file", "nope.yaml", "does not exist")


def test_missing_recipe_argument(cli) -> None:
    assert_user_error(cli("run"), "Missing the recipe")
    assert_user_error(cli("run", "trainer.epochs=1"), "Missing the recipe")


def test_yaml_syntax_error_names_file_and_line(block_recipe, cli) -> None:
    block_recipe.write_text(block_recipe.read_text().replace("hidden: [16]\n  decoder", "hidden: [16\n  decoder"))
    err = assert_user_error(cli("run", block_recipe), "invalid YAML")
    assert f"{block_recipe}:12:" in err
    assert not (block_recipe.parent / "runs").exists()


def test_unknown_plugin_name_lists_the_candidates(block_recipe, cli) -> None:
    block_recipe.write_text(block_recipe.read_text().replace("name: concat", "name: film_or_something"))
    err = assert_user_error(
        cli("run", block_recipe),
        f"{block_recipe}:8: model.conditioner.name: Unknown conditioner 'film_or_something'",
    )
    assert re.search(r"Registered conditioners: [^.\n]*\bconcat\b", err)
    assert not (block_recipe.parent / "runs").exists()


def test_wrong_option_type_names_file_line_and_key(block_recipe, cli) -> None:
    block_recipe.write_text(block_recipe.read_text().replace("batch_size: 20", "batch_size: twenty"))
    assert_user_error(cli("run", block_recipe), f"{block_recipe}:17: trainer.batch_size:", "valid integer")
    assert not (block_recipe.parent / "runs").exists()


def test_unknown_key_suggests_the_closest(block_recipe, cli) -> None:
    block_recipe.write_text(block_recipe.read_text().replace("download: false", "downlaod: false"))
    assert_user_error(cli("run", block_recipe), f"{block_recipe}:5: data.downlaod: unknown key (did you mean 'download'?)")
    assert not (block_recipe.parent / "runs").exists()


def test_bad_override_names_the_override(block_recipe, cli) -> None:
    assert_user_error(cli("run", block_recipe, "trainer.epochs=-3"), "override 'trainer.epochs=-3'")
    assert_user_error(cli("run", block_recipe, "trainer epochs=3"), "Override 'trainer epochs=3'")
    assert not (block_recipe.parent / "runs").exists()


def test_missing_mnist_says_where_and_how_to_get_it(tmp_path, tiny_recipe, cli) -> None:
    empty = tmp_path / "empty"
    err = assert_user_error(
        cli("run", tiny_recipe, f"data.root={empty}"),
        f"MNIST is not in '{empty / 'MNIST' / 'raw'}'",
        "download: false",
        "train-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        "CONDGEN_DATA_DIR",
        "data.root",
    )
    assert "download" in err
    assert not (tmp_path / "runs").exists()


# Every download goes through a proxy that fails fast, online or not: one that refuses connections, and one
# whose name cannot resolve (.invalid never does, RFC 2606), as on a machine without DNS.
@pytest.mark.parametrize(
    ("proxy", "reason"),
    [
        ("http://127.0.0.1:9", "downloading failed: the connection was refused"),
        ("http://condgen-proxy.invalid:9", "downloading failed: the server's name could not be looked up (no DNS"),
    ],
)
def test_missing_mnist_with_a_failed_download_says_why_and_creates_nothing(
    tmp_path, tiny_recipe, cli, monkeypatch, proxy, reason
) -> None:
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, proxy)
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    empty = tmp_path / "empty" / "nested"
    urllib.request.install_opener(None)  # urllib reads the proxy variables when it builds its default opener
    try:
        result = cli("run", tiny_recipe, f"data.root={empty}", "data.download=true")
    finally:
        urllib.request.install_opener(None)  # so later downloads see the restored environment
    assert_user_error(result, f"MNIST is not in '{empty / 'MNIST' / 'raw'}' and {reason}", "train-images-idx3-ubyte")
    assert not (tmp_path / "empty").exists()  # no folder left behind by the failed download
    assert not (tmp_path / "runs").exists()


def test_data_root_from_the_environment(tmp_path, tiny_mnist, cli, monkeypatch) -> None:
    recipe = tmp_path / "env.yaml"
    recipe.write_text(BLOCK_RECIPE.format(root="null", out=tmp_path / "runs"))
    monkeypatch.setenv("CONDGEN_DATA_DIR", str(tiny_mnist))
    code, out, err = cli("run", recipe)
    assert code == 0, err


def test_output_folder_under_a_regular_file(tmp_path, tiny_recipe, cli) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    assert_user_error(cli("run", tiny_recipe, f"output.dir={blocker / 'runs'}"), str(blocker), "is a file")
    assert blocker.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "data", "tiny.yaml"]


@needs_permissions(covered_by=test_output_folder_under_a_regular_file)
def test_read_only_output_folder(tmp_path, tiny_recipe, cli) -> None:
    with locked_folder(tmp_path / "locked") as locked:
        assert_user_error(cli("run", tiny_recipe, f"output.dir={locked / 'runs'}"), "not writable")
    assert list(locked.iterdir()) == []


def test_resume_without_a_checkpoint(tmp_path, tiny_recipe, cli) -> None:
    folder = tmp_path / "half-run"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "recipe.yaml").write_text(tiny_recipe.read_text())
    assert_user_error(cli("run", "--resume", folder), "has no checkpoint")
    assert_user_error(cli("run", "--resume", tmp_path / "nothing-here"), "is not a run folder")
    assert_user_error(cli("run", "--resume", tmp_path / "data"), "has no recipe.yaml")
    assert sorted(p.name for p in folder.rglob("*")) == ["checkpoints", "recipe.yaml"]


@pytest.mark.slow
def test_user_errors_exit_2_from_the_real_command(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "condgen", "run", str(tmp_path / "missing.yaml")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
