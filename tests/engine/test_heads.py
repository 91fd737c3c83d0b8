"""Recipes with heads: CVAE-GAN trains end to end, logs every network, resumes exactly,
and a head from a third-party distribution trains like a built-in."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from condgen.engine.trainer import Interrupted
from helpers import GAN, StopAtStep, assert_same_tensors, checkpoint, metrics, train, without_timings


@pytest.mark.slow
def test_cvae_gan_logs_every_networks_losses(tiny_recipe):
    run = train(tiny_recipe, *GAN)
    rows = metrics(run)
    for key in ("train_classifier_loss", "train_discriminator_loss", "train_C_pairwise", "train_D_mean",
                "train_encoder_loss", "train_decoder_loss", "train_kl", "test_elbo"):
        assert all(key in row for row in rows), key
    state = checkpoint(run)
    assert set(state["optimizers"]) == {"classifier", "discriminator", "encoder", "decoder"}
    assert any(key.startswith("discriminator.") for key in state["heads"])
    assert rows[-1]["train_classifier_loss"] < rows[0]["train_classifier_loss"]


@pytest.mark.slow
def test_a_multi_optimiser_run_resumes_to_identical_weights(tiny_recipe, cli):
    straight = train(tiny_recipe, *GAN)
    with pytest.raises(Interrupted):
        train(tiny_recipe, *GAN, reporter=StopAtStep(13))  # mid-epoch 2, after a checkpointed epoch
    (interrupted,) = set((tiny_recipe.parent / "runs").iterdir()) - {straight}
    code, out, err = cli("run", "--resume", interrupted)
    assert code == 0, err
    a, b = checkpoint(straight), checkpoint(interrupted)
    assert_same_tensors(a["model"], b["model"])
    assert_same_tensors(a["heads"], b["heads"])  # weights and the classifier's class centres
    for name in a["optimizers"]:
        for key, value in a["optimizers"][name]["state"].items():
            assert_same_tensors(value, b["optimizers"][name]["state"][key])
    assert without_timings(metrics(straight)) == without_timings(metrics(interrupted))


CRITIC = '''
import torch
import condgen
from torch import nn


class Config(condgen.ComponentConfig):
    weight: float = 0.1


class Critic(nn.Module):
    """A third party's head: scores images; asks the decoder for high-scoring prior samples."""

    def __init__(self, config, context):
        super().__init__()
        self.weight = config.weight
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 1))

    def optimizer(self):
        return condgen.make_optimizer(self.parameters(), condgen.OptimizerConfig(lr=1e-2))

    def head_losses(self, step):
        real, fake = self.net(step.x), self.net(step.x_p)
        return {"loss": fake.mean() - real.mean() + 0.1 * (real.pow(2).mean() + fake.pow(2).mean())}

    def model_losses(self, step):
        return [condgen.ModelLoss("critic_score", -self.weight * self.net(step.x_p).mean(), frozenset({"decoder"}))]


@condgen.hookimpl
def register_components(register):
    register("head", "critic", Critic, Config)
'''


def test_a_head_from_a_third_party_distribution_trains(tiny_recipe, make_distribution):
    make_distribution("condgen-critic", "condgen_critic", CRITIC)
    run = train(tiny_recipe, "model.heads={critic: {name: critic}}")
    rows = metrics(run)
    assert "train_critic_loss" in rows[-1] and "train_critic_score" in rows[-1]
    state = checkpoint(run)
    assert set(state["optimizers"]) == {"critic", "encoder", "decoder"}
    steps = rows[-1]["step"]
    assert all(value["step"] == steps for value in state["optimizers"]["critic"]["state"].values())  # it trained


@pytest.mark.slow
def test_cvae_gan_trains_on_two_processes_with_every_networks_weights_kept_equal(tiny_recipe):
    """Several optimisers under DDP: gradients averaged by hand per update, class centres averaged.

    The run's save step compares every rank's model *and* head weights and
    buffers and refuses to write a checkpoint if they differ, so finishing
    at all says the ranks stayed in step.
    """
    done = subprocess.run(
        [sys.executable, "-m", "condgen", "run", str(tiny_recipe), *GAN, "--nproc", "2"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    rows = metrics(run)
    assert [row["epoch"] for row in rows] == [1, 2]
    assert all("train_classifier_loss" in row and "train_D_mean" in row for row in rows)
    state = checkpoint(run)
    assert state["world_size"] == 2
    steps = rows[-1]["step"]
    for name in ("classifier", "discriminator", "encoder", "decoder"):
        assert all(value["step"] == steps for value in state["optimizers"][name]["state"].values()), name
