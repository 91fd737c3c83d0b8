"""Checkpoints are opened safely: no pickled code runs, damage is named, and a run
resumes only with the recipe it was trained with (unless ``--force``)."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import pickle
import random
import shutil
from pathlib import Path

import pytest
import torch
import yaml

import condgen
from condgen.engine.checkpoint import load_checkpoint
from condgen.engine.progress import SilentReporter
from condgen.engine.session import start_run
from condgen.recipe import load_recipe
from helpers import REPO, TINY_RECIPE, write_mnist_root


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished two-epoch run; tests work on copies of it."""
    base = tmp_path_factory.mktemp("trained")
    recipe = base / "tiny.yaml"
    recipe.write_text(TINY_RECIPE.format(root=write_mnist_root(base / "data"), out=base / "runs"))
    run, _ = start_run(load_recipe(recipe, ["trainer.threads=1"]), SilentReporter())
    return run.path


@pytest.fixture
def run(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / trained.name
    shutil.copytree(trained, copy)
    return copy


class RunsShell:
    """Unpickling this runs a shell command: what a hostile checkpoint would carry."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def hostile_zip(path: Path, marker: Path) -> None:
    """torch's own format, weights next to a payload, as a tampered download would look."""
    torch.save({"format": 1, "model": {"w": torch.zeros(2)}, "epoch": RunsShell(f"touch {marker}")}, path)


def hostile_legacy(path: Path, marker: Path) -> None:
    """A bare pickle (torch's legacy format) whose first object is the payload."""
    path.write_bytes(pickle.dumps(RunsShell(f"touch {marker}"), protocol=2))


@pytest.mark.parametrize("write", [hostile_zip, hostile_legacy], ids=["torch-zip", "legacy-pickle"])
@pytest.mark.parametrize("command", [("run", "--resume"), ("sample",)], ids=["resume", "sample"])
def test_checkpoint_with_code_is_refused_and_the_code_never_runs(run, cli, tmp_path, write, command):
    marker = tmp_path / "pwned"
    write(run / "checkpoints" / "last.pt", marker)

    code, _, err = cli(*command, run)

    assert code == 2
    assert not marker.exists(), "the pickled command ran"
    assert "Refusing to load" in err and "last.pt" in err
    assert "Traceback" not in err
    # The payload is live: an unsafe load would have run it (and then failed, for the legacy one).
    with contextlib.suppress(Exception):
        torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    assert marker.exists()


def test_the_refusal_names_the_object_that_would_have_run(run, cli, tmp_path):
    hostile_zip(run / "checkpoints" / "last.pt", tmp_path / "pwned")
    _, _, err = cli("run", "--resume", run)
    assert "system" in err and "could run code" in err


def test_every_torch_load_in_condgen_and_its_plugins_passes_weights_only_true():
    offenders = []
    for path in [*(REPO / "condgen").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load":
                if isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                    safe = any(
                        k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                        for k in node.keywords
                    )
                    if not safe:
                        offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, f"torch.load without weights_only=True: {offenders}"


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_bytes_in_the_middle(path: Path) -> None:
    """Damage inside a tensor's bytes: the zip still opens, only the checksum can tell."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def random_bytes(path: Path) -> None:
    # Seeded: garbage from os.urandom reached the unpickler's stack errors ("truncated") about once in 13 runs.
    path.write_bytes(random.Random(0).randbytes(4096))


@pytest.mark.parametrize(
    "damage, expected",
    [
        (truncate, "is truncated or corrupted"),
        (flip_bytes_in_the_middle, "is corrupted: its contents do not match the checksum"),
        (empty, "is truncated or corrupted"),
        (random_bytes, "is corrupted or not a condgen checkpoint"),
    ],
)
def test_damaged_checkpoint_is_reported_as_such_and_left_alone(run, cli, damage, expected):
    checkpoint = run / "checkpoints" / "last.pt"
    damage(checkpoint)
    before = checkpoint.read_bytes()

    code, _, err = cli("run", "--resume", run)

    assert code == 2
    assert expected in err and str(checkpoint) in err
    assert "Traceback" not in err
    assert checkpoint.read_bytes() == before


def test_flipped_bytes_would_otherwise_load_as_wrong_weights(run):
    """Why the checksum exists: torch alone does not notice damage inside tensor data."""
    checkpoint = run / "checkpoints" / "last.pt"
    intact = load_checkpoint(checkpoint)
    flip_bytes_in_the_middle(checkpoint)
    raw = torch.load(checkpoint, map_location="cpu", weights_only=True)  # loads without complaint
    assert len(list(tensors(raw))) == len(list(tensors(intact)))
    changed = [a for a, b in zip(tensors(raw), tensors(intact)) if not torch.equal(a, b)]
    assert changed, "the damage did not reach any tensor; move it"


def tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for key in sorted(value, key=repr):
            yield from tensors(value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors(item)


def test_checkpoint_records_condgen_version_recipe_and_its_hash(run):
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["condgen_version"] == condgen.__version__
    saved_recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    assert state["recipe"] == saved_recipe
    canonical = json.dumps(saved_recipe, sort_keys=True).encode()
    assert state["recipe_digest"] == hashlib.sha256(canonical).hexdigest()
    assert state["recipe_digest"] == load_recipe(run / "recipe.yaml").digest()


def test_resume_with_a_changed_recipe_is_refused_and_changes_nothing(run, cli):
    checkpoint = run / "checkpoints" / "last.pt"
    before = checkpoint.read_bytes(), (run / "recipe.yaml").read_text()

    code, _, err = cli("run", "--resume", run, "trainer.epochs=3", "model.encoder.latent_dim=2")

    assert code == 2
    assert "differs" in err and "trainer.epochs" in err and "--force" in err
    assert "latent_dim" not in err  # unchanged keys are not listed
    assert (checkpoint.read_bytes(), (run / "recipe.yaml").read_text()) == before


def test_a_recipe_file_edited_after_the_run_started_is_refused_too(run, cli):
    recipe = run / "recipe.yaml"
    data = yaml.safe_load(recipe.read_text())
    data["trainer"]["optimizer"]["lr"] = 0.5
    recipe.write_text(yaml.safe_dump(data))
    code, _, err = cli("run", "--resume", run)
    assert code == 2
    assert "trainer.optimizer.lr" in err


def test_force_resumes_with_the_changed_recipe_and_records_it(run, cli):
    code, _, err = cli("run", "--resume", run, "--force", "trainer.epochs=3")
    assert code == 0, err
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["epoch"] == 3 and state["recipe"]["trainer"]["epochs"] == 3
    assert yaml.safe_load((run / "recipe.yaml").read_text())["trainer"]["epochs"] == 3
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3
