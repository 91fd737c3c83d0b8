"""Write MNIST to an image folder, so the ``image_folder`` dataset can be checked against ``mnist`` by anyone.

    python benchmarks/write_image_folder.py data/mnist_folder                 # 28x28 grey PNGs
    python benchmarks/write_image_folder.py data/colour_mnist --colour        # 32x32 RGB, tinted, + conditions.csv

Layout: ``OUT/train/<digit>/<index>.png`` and ``OUT/test/<digit>/<index>.png``,
the digit folders named ``0`` ... ``9``. With ``--colour`` each digit is
padded to 32x32 and tinted with a per-image hue drawn from a seeded uniform
on [0, 1); ``OUT/conditions.csv`` holds ``file,hue,red,green,blue`` for every
image: the hue and the fully saturated colour it names. Condition on
``red, green, blue`` (continuous, no wrap-around at red); pixels are
``intensity x colour``, so the hue of a digit can be measured back from its
pixels (see :func:`mean_hue`).
"""

from __future__ import annotations

import argparse
import colorsys
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))


def tint(digits: torch.Tensor, hues: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 intensities and (N,) hues -> (N, 3, 32, 32) uint8, digit centred on black."""
    rgb = torch.tensor([colorsys.hsv_to_rgb(float(h), 1.0, 1.0) for h in hues], dtype=torch.float32)
    padded = torch.nn.functional.pad(digits.float(), (2, 2, 2, 2))
    return (padded[:, None] * rgb[:, :, None, None]).round().clamp(0, 255).to(torch.uint8)


def mean_hue(images: torch.Tensor, threshold: float = 0.2) -> torch.Tensor:
    """The intensity-weighted circular mean hue of each (N, 3, H, W) image in [0, 1], over pixels above ``threshold``."""
    x = images.float()
    if x.max() > 1.5:
        x = x / 255
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    hue = torch.atan2(np.sqrt(3) * (g - b), 2 * r - g - b)  # hue angle in radians (hexagon projection)
    weight = x.max(1).values
    weight = torch.where(weight > threshold, weight, torch.zeros_like(weight))
    cos = (weight * hue.cos()).flatten(1).sum(1)
    sin = (weight * hue.sin()).flatten(1).sum(1)
    return (torch.atan2(sin, cos) / (2 * np.pi)) % 1.0


def hue_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Circular distance between hues in [0, 1): at most 0.5."""
    d = (a - b).abs() % 1.0
    return torch.minimum(d, 1 - d)


def _write_chunk(args: tuple[str, list[tuple[str, np.ndarray]]]) -> int:
    out, items = args
    for relative, pixels in items:
        image = Image.fromarray(pixels if pixels.ndim == 2 else pixels.transpose(1, 2, 0))
        image.save(Path(out) / relative, compress_level=1)
    return len(items)


def write(out: Path, colour: bool, limit: int | None, seed: int, workers: int) -> dict[str, float]:
    from condgen_mnist import MNISTConfig
    from condgen_mnist.dataset import MNIST

    started = time.perf_counter()
    rows = [("file", "hue", "red", "green", "blue")]
    jobs: list[tuple[str, np.ndarray]] = []
    generator = torch.Generator().manual_seed(seed)
    for split, name in (("train", "train"), ("test", "t10k")):
        data = MNIST(MNISTConfig(download=False, limit=limit)).load(split)
        digits, labels = data.x[:, 0], data.labels
        hues = torch.rand(len(digits), generator=generator)
        pixels = tint(digits, hues) if colour else digits
        for digit in range(10):
            (out / split / str(digit)).mkdir(parents=True, exist_ok=True)
        for index in range(len(digits)):
            relative = f"{split}/{int(labels[index])}/{name}-{index:05d}.png"
            jobs.append((relative, pixels[index].numpy()))
            colour_of = colorsys.hsv_to_rgb(float(hues[index]), 1.0, 1.0)
            rows.append((relative, f"{float(hues[index]):.6f}", *(f"{v:.6f}" for v in colour_of)))
    chunks = [jobs[start : start + 2000] for start in range(0, len(jobs), 2000)]
    with ProcessPoolExecutor(workers) as pool:
        written = sum(pool.map(_write_chunk, [(str(out), chunk) for chunk in chunks]))
    if colour:
        with open(out / "conditions.csv", "w", newline="") as handle:
            csv.writer(handle).writerows(rows)
    return {"images": written, "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder to write (created)")
    parser.add_argument("--colour", action="store_true", help="32x32 RGB digits tinted by a per-image hue")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images of each split")
    parser.add_argument("--seed", type=int, default=0, help="seeds the hues")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    print(write(args.out, args.colour, args.limit, args.seed, args.workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
