"""Training throughput of the seed recipe: condgen vs. bare PyTorch loops, in one process.

The same model (seed CVAE: 794-512-2x2 encoder, 12-512-784 Bernoulli decoder,
Adam 1e-3, batch 50) on the same MNIST training split, one epoch each:

- ``condgen``: the trainer ``condgen run`` uses with its defaults, built from
  the recipe and timed from outside around ``fit()`` for one whole epoch, so
  its per-epoch work (test -ELBO, the sample grid, the checkpoint) counts
  against it; the ``train loop`` row is the trainer's own clock around its
  steps (compiling, when the defaults compile, counted apart);
- ``bare eager``: the same networks written in plain torch, data held as one
  uint8 tensor and gathered by index, ``torch.optim.Adam`` with its defaults;
- ``bare compiled + fused``: that loop with the loss (forward and backward)
  under ``torch.compile`` and ``Adam(fused=True)``; compiling happens before
  its clock starts;
- ``bare compiled + fused + bf16``: that loop with the loss also under
  ``torch.autocast(dtype=torch.bfloat16)``, as condgen's ``trainer.precision:
  auto`` runs on a CPU with native bfloat16: the best a hand-written loop gets
  from torch here;
- ``DataLoader + ToTensor`` (``--dataloader``): the usual torchvision pipeline.

The rounds alternate the loops so drift in machine load hits all of them.
Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/throughput.py [--rounds 2] [--threads 2] [--limit N] [--json out.json]

The last two lines are ``condgen/bare-eager: R1`` and ``condgen/bare-best: R2``:
condgen's train loop against the bare eager loop and against the fastest bare
loop (the line before them: against the compiled float32 loop), medians over rounds, measured in the same process (so more robust to
other load than the images/s).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from torch import nn

from condgen.compat import torchvision
from condgen.data import resolve_data_root
from condgen.engine.compiled import convolutional, wants_compile
from condgen.engine.distributed import SINGLE, resolve_device
from condgen.engine.precision import autocast_dtype, precision_name
from condgen.engine.progress import SilentReporter
from condgen.engine.run_dir import create_run_dir
from condgen.engine.trainer import Trainer, build_parts
from condgen.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "mnist_cvae.yaml"


class BareCVAE(nn.Module):
    """The seed model written out by hand: what a user would write without condgen."""

    def __init__(self, hidden: int = 512, latent: int = 2, classes: int = 10) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784 + classes, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent + classes, hidden), nn.ReLU(), nn.Linear(hidden, 784))

    def loss(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        mu, log_var = self.encoder(torch.cat([x, c], 1)).chunk(2, 1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)
        logits = self.decoder(torch.cat([z, c], 1))
        reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(1)
        return (reconstruction + kl).mean()


def bare_epoch(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int, best: bool = False, bf16: bool = False
) -> float:
    """One epoch on tensor-resident data; returns seconds. ``best``: compiled loss and fused Adam; ``bf16``:
    the loss under bfloat16 autocast as well."""
    torch.manual_seed(seed)
    model = BareCVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if best else None)
    loss_of = torch.compile(model.loss) if best else model.loss
    onehot = F.one_hot(labels, 10).float()
    order = torch.randperm(len(images))

    def step(index: torch.Tensor) -> None:
        x = images[index].float().div_(255)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of(x, onehot[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    if best:  # compile outside the clock (a short last batch would compile once more: 60,000 / 50 has none)
        step(order[:batch_size])
    started = time.perf_counter()
    for start in range(0, len(images), batch_size):
        step(order[start : start + batch_size])
    return time.perf_counter() - started


def dataloader_epoch(root: Path, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = BareCVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    dataset = torchvision.datasets.MNIST(str(root), train=True, transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0)
    started = time.perf_counter()
    for x, y in loader:
        loss = model.loss(x, F.one_hot(y, 10).float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def full_run_compile(recipe: Path, overrides: list[str]) -> str:
    """``trainer.compile`` as the full recipe's run decides it (``auto`` looks at the steps a run plans, and
    a one-epoch measurement plans few): the override that makes a short measurement train the same step."""
    resolved = load_recipe(recipe, overrides)
    settings = resolved.recipe.trainer
    if settings.compile != "auto":
        return f"trainer.compile={settings.compile}"
    parts = build_parts(resolved)
    planned = settings.epochs * math.ceil(len(parts.train_split) / settings.batch_size)
    wanted = wants_compile("auto", parts.device, planned, bool(parts.heads), convolutional(parts.model))
    return f"trainer.compile={'on' if wanted else 'off'}"


def full_run_precision(recipe: Path, overrides: list[str]) -> str:
    """``trainer.precision`` as the trainer resolves it here (``auto``: bf16 on a CPU with native bfloat16),
    for the printed figures to say what condgen's step ran in."""
    resolved = load_recipe(recipe, overrides)
    device = resolve_device(resolved.recipe.trainer.device, SINGLE)
    return f"trainer.precision={precision_name(autocast_dtype(resolved.recipe.trainer.precision, device))}"


