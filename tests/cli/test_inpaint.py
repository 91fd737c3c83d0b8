"""Inpainting end to end on tiny data: train a CVAE and a baseline, evaluate both, draw ``condgen inpaint`` figures,
and refuse bad input with exit code 2."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch

from condgen.cli import main
from condgen.engine.checkpoint import load_checkpoint

from helpers import write_mnist_root

RECIPE = """\
name: {name}
seed: 0
data:
  name: inpainting
  base: {{name: mnist, root: {root}, download: false}}
  mask: {mask}
model:
  conditioner: {{name: concat}}
  encoder: {encoder}
  decoder: {{name: mlp, hidden: [32]}}
  prior: {prior}
trainer: {{epochs: 2, batch_size: 20, samples_per_row: 3}}
output: {{dir: {out}}}
"""
CVAE = dict(encoder="{name: mlp, hidden: [32], latent_dim: 4}", prior="{name: conditional, hidden: [32]}")
BASELINE = dict(encoder="{name: deterministic}", prior="{name: standard_normal}")
QUADRANTS = "{name: quadrants, observed: 1}"


def invoke(*args) -> tuple[int, str]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


def write_recipe(folder: Path, name: str, mask: str = QUADRANTS, **parts: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(RECIPE.format(name=name, root=folder / "data", out=folder / "runs" / name, mask=mask, **parts))
    return path


def train(recipe: Path, *overrides: str) -> Path:
    code, output = invoke("run", recipe, *overrides)
    assert code == 0, output
    (run,) = (recipe.parent / "runs" / recipe.stem).iterdir()
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inpaint")
    write_mnist_root(folder / "data")
    return {
        "cvae": train(write_recipe(folder, "cvae", **CVAE)),
        "baseline": train(write_recipe(folder, "baseline", **BASELINE)),
        "folder": folder,
    }


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_eval_reports_pyros_metric_and_the_importance_weighted_nll(runs) -> None:
    for name in ("cvae", "baseline"):
        code, output = invoke("eval", runs[name], "--k", "20", "--particles", "10")
        assert code == 0, output
        assert "10 particles" in output and "unobserved" in output
        result = json.loads((runs[name] / "eval.json").read_text())
        assert result["likelihood_mask"] is True and result["particles"] == 10
        assert 0 < result["nll"] < 784 * 0.7  # 3 of 4 quadrants scored, never the whole image
    cvae = json.loads((runs["cvae"] / "eval.json").read_text())
    assert cvae["nll"] < cvae["test_elbo_particles"]
    baseline = json.loads((runs["baseline"] / "eval.json").read_text())
    assert baseline["test_kl"] == 0.0
    assert baseline["nll"] == pytest.approx(baseline["test_elbo_particles"], rel=1e-5)  # no latent: both exact


@pytest.mark.slow
def test_the_figure_has_input_truth_baseline_and_sample_rows(runs, tmp_path) -> None:
    figure = tmp_path / "figure.png"
    code, output = invoke("inpaint", runs["cvae"], "--count", "4", "--samples", "3", "--baseline", runs["baseline"],
                          "-o", figure)
    assert code == 0, output
    width, height = png_size(figure)
    fewer = tmp_path / "fewer.png"
    assert invoke("inpaint", runs["cvae"], "--count", "4", "--samples", "1", "-o", fewer)[0] == 0
    assert png_size(fewer)[1] < height  # 4 rows against 6
    assert invoke("inpaint", runs["cvae"])[0] == 0
    assert (runs["cvae"] / "samples" / "inpaint-seed0.png").is_file()


def test_rows_keep_the_observed_pixels_of_the_test_images(runs) -> None:
    from condgen.engine.inpaint import figure_rows, test_examples
    from condgen.engine.loaded_run import load_run

    loaded, baseline = load_run(runs["cvae"]), load_run(runs["baseline"])
    examples = test_examples(loaded.dataset, 5, seed=3)
    rows = dict(figure_rows(loaded, examples, 2, 3, baseline))
    assert list(rows) == ["input", "truth", "baseline", "sample 1", "sample 2"]
    observed = torch.zeros(1, 1, 28, 28, dtype=torch.bool)
    observed[..., 14:, :14] = True
    observed = observed.expand_as(examples.x)
    for name in ("baseline", "sample 1", "sample 2"):
        assert torch.equal(rows[name][observed], examples.x[observed])
    assert (rows["input"][~observed] == 0.5).all() and torch.equal(rows["truth"], examples.x)


def write_png(path: Path, pixels: torch.Tensor) -> Path:
    from PIL import Image

    Image.fromarray(pixels.to(torch.uint8).numpy(), mode="L").save(path)
    return path


def test_a_users_own_image_and_mask(runs, tmp_path) -> None:
    digit = write_png(tmp_path / "digit.png", torch.zeros(28, 28).index_fill_(0, torch.arange(8, 20), 255))
    hole = torch.zeros(28, 28)
    hole[:, 14:] = 255  # fill in the right half
    mask = write_png(tmp_path / "mask.png", hole)
    figure = tmp_path / "mine.png"
    code, output = invoke("inpaint", runs["cvae"], "--image", digit, "--mask", mask, "--samples", "2", "-o", figure)
    assert code == 0, output
    assert "(1 image, 2 samples each)" in output
    width, height = png_size(figure)
    assert width > 3 * height  # one example: input, truth and two samples side by side
    assert height > 2 * 28  # each panel drawn larger than the image's own pixels


def test_resize_scales_an_image_and_mask_of_another_size(runs, tmp_path) -> None:
    digit = write_png(tmp_path / "digit.png", torch.zeros(56, 56).index_fill_(0, torch.arange(16, 40), 255))
    hole = torch.zeros(56, 56)
    hole[:, 28:] = 255
    mask = write_png(tmp_path / "mask.png", hole)
    figure = tmp_path / "mine.png"
    code, output = invoke("inpaint", runs["cvae"], "--image", digit, "--mask", mask, "-o", figure)
    assert code == 2 and "56x56" in output and "--resize" in output
    assert not figure.exists()
    code, output = invoke("inpaint", runs["cvae"], "--image", digit, "--mask", mask, "--resize", "-o", figure)
    assert code == 0, output
    from condgen.engine.inpaint import user_example
    from condgen.engine.loaded_run import load_run

    dataset = load_run(runs["cvae"]).dataset
    example = user_example(dataset, digit, mask, resize=True)
    assert example.x.shape == (1, 1, 28, 28)
    observed = dataset.observed_mask(example.condition)
    assert observed[..., :14].all() and not observed[..., 14:].any()  # the mask stays sharp: left kept, right filled
    code, output = invoke("inpaint", runs["cvae"], "--resize", "-o", figure)
    assert code == 2 and "--resize scales your own --image" in output


@pytest.mark.parametrize(
    "case, words",
    [
        ("all black", ["observes every pixel"]),
        ("all white", ["observes no pixel"]),
        ("small mask", ["20x20", "28x28"]),
        ("large image", ["32x32", "28x28"]),
        ("not a png", ["cannot be read"]),
        ("image alone", ["--image and --mask together"]),
    ],
)
def test_bad_user_input_is_refused_with_exit_code_2(runs, tmp_path, case: str, words: list[str]) -> None:
    image = write_png(tmp_path / "x.png", torch.full((28, 28), 128))
    mask = write_png(tmp_path / "m.png", torch.zeros(28, 28).index_fill_(1, torch.arange(14), 255))
    if case == "all black":
        mask = write_png(tmp_path / "m.png", torch.zeros(28, 28))
    elif case == "all white":
        mask = write_png(tmp_path / "m.png", torch.full((28, 28), 255))
    elif case == "small mask":
        mask = write_png(tmp_path / "m.png", torch.zeros(20, 20).index_fill_(1, torch.arange(5), 255))
    elif case == "large image":
        image = write_png(tmp_path / "x.png", torch.zeros(32, 32))
    elif case == "not a png":
        image = tmp_path / "x.png"
        image.write_text("no pixels here")
    args = ["inpaint", runs["cvae"], "--image", image, "-o", tmp_path / "out.png"]
    if case != "image alone":
        args += ["--mask", mask]
    code, output = invoke(*args)
    assert code == 2, output
    assert "Traceback" not in output
    for word in words:
        assert word in output
    assert not (tmp_path / "out.png").exists()


def test_a_run_that_does_not_inpaint_is_refused(tiny_recipe, cli, runs, tmp_path) -> None:
    assert cli("run", tiny_recipe, "trainer.epochs=1")[0] == 0
    (plain,) = (tiny_recipe.parent / "runs").iterdir()
    code, out, err = cli("inpaint", plain)
    assert code == 2 and "not trained to inpaint" in err and "Traceback" not in err
    code, out, err = cli("inpaint", runs["cvae"], "--baseline", plain)
    assert code == 2 and "not trained to inpaint" in err


@pytest.mark.slow
def test_resuming_with_random_masks_ends_with_the_uninterrupted_weights(runs) -> None:
    folder = runs["folder"]
    mask = "{name: pixels, observed: 0.4}"
    straight = train(write_recipe(folder, "straight", mask=mask, **CVAE))
    halted = train(write_recipe(folder, "halted", mask=mask, **CVAE), "trainer.epochs=1")
    code, output = invoke("run", "--resume", halted, "trainer.epochs=2", "--force")
    assert code == 0, output
    a, b = load_checkpoint(straight / "checkpoints" / "last.pt"), load_checkpoint(halted / "checkpoints" / "last.pt")
    assert a["epoch"] == b["epoch"] == 2
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key


def write_bomb(path: Path, side: int = 20_000) -> Path:
    """A valid 1-bit PNG of side x side black pixels: tens of KB on disk, 400 M pixels once decoded."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes((side + 7) // 8)  # filter byte, then the packed bits
    squeeze = zlib.compressobj(9)
    data = b"".join(squeeze.compress(row) for _ in range(side)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [20_000, 12_000, 29])
@pytest.mark.parametrize("which", ["--image", "--mask"])
def test_a_png_of_the_wrong_size_is_refused_from_its_header(runs, tmp_path, which, side) -> None:
    """20000^2 trips PIL's bomb error, 12000^2 only its warning, 29^2 nothing: all are refused unread."""
    bomb = write_bomb(tmp_path / "bomb.png", side)
    assert bomb.stat().st_size < 200_000
    good = write_png(tmp_path / "good.png", torch.zeros(28, 28).index_fill_(1, torch.arange(14, 28), 255))
    files = {"--image": good, "--mask": good, which: bomb}
    code, output = invoke("inpaint", runs["cvae"], "--image", files["--image"], "--mask", files["--mask"],
                          "-o", tmp_path / "out.png")
    assert code == 2, output
    assert "Traceback" not in output and "bomb.png" in output
    assert not (tmp_path / "out.png").exists()
