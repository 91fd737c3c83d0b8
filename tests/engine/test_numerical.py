"""Numerical faults stop the run, say where, and keep the last good checkpoint."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import torch

from condgen.engine.checkpoint import load_checkpoint

# A prior from a recipe's ``plugins:`` file: standard normal for ``after`` training
# calls, then it breaks in the way ``mode`` says.
FAULTY_PRIOR = '''
import torch
from torch import distributions as D
from torch import nn

import condgen


class FaultyPriorConfig(condgen.ComponentConfig):
    after: int
    mode: str = "nan_loss"


class FaultyPrior(nn.Module):
    def __init__(self, config, context):
        super().__init__()
        self.latent_dim, self.after, self.mode = context.latent_dim, config.after, config.mode
        self.w = nn.Parameter(torch.ones(()))
        self.calls = 0

    def forward(self, condition):
        loc = condition.new_zeros(condition.shape[0], self.latent_dim)
        if self.training:
            self.calls += 1
            if self.calls > self.after:
                if self.mode in ("nan_loss", "nan_params"):
                    loc = loc + float("nan")
                else:  # "nan_gradient": exactly 0 forward, NaN backward (sqrt' is infinite at 0)
                    loc = loc + torch.sqrt(self.w - self.w.detach())
        # "nan_params" keeps torch's argument validation on, as most plugins do: the NaN then
        # surfaces inside the prior, before any loss is computed.
        normal = D.Normal(loc, torch.ones_like(loc), validate_args=self.mode == "nan_params")
        return D.Independent(normal, 1, validate_args=False)


@condgen.hookimpl
def register_components(register):
    register("prior", "faulty", FaultyPrior, FaultyPriorConfig)
'''


def only_run(tmp_path: Path) -> Path:
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def assert_all_finite(state: dict) -> None:
    for name, tensor in state["model"].items():
        assert torch.isfinite(tensor).all(), name


def test_huge_learning_rate_stops_at_the_step_naming_the_term_and_keeps_the_last_good_checkpoint(
    tiny_recipe, cli, tmp_path
):
    code, _, err = cli(
        "run", tiny_recipe, "trainer.optimizer.lr=1e6", "trainer.checkpoint_every_steps=1", "trainer.threads=1"
    )

    assert code == 2 and "Traceback" not in err
    found = re.search(r"The (reconstruction|kl) term of the loss became (nan|-?inf) at epoch 1, step (\d+)", err)
    assert found, err
    bad_step = int(found.group(3))
    run = only_run(tmp_path)
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["global_step"] == bad_step - 1  # every step was saved, except the one that diverged
    assert f"global step {bad_step - 1}" in err and str(run / "checkpoints" / "last.pt") in err
    assert_all_finite(state)
    assert json.loads((run / "run.json").read_text())["status"] == "failed"


@pytest.fixture
def faulty_recipe(tiny_recipe: Path) -> callable:
    (tiny_recipe.parent / "faulty_prior.py").write_text(FAULTY_PRIOR)

    def make(after: int, mode: str) -> Path:
        text = tiny_recipe.read_text().replace(
            "prior: {name: standard_normal}", f"prior: {{name: faulty, after: {after}, mode: {mode}}}"
        )
        path = tiny_recipe.with_name(f"faulty_{mode}.yaml")
        path.write_text("plugins: [faulty_prior.py]\n" + text)
        return path

    return make


def test_a_plugin_that_returns_nan_is_stopped_at_its_step_naming_the_kl_term(faulty_recipe, cli, tmp_path):
    code, _, err = cli("run", faulty_recipe(7, "nan_loss"), "trainer.checkpoint_every_steps=3", "trainer.threads=1")

    assert code == 2 and "Traceback" not in err
    assert "The kl term of the loss became nan at epoch 1, step 8 (global step 8)" in err
    state = load_checkpoint(only_run(tmp_path) / "checkpoints" / "last.pt")
    assert state["global_step"] == 6  # the last multiple of 3 before the fault
    assert "global step 6" in err
    assert_all_finite(state)


def test_a_plugin_distribution_rejecting_nan_parameters_is_named_with_the_step(faulty_recipe, cli, tmp_path):
    code, _, err = cli("run", faulty_recipe(5, "nan_params"), "trainer.checkpoint_every_steps=2", "trainer.threads=1")

    assert code == 2 and "Traceback" not in err
    assert "The prior 'faulty' (plugin condgen_local_faulty_prior" in err
    assert "NaN, infinite or out-of-range parameters" in err
    assert "at epoch 1, step 6 (global step 6)" in err
    state = load_checkpoint(only_run(tmp_path) / "checkpoints" / "last.pt")
    assert state["global_step"] == 4 and "global step 4" in err
    assert_all_finite(state)


def test_nan_gradient_behind_a_finite_loss_is_never_saved_over_the_last_good_checkpoint(faulty_recipe, cli, tmp_path):
    code, _, err = cli("run", faulty_recipe(4, "nan_gradient"), "trainer.checkpoint_every_steps=1", "trainer.threads=1")

    assert code == 2 and "Traceback" not in err
    assert "prior.w became NaN or infinite by global step 5" in err
    state = load_checkpoint(only_run(tmp_path) / "checkpoints" / "last.pt")
    assert state["global_step"] == 4
    assert_all_finite(state)


def test_a_nan_before_the_first_checkpoint_says_there_is_none(faulty_recipe, cli, tmp_path):
    code, _, err = cli("run", faulty_recipe(2, "nan_loss"), "trainer.threads=1")
    assert code == 2
    assert "step 3 (global step 3)" in err and "No checkpoint was saved before it." in err
    assert not (only_run(tmp_path) / "checkpoints" / "last.pt").exists()
