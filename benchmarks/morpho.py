"""The morpho dataset's costs: measuring MNIST, loading the cache, and training throughput against plain ``mnist``.

- ``measure``: all 70,000 MNIST images measured into an empty cache folder
  (every usable core), then the same call again, which loads the cache (hash
  of the images, read, checks), both timed here; the CPU seconds of the
  measuring (this process and its workers) say what it costs on idle cores;
- ``throughput``: one epoch of ``recipes/mnist_morpho_cvae.yaml`` and one of
  the same recipe with ``data: {name: mnist}`` (the same networks; the morpho
  condition has two more inputs), alternating, timed by the trainer's own
  train-loop clock; the table gives the median images/s of each and their ratio;
- ``interleaved``: the same comparison one training step at a time (batch,
  -ELBO, backward, optimiser step), the two recipes taking turns on the same
  batch indices, so a load that moves during the run falls on both alike.

Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/morpho.py [--parts measure throughput] [--rounds 3]

Report the machine's load (``uptime``) beside every figure: the 2 cores are often shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from condgen.compat import torchvision
from condgen.data import resolve_data_root
from condgen.compose import build_model
from condgen.optim import make_optimizer
from condgen.recipe import load_recipe
from condgen_morpho.cache import measure_cached
from recipes import condgen_epoch  # benchmarks/recipes.py: one epoch by condgen's trainer

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "mnist_morpho_cvae.yaml"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure_part() -> None:
    root = resolve_data_root(None)
    images = np.concatenate(
        [torchvision.datasets.MNIST(str(root), train=train, download=False).data.numpy() for train in (True, False)]
    )
    with tempfile.TemporaryDirectory() as folder:
        print(f"load average before: {load_average()}")
        started, cpu_before = time.perf_counter(), cpu_seconds()
        measure_cached(images, Path(folder))
        cold, cpu = time.perf_counter() - started, cpu_seconds() - cpu_before
        started = time.perf_counter()
        measure_cached(images, Path(folder))
        warm = time.perf_counter() - started
    print(f"measured {len(images):,} images in {cold:.1f} s wall, {cpu:.1f} CPU seconds over this process and its "
          f"workers (so about {cpu / 2:.0f} s on two idle cores); loaded them from the cache in {warm:.2f} s "
          f"(load average after: {load_average()})")


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the measuring workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def throughput_part(rounds: int) -> None:
    recipe = yaml.safe_load(RECIPE.read_text())
    plain = {**recipe, "name": "mnist_plain_same_networks", "data": recipe["data"]["base"]}
    speeds: dict[str, list[float]] = {"morpho": [], "mnist": []}
    with tempfile.TemporaryDirectory() as folder:
        plain_path = Path(folder) / "plain.yaml"
        plain_path.write_text(yaml.safe_dump(plain))
        for round_ in range(rounds):
            for name, path in (("morpho", RECIPE), ("mnist", plain_path)):
                images, seconds = condgen_epoch(path, Path(folder) / f"{name}-{round_}")
                speeds[name].append(images / seconds)
                print(f"round {round_ + 1} {name}: {images / seconds:,.0f} images/s (load average {load_average()})")
    morpho, mnist = statistics.median(speeds["morpho"]), statistics.median(speeds["mnist"])
    print(f"| dataset | images/s (median of {rounds}) |\n|---|---|\n| morpho | {morpho:,.0f} |\n| mnist | {mnist:,.0f} |")
    print(f"morpho / mnist: {morpho / mnist:.3f}")


def interleaved_part(steps: int) -> None:
    """Training steps of the two recipes taken in turn, each timed alone: both see the same load, step by step."""
    recipe = yaml.safe_load(RECIPE.read_text())
    plain = {**recipe, "name": "mnist_plain_same_networks", "data": recipe["data"]["base"]}
    torch.set_num_threads(recipe["trainer"].get("threads") or torch.get_num_threads())
    setups = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, data in (("morpho", recipe), ("mnist", plain)):
            path = Path(folder) / f"{name}.yaml"
            path.write_text(yaml.safe_dump(data))
            resolved = load_recipe(path)
            torch.manual_seed(0)
            composed = build_model(resolved)
            split = composed.dataset.load("train")
            optimizer = make_optimizer(composed.model.parameters(), resolved.recipe.trainer.optimizer)
            setups[name] = (composed.model.train(), split, optimizer)
    batch_size = recipe["trainer"]["batch_size"]
    order = torch.randperm(len(setups["mnist"][1]), generator=torch.Generator().manual_seed(0))
    seconds = {name: 0.0 for name in setups}
    print(f"load average before: {load_average()}")
    for step, index in enumerate(order.split(batch_size)[:steps]):
        for name in (("morpho", "mnist") if step % 2 else ("mnist", "morpho")):
            model, split, optimizer = setups[name]
            started = time.perf_counter()
            x, c = split.batch(index)
            loss = model.losses(x, c).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seconds[name] += time.perf_counter() - started
    images = min(steps, len(order.split(batch_size))) * batch_size
    for name, total in seconds.items():
        print(f"{name}: {images / total:,.0f} images/s over {images:,} images, steps interleaved")
    print(f"morpho / mnist: {seconds['mnist'] / seconds['morpho']:.3f} (load average after: {load_average()})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=["measure", "throughput", "interleaved"],
                        default=["measure", "throughput", "interleaved"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=900, help="interleaved training steps of each recipe")
    args = parser.parse_args(argv)
    if "measure" in args.parts:
        measure_part()
    if "throughput" in args.parts:
        throughput_part(args.rounds)
    if "interleaved" in args.parts:
        interleaved_part(args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
