"""Regenerate the README's results table: train and evaluate every recipe, measure what it cost.

For each recipe: ``condgen run`` in a child process (wall time and that
child's own peak RSS from ``os.wait4``), then ``condgen eval`` on the run,
then one table row: test -ELBO, NLL (with its K), conditional accuracy, FID,
train images/s, wall time, peak RSS. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/results.py [--recipes a.yaml b.yaml] [--readme]

``--readme`` rewrites the table between the ``results:start/end`` markers in
README.md. A full regeneration of every recipe takes about 70 minutes on the
2-core CPU machine (most of it the binarized VAE's 100 epochs and 5000-sample NLL).
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
# recipe -> extra arguments for `condgen eval`
RECIPES = {
    "recipes/mnist_cvae.yaml": [],
    "recipes/mnist_cvae_conv.yaml": [],
    "recipes/mnist_cvae_gan.yaml": [],
    "recipes/mnist_vae_binarized.yaml": ["--k", "5000", "--per-class", "100"],
    "recipes/mnist_morpho_cvae.yaml": [],
    "recipes/mnist_text_cvae.yaml": ["--k", "10"],
}
START, END = "<!-- results:start -->", "<!-- results:end -->"


def run_child(args: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, its peak RSS in MB). Fails loudly if it fails."""
    started = time.perf_counter()
    child = subprocess.Popen(args)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited with {child.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def measure(recipe: str, eval_args: list[str], out_dir: Path, overrides: list[str]) -> dict:
    condgen = [sys.executable, "-m", "condgen"]
    wall, rss = run_child([*condgen, "run", str(REPO / recipe), f"output.dir={out_dir}", *overrides])
    (run,) = out_dir.iterdir()
    eval_wall, _ = run_child([*condgen, "eval", str(run), *eval_args])
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    result = json.loads((run / "eval.json").read_text())
    return {
        "recipe": recipe,
        "epochs": len(history),
        "test_elbo": history[-1]["test_elbo"],
        "nll": result["nll"],
        "nll_k": result["nll_k"],
        "cond_accuracy": result["cond_accuracy"],
        "fid": result["fid"],
        # every epoch sees the same number of images, so the overall rate is the harmonic mean
        "images_per_s": len(history) / sum(1 / row["images_per_s"] for row in history),
        "wall_minutes": wall / 60,
        "eval_minutes": eval_wall / 60,
        "peak_rss_mb": rss,
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| recipe | epochs | test -ELBO | NLL (K) | cond. accuracy | FID | train img/s | train wall | eval wall | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        accuracy = "-" if r["cond_accuracy"] is None else f"{r['cond_accuracy']:.4f}"
        fid = "-" if r["fid"] is None else f"{r['fid']:.2f}"
        lines.append(
            f"| `{Path(r['recipe']).name}` | {r['epochs']} | {r['test_elbo']:.2f} | {r['nll']:.2f} ({r['nll_k']}) "
            f"| {accuracy} | {fid} | {r['images_per_s']:,.0f} | {r['wall_minutes']:.1f} min "
            f"| {r['eval_minutes']:.1f} min | {r['peak_rss_mb']:,.0f} MB |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), help="recipes to run (paths from the repo root)")
    parser.add_argument("--override", action="append", default=[], help="KEY=VALUE for every run (quick checks)")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's results table")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, recipe in enumerate(args.recipes):
            rows.append(measure(recipe, RECIPES.get(recipe, []), Path(tmp) / str(i), args.override))
            print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    table = markdown(rows)
    print(table)
    print(f"regenerated in {(time.perf_counter() - started) / 60:.1f} min")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if args.readme:
        readme = REPO / "README.md"
        text = readme.read_text()
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        readme.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
