"""Every head-less recipe's training throughput against a bare PyTorch loop of the same networks, in one process.

For each recipe: one epoch of condgen's trainer (its own train-loop clock:
training steps only), then one epoch of the loop a user would write by hand
around the very networks and data the recipe composes — ``model.losses(x,
c).loss``, ``backward``, the recipe's optimiser, tensor-resident batches from
the dataset plugin — with the same thread count. Recipes with heads have
their own hand-written loop in ``benchmarks/cvae_gan.py``. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/recipes.py [--recipes recipes/a.yaml ...] [--rounds 1]

Do not quote figures taken while other work shares the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from condgen.engine.progress import SilentReporter
from condgen.engine.run_dir import create_run_dir
from condgen.engine.trainer import Trainer, build_parts
from condgen.compose import build_model
from condgen.optim import make_optimizer
from condgen.recipe import load_recipe
from throughput import full_run_compile, full_run_precision

REPO = Path(__file__).resolve().parents[1]


def headless_recipes() -> list[Path]:
    return [path for path in sorted((REPO / "recipes").glob("*.yaml")) if not load_recipe(path).recipe.model.heads]


def condgen_epoch(recipe: Path, out_dir: Path, settings: list[str]) -> tuple[int, float]:
    """(training images, seconds) of one epoch by condgen's trainer, timed by the trainer itself (compiling,
    when the full run would compile, counted apart as the trainer counts it)."""
    resolved = load_recipe(recipe, [*settings, "trainer.epochs=1", f"output.dir={out_dir}"])
    trainer = Trainer(build_parts(resolved), create_run_dir(out_dir, resolved.recipe.name), SilentReporter())
    history = trainer.fit()
    return len(trainer.train_split), history[-1]["train_seconds"]


def bare_epoch(recipe: Path, settings: list[str]) -> tuple[int, float]:
    """The same networks, data and optimiser, trained by a plain eager loop."""
    resolved = load_recipe(recipe, settings)
    settings = resolved.recipe.trainer
    torch.manual_seed(resolved.recipe.seed)
    composed = build_model(resolved)
    model, split = composed.model, composed.dataset.load("train")
    optimizer = make_optimizer(model.parameters(), settings.optimizer)
    order = torch.randperm(len(split))
    model.train()
    started = time.perf_counter()
    for index in order.split(settings.batch_size):
        x, c = split.batch(index)
        loss = model.losses(x, c).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return len(split), time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", type=Path, help="recipes to measure (default: every head-less one)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per recipe (median reported)")
    parser.add_argument("--limit", type=int, help="train on the first N images (default: the whole split)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="a recipe override for both loops (e.g. trainer.compile=on); repeatable")
    args = parser.parse_args(argv)
    limit = [f"data.limit={args.limit}"] if args.limit else []
    recipes = [path.resolve() for path in args.recipes] if args.recipes else headless_recipes()
    table = Table(title="one epoch per trainer, images/s (median over rounds)")
    for column in ("recipe", "threads", "condgen step", "condgen", "bare loop", "condgen/bare"):
        table.add_column(column, justify="left" if column == "recipe" else "right")
    ratios = []
    default_threads = torch.get_num_threads()  # a recipe's trainer.threads changes it for the process
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in recipes:
            torch.set_num_threads(default_threads)
            ours, bare = [], []
            settings = [*args.settings, *limit]
            compile_ = full_run_compile(recipe, args.settings)  # what the recipe's full run trains with
            for round_ in range(args.rounds):
                n, seconds = condgen_epoch(recipe, Path(tmp) / f"{recipe.stem}-{round_}", [*settings, compile_])
                ours.append(n / seconds)
                n, seconds = bare_epoch(recipe, settings)  # after the trainer: the same torch thread count
                bare.append(n / seconds)
            ratio = statistics.median(ours) / statistics.median(bare)
            ratios.append(ratio)
            step = f"{compile_}, {full_run_precision(recipe, args.settings)}"
            table.add_row(recipe.name, str(torch.get_num_threads()), step, f"{statistics.median(ours):,.0f}",
                          f"{statistics.median(bare):,.0f}", f"{ratio:.2f}")
    Console().print(table)
    print(f"lowest condgen/bare: {min(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
