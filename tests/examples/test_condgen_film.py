"""The worked external plugin (examples/condgen-film), installed like any package, trains from a recipe."""

import json
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "examples" / "condgen-film" / "mnist_cvae_film.yaml"

pytest.importorskip("condgen_film", reason="install it first: pip install -e examples/condgen-film (.ci/run does)")


def test_film_recipe_trains_and_its_modulators_learn(cli, tiny_mnist, tmp_path):
    code, out, err = cli(
        "run", RECIPE, f"data.root={tiny_mnist}", "data.download=false", "trainer.epochs=3",
        "trainer.batch_size=20", "model.encoder.hidden=[32]", "model.decoder.hidden=[32]", f"output.dir={tmp_path / 'runs'}",
    )
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["test_elbo"] < rows[0]["test_elbo"]
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]
    film = {key: value for key, value in state.items() if ".modulators." in key}
    assert film, "the FiLM layers are part of the model's weights"
    assert any(value.abs().sum() > 0 for value in film.values()), "FiLM starts at zero and must have trained"
