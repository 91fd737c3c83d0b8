"""Pyro's CVAE inpainting table, reproduced: MNIST with 1, 2 or 3 quadrants observed, baseline and CVAE.

For each of the six settings: ``condgen run`` in a child process (timed: each
must train in at most 10 minutes), then ``condgen eval`` on its run, then one
table row with

- Pyro's metric: the per-image -ELBO over the unobserved pixels, averaged over
  10 posterior samples, grayscale targets with BCE (the baseline has no latent,
  so its -ELBO is exactly its BCE over the unobserved pixels);
- the importance-weighted NLL over the same pixels (K importance samples).

Pyro's published figures (examples/cvae) are printed beside them. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/inpainting.py [--k 100] [--quadrants 1 2 3] [--json out.json]

Add ``--quick`` for a smoke test on 2000 images and one epoch (numbers meaningless).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT_S = 600
RECIPES = {
    "baseline": ("recipes/mnist_inpaint_baseline.yaml", lambda q: [f"data.mask.observed={q}"]),
    "cvae": ("recipes/mnist_inpaint_q{q}.yaml", lambda q: []),
}
#: Pyro's examples/cvae README: the -ELBO over unobserved pixels, 10 particles (the NN: its masked BCE).
PYRO = {"baseline": {1: 100.4, 2: 61.9, 3: 25.4}, "cvae": {1: 71.8, 2: 51.0, 3: 24.2}}


def run_child(args: list[str]) -> float:
    """Run a command; return its wall seconds. Fails loudly if it fails."""
    started = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - started


def measure(model: str, quadrants: int, out_dir: Path, k: int, extra: list[str]) -> dict:
    recipe, overrides = RECIPES[model]
    recipe = recipe.format(q=quadrants)
    condgen = [sys.executable, "-m", "condgen"]
    wall = run_child([*condgen, "run", str(REPO / recipe), f"output.dir={out_dir}", *overrides(quadrants), *extra])
    (run,) = out_dir.iterdir()
    run_child([*condgen, "eval", str(run), "--k", str(k), "--particles", "10", "--per-class", "1"])
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    result = json.loads((run / "eval.json").read_text())
    return {
        "model": model,
        "quadrants": quadrants,
        "recipe": recipe,
        "epochs": len(history),
        "elbo_10": result["test_elbo_particles"],
        "nll": result["nll"],
        "nll_k": result["nll_k"],
        "pyro": PYRO[model][quadrants],
        "train_wall_s": wall,
        "train_images_per_s": sum(h["images_per_s"] for h in history) / len(history),
        "run": str(run),
    }


def table(rows: list[dict]) -> str:
    columns = sorted({row["quadrants"] for row in rows})
    head = "| model | metric | " + " | ".join(f"{q} quadrant{'s' if q > 1 else ''}" for q in columns) + " |"
    lines = [head, "|---|---|" + "---|" * len(columns)]
    for model, label in (("baseline", "NN baseline"), ("cvae", "CVAE")):
        found = {row["quadrants"]: row for row in rows if row["model"] == model}
        if not found:
            continue
        cell = lambda q, key, fmt: fmt.format(found[q][key]) if q in found else "-"  # noqa: E731
        k = next(iter(found.values()))["nll_k"]
        lines.append(f"| {label} | Pyro (published), -ELBO 10 particles | "
                     + " | ".join(f"{PYRO[model][q]:.1f}" for q in columns) + " |")
        lines.append(f"| {label} | condgen, -ELBO 10 particles | " + " | ".join(cell(q, "elbo_10", "{:.1f}") for q in columns) + " |")
        lines.append(f"| {label} | condgen, NLL K={k} | " + " | ".join(cell(q, "nll", "{:.1f}") for q in columns) + " |")
        lines.append(f"| {label} | condgen, training wall time | "
                     + " | ".join(cell(q, "train_wall_s", "{:.0f} s") for q in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quadrants", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    parser.add_argument("--models", nargs="+", default=["baseline", "cvae"], choices=list(RECIPES))
    parser.add_argument("--k", type=int, default=100, help="importance samples for the NLL (at least 100 for the table)")
    parser.add_argument("--quick", action="store_true", help="2000 images, one epoch: checks the script, not the model")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    if not os.environ.get("CONDGEN_DATA_DIR"):
        print("note: CONDGEN_DATA_DIR is not set; MNIST is looked for under ./data", file=sys.stderr)
    extra = ["data.base.limit=2000", "trainer.epochs=1"] if args.quick else []
    rows = []
    with tempfile.TemporaryDirectory(prefix="condgen-inpainting-") as scratch:
        for quadrants in args.quadrants:
            for model in args.models:
                row = measure(model, quadrants, Path(scratch) / f"{model}-q{quadrants}", args.k, extra)
                rows.append(row)
                over = "  OVER THE 10-MINUTE LIMIT" if row["train_wall_s"] > LIMIT_S else ""
                print(f"{model} q{quadrants}: -ELBO(10) {row['elbo_10']:.2f}  NLL(K={row['nll_k']}) {row['nll']:.2f}  "
                      f"(Pyro {row['pyro']})  trained in {row['train_wall_s']:.0f} s{over}", flush=True)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
