"""Training throughput on CPU: one process against ``condgen run --nproc 2``.

The seed recipe (``recipes/mnist_cvae.yaml``, global batch 50) for one epoch,
each configuration a fresh ``condgen run`` subprocess, with the machine's
cores shared out so no configuration uses more than the others:

- ``1 process x C threads``: the ordinary run with every core;
- ``1 process x C/2 threads``: what one rank of the 2-process run gets;
- ``2 processes x C/2 threads``: DDP over gloo on loopback, 25 rows per rank per step.

images/s is the run's own ``images_per_s`` (global examples over the
training-loop clock: steps, gradient all-reduce and the per-step loss
all-reduce; not start-up, test -ELBO, samples or checkpoints); wall is the
whole command, start-up and process launch included. The rounds alternate
the configurations so drifting machine load hits all of them. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/distributed.py [--rounds 3] [--limit N] [--json out.json]

Do not quote figures taken while other work shares the CPU. The last line is
``2 processes / 1 process: R`` (medians, against the all-cores single process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "mnist_cvae.yaml"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def one_run(out: Path, nproc: int, threads: int, limit: int | None) -> tuple[float, float]:
    """(train images/s from metrics.jsonl, wall seconds of the whole command)."""
    command = [sys.executable, "-m", "condgen", "run", str(RECIPE), "trainer.epochs=1", f"trainer.threads={threads}",
               f"output.dir={out}"]
    if limit:
        command.append(f"data.limit={limit}")
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    (run,) = out.iterdir()
    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    return row["images_per_s"], wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median reported)")
    parser.add_argument("--limit", type=int, help="train on the first N images (default: all 60,000)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    c = cores()
    half = max(1, c // 2)
    configs = {
        f"1 process x {c} threads": (1, c),
        f"1 process x {half} threads": (1, half),
        f"2 processes x {half} threads": (2, half),
    }
    ips: dict[str, list[float]] = {name: [] for name in configs}
    walls: dict[str, list[float]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for i, (name, (nproc, threads)) in enumerate(configs.items()):
                value, wall = one_run(Path(tmp) / f"r{round_}-{i}", nproc, threads, args.limit)
                ips[name].append(value)
                walls[name].append(wall)

    median = {name: statistics.median(values) for name, values in ips.items()}
    base = median[next(iter(configs))]
    images = f"{args.limit:,}" if args.limit else "60,000"
    table = Table(title=f"seed CVAE on CPU, one epoch of {images} images, global batch 50, {c} cores")
    table.add_column("configuration")
    table.add_column("train images/s (median)", justify="right")
    table.add_column("per round", justify="right")
    table.add_column("wall s (median)", justify="right")
    table.add_column("vs 1 process", justify="right")
    for name in configs:
        table.add_row(
            name,
            f"{median[name]:,.0f}",
            ", ".join(f"{v:,.0f}" for v in ips[name]),
            f"{statistics.median(walls[name]):.1f}",
            f"{median[name] / base:.2f}",
        )
    Console().print(table)
    ratio = median[f"2 processes x {half} threads"] / base
    if args.json:
        figures = {"images_per_s": median, "rounds": ips, "wall_s": walls, "ratio": ratio}
        args.json.write_text(json.dumps(figures, indent=2))
    print(f"2 processes / 1 process: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
