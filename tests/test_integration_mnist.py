"""The shipped recipe on the real MNIST: a few hundred steps, a sensible -ELBO."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from helpers import REPO


@pytest.mark.slow
@pytest.mark.mnist
def test_seed_recipe_trains_on_real_mnist(real_mnist_root, tmp_path, cli) -> None:
    code, out, err = cli(
        "run",
        REPO / "recipes" / "mnist_cvae.yaml",
        f"data.root={real_mnist_root}",
        "data.download=false",
        "data.limit=10000",  # 200 steps of 50, and 10,000 test images
        "trainer.epochs=1",
        f"output.dir={tmp_path / 'runs'}",
    )
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("mnist_cvae-")

    (row,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert row["step"] == 200
    # This reaches about 165 nats after 200 steps; 784 log 2 = 543 is an untrained decoder.
    assert 100 < row["test_elbo"] < 200
    assert row["test_kl"] > 1  # the latent code is used
    assert row["images_per_s"] > 0

    png = (run / "samples" / "epoch-001.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (302, 302)

    state = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 1 and state["recipe"]["data"]["limit"] == 10000
    assert json.loads((run / "run.json").read_text())["status"] == "finished"

    code, out, err = cli("sample", run, "--label", "7", "-n", "16", "-o", tmp_path / "sevens.png")
    assert code == 0, err