def condgen_epoch(out_dir: Path, seed: int, threads: int, limit: int | None, compile_: str) -> tuple[float, float]:
    """One epoch of ``condgen run``'s trainer; returns (wall seconds, the trainer's own train-loop seconds).

    Building the trainer (recipe, plugins, reading the IDX files) happens before
    the clock starts, as the bare loops get their data and model for free too.
    """
    settings = ["trainer.epochs=1", f"seed={seed}", f"output.dir={out_dir}", f"trainer.threads={threads}", compile_]
    if limit:
        settings.append(f"data.limit={limit}")
    resolved = load_recipe(RECIPE, settings)
    trainer = Trainer(build_parts(resolved), create_run_dir(out_dir, resolved.recipe.name), SilentReporter())
    started = time.perf_counter()
    history = trainer.fit()
    return time.perf_counter() - started, history[-1]["train_seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the loops (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for every loop")
    parser.add_argument("--limit", type=int, help="train on the first N images (default: all 60,000)")
    parser.add_argument("--dataloader", action="store_true", help="also time torchvision's DataLoader pipeline")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    compile_ = full_run_compile(RECIPE, [f"trainer.threads={args.threads}"])  # the 20-epoch run's decision

    root = resolve_data_root(None)
    train = torchvision.datasets.MNIST(str(root), train=True)
    images, labels = train.data.unsqueeze(1).contiguous()[: args.limit], train.targets[: args.limit]
    n, batch_size = len(images), 50
    rows: dict[str, list[float]] = {
        "condgen": [], "condgen train loop": [], "bare eager": [], "bare compiled + fused": [],
        "bare compiled + fused + bf16": [],
    }
    if args.dataloader:
        rows["DataLoader + ToTensor"] = []
    bare_epoch(images[:2000], labels[:2000], batch_size, 0)  # warm up the allocator and kernels
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            wall, loop = condgen_epoch(Path(tmp) / f"round{round_}", round_, args.threads, args.limit, compile_)
            rows["condgen"].append(n / wall)
            rows["condgen train loop"].append(n / loop)
            rows["bare eager"].append(n / bare_epoch(images, labels, batch_size, round_))
            rows["bare compiled + fused"].append(n / bare_epoch(images, labels, batch_size, round_, best=True))
            bf16 = bare_epoch(images, labels, batch_size, round_, best=True, bf16=True)
            rows["bare compiled + fused + bf16"].append(n / bf16)
            if args.dataloader:
                rows["DataLoader + ToTensor"].append(n / dataloader_epoch(root, batch_size, round_))

    median = {name: statistics.median(values) for name, values in rows.items()}
    bare = median["bare eager"]
    table = Table(title=f"seed CVAE, one epoch of {n:,} images, batch {batch_size}, {torch.get_num_threads()} threads")
    table.add_column("trainer")
    table.add_column("images/s (median)", justify="right")
    table.add_column("per round", justify="right")
    table.add_column("vs bare eager", justify="right")
    notes = {
        "condgen": "whole epoch incl. test -ELBO, sample grid, checkpoint",
        "condgen train loop": "the trainer's own timer, training steps only",
    }
    for name, value in median.items():
        label = f"{name}\n[dim]{notes[name]}[/]" if name in notes else name
        table.add_row(label, f"{value:,.0f}", ", ".join(f"{v:,.0f}" for v in rows[name]), f"{value / bare:.2f}")
    Console().print(table)
    eager_ratio = median["condgen train loop"] / bare  # training steps against training steps
    best_ratio = median["condgen train loop"] / max(median[name] for name in rows if name.startswith("bare"))
    compiled_ratio = median["condgen train loop"] / median["bare compiled + fused"]
    if args.json:
        figures = {"images_per_s": median, "rounds": rows, "condgen_over_bare_eager": eager_ratio,
                   "condgen_over_bare_best": best_ratio, "condgen_over_bare_compiled_fp32": compiled_ratio,
                   "threads": args.threads}
        args.json.write_text(json.dumps(figures, indent=2))
    print(f"condgen with {compile_}, {full_run_precision(RECIPE, [])}")
    print(f"condgen/bare-compiled-fp32: {compiled_ratio:.2f}")
    print(f"condgen/bare-eager: {eager_ratio:.2f}")
    print(f"condgen/bare-best: {best_ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
