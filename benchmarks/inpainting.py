"""Pyro's CVAE inpainting table, reproduced: MNIST with 1, 2 or 3 quadrants observed, baseline and CVAE.

The protocol, so that no choice looks at the test set:

1. **Selection on the validation split.** The recipes hold 5,000 of the 60,000 training images out
   (``data.validation``). Within every run the epoch is chosen on it: ``checkpoints/best.pt`` holds the
   weights of the epoch with the lowest validation -ELBO, and early stopping (patience 5) ends the run.
   The CVAE's latent size is chosen on it too: on one quadrant setting (``--select-on``, default 1, where
   the most is left to the latent), the CVAE is trained with the first seed once per candidate
   (``--latent``, default 32 and 200), and the candidate with the lowest validation -ELBO at its best
   epoch is used for every quadrant setting. (One setting, not each: each candidate costs a full training.)
2. **Seeds.** The chosen CVAE and the baseline are trained with seeds 0, 1 and 2 (``--seeds``; the
   selection's run is reused as its seed). Only these runs ever see the test set: ``condgen eval RUN
   --checkpoint best``.
3. **The table**: mean ± sample standard deviation over the seeds, per model and quadrant setting, of

   - Pyro's metric: the per-image -ELBO over the unobserved pixels, averaged over 10 posterior samples,
     grayscale targets with BCE;
   - the importance-weighted NLL over the same pixels with K importance samples (the baseline has no
     latent, so its -ELBO and NLL are exactly its BCE and it is evaluated with K = 1);

   beside Pyro's published figures (its CVAE tutorial notebook).

Every run lives in ``--out`` (one folder per model, quadrant setting, latent size and seed, with a log);
a rerun reuses finished runs and evaluations and resumes an interrupted run, so the command can be
stopped and rerun::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/inpainting.py [--jobs 2] [--out runs/inpainting-benchmark]

``--quick`` is a smoke test on 2,000 images and two epochs (numbers meaningless).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPES = {
    "baseline": ("recipes/mnist_inpaint_baseline.yaml", lambda q: [f"data.mask.observed={q}"]),
    "cvae": ("recipes/mnist_inpaint_q{q}.yaml", lambda q: []),
}
#: Pyro's CVAE tutorial notebook: the -ELBO over unobserved pixels, 10 particles (the NN: its masked BCE).
PYRO = {"baseline": {1: 100.4, 2: 61.9, 3: 25.4}, "cvae": {1: 71.8, 2: 51.0, 3: 24.2}}
LABELS = {"baseline": "NN baseline", "cvae": "CVAE"}


@dataclass(frozen=True)
class Setting:
    """One training run: a model on a quadrant setting, with a latent size (CVAE only) and a seed."""

    model: str
    quadrants: int
    seed: int
    latent: int | None = None
    extra: tuple[str, ...] = field(default=(), compare=False)

    @property
    def tag(self) -> str:
        latent = f"-z{self.latent}" if self.latent is not None else ""
        return f"{self.model}-q{self.quadrants}{latent}-s{self.seed}"

    def overrides(self) -> list[str]:
        recipe, overrides = RECIPES[self.model]
        latent = [f"model.encoder.latent_dim={self.latent}"] if self.latent is not None else []
        return [*overrides(self.quadrants), *latent, f"seed={self.seed}", *self.extra]

    @property
    def recipe(self) -> str:
        return RECIPES[self.model][0].format(q=self.quadrants)


def say(line: str) -> None:
    """One line, written at once: the worker threads' lines never run into each other."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def condgen(log: Path, *args: str) -> float:
    """Run ``python -m condgen ARGS`` in a child process, its output appended to ``log``; return its wall
    seconds. Fails loudly if it fails."""
    started = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as sink:
        done = subprocess.run([sys.executable, "-m", "condgen", *args], stdout=sink, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise SystemExit(f"condgen {args[0]} failed (exit {done.returncode}); its output: {log}")
    return time.perf_counter() - started


def run_folder(out: Path, setting: Setting) -> Path | None:
    runs = sorted((out / setting.tag).glob("*/run.json")) if (out / setting.tag).is_dir() else []
    return runs[-1].parent if runs else None


def train(out: Path, setting: Setting) -> Path:
    """Train a setting into ``out/TAG/``: reuse a finished run, resume an interrupted one."""
    run = run_folder(out, setting)
    if run is not None and json.loads((run / "run.json").read_text()).get("status") == "finished":
        return run
    say(f"training {setting.tag}")
    if run is not None:
        wall = condgen(out / f"{setting.tag}.log", "run", "--resume", str(run))
    else:
        log, recipe = out / f"{setting.tag}.log", str(REPO / setting.recipe)
        wall = condgen(log, "run", recipe, f"output.dir={out / setting.tag}", *setting.overrides())
    run = run_folder(out, setting)
    assert run is not None
    say(f"trained {setting.tag} in {wall:.0f} s")
    return run


def evaluate(run: Path, setting: Setting, k: int) -> dict:
    """``condgen eval RUN --checkpoint best``, reused when eval.json already describes that."""
    k = 1 if setting.model == "baseline" else k  # no latent: the NLL is the BCE whatever K
    path = run / "eval.json"
    if path.exists():
        result = json.loads(path.read_text())
        if result["settings"].get("checkpoint") == "best" and result.get("nll_k") == k:
            return result
    settings = ["--checkpoint", "best", "--k", str(k), "--particles", "10", "--per-class", "1"]
    condgen(run.parent.with_suffix(".log"), "eval", str(run), *settings)
    return json.loads(path.read_text())


def row(setting: Setting, run: Path, result: dict) -> dict:
    status = json.loads((run / "run.json").read_text())
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {
        **{"model": setting.model, "quadrants": setting.quadrants, "seed": setting.seed, "latent": setting.latent},
        "recipe": setting.recipe,
        "overrides": setting.overrides(),
        "epochs_trained": status["epoch"],
        "best_epoch": status["best_epoch"],
        "best_val_elbo": status["best_val_elbo"],
        "elbo_10": result["test_elbo_particles"],
        "nll": result["nll"],
        "nll_k": result["nll_k"],
        "train_seconds": sum(h["train_seconds"] for h in history),
        "run": str(run),
    }


def mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f} (1 seed)"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def selection_table(candidates: list[tuple[Setting, dict]], chosen: int) -> str:
    lines = ["| latent size | best epoch / epochs trained | validation -ELBO at the best epoch | chosen |",
             "|---|---|---|---|"]
    for setting, status in candidates:
        mark = "yes" if setting.latent == chosen else ""
        lines.append(f"| {setting.latent} | {status['best_epoch']} / {status['epoch']} | "
                     f"{status['best_val_elbo']:.2f} | {mark} |")
    return "\n".join(lines)


def results_table(rows: list[dict]) -> str:
    columns = sorted({r["quadrants"] for r in rows})
    head = "| nats per image, unobserved pixels | " + " | ".join(
        f"{q} quadrant{'s' if q > 1 else ''}" for q in columns) + " |"
    lines = [head, "|---|" + "---|" * len(columns)]

    def cells(model: str, key: str) -> str:
        found = [[r[key] for r in rows if r["model"] == model and r["quadrants"] == q] for q in columns]
        return " | ".join(mean_sd(values) if values else "-" for values in found)

    for model in ("baseline", "cvae"):
        if not any(r["model"] == model for r in rows):
            continue
        k = next(r["nll_k"] for r in rows if r["model"] == model)
        pyro = " | ".join(f"{PYRO[model][q]:.1f}" for q in columns)
        lines.append(f"| {LABELS[model]}, Pyro (tutorial notebook) | {pyro} |")
        lines.append(f"| {LABELS[model]}, condgen: -ELBO, 10 particles | {cells(model, 'elbo_10')} |")
        lines.append(f"| {LABELS[model]}, condgen: NLL, K = {k} | {cells(model, 'nll')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quadrants", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    parser.add_argument("--models", nargs="+", default=["baseline", "cvae"], choices=list(RECIPES))
    parser.add_argument("--latent", type=int, nargs="+", default=[32, 200],
                        help="the CVAE's candidate latent sizes, chosen between on the validation split")
    parser.add_argument("--select-on", type=int, default=1, choices=[1, 2, 3],
                        help="the quadrant setting on whose validation split the latent size is chosen")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="the final runs' seeds (the first one also trains the candidates)")
    parser.add_argument("--k", type=int, default=100,
                        help="importance samples for the CVAE's NLL (at least 100 for the table)")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once (each on trainer.threads=1)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "inpainting-benchmark",
                        help="where the runs live; a rerun reuses what is finished there")
    parser.add_argument("--quick", action="store_true",
                        help="2000 images, two epochs: checks the script, not the model")
    parser.add_argument("--json", type=Path, help="also write the rows and the selection here")
    args = parser.parse_args()
    if not os.environ.get("CONDGEN_DATA_DIR"):
        print("note: CONDGEN_DATA_DIR is not set; MNIST is looked for under ./data", file=sys.stderr)
    extra = ("data.base.limit=2000", "data.validation=500", "trainer.epochs=2") if args.quick else ()
    out = args.out / "quick" if args.quick else args.out
    first, *others = args.seeds
    pool = ThreadPoolExecutor(max_workers=args.jobs)

    # 1. the CVAE's latent size, chosen on one quadrant setting by the validation -ELBO of each candidate's best epoch
    candidates: list[tuple[Setting, dict]] = []
    chosen = args.latent[0]
    if "cvae" in args.models:
        settings = [Setting("cvae", args.select_on, first, z, extra) for z in args.latent]
        runs = list(pool.map(lambda s: train(out, s), settings))
        candidates = [(s, json.loads((run / "run.json").read_text())) for s, run in zip(settings, runs)]
        chosen = min(candidates, key=lambda pair: pair[1]["best_val_elbo"])[0].latent
        print(f"\nSelection on the validation split ({args.select_on} quadrant{'s' if args.select_on > 1 else ''}"
              f" observed, seed {first}):\n{selection_table(candidates, chosen)}\n", flush=True)

    # 2. every seed of the chosen CVAE and of the baseline, evaluated on the test set (best checkpoint)
    # one quadrant setting after the other, so that a stopped benchmark leaves whole settings behind
    latent = {"cvae": chosen, "baseline": None}
    models = [model for model in ("cvae", "baseline") if model in args.models]
    finals = [Setting(model, q, seed, latent[model], extra)
              for q in args.quadrants for model in models for seed in args.seeds]

    def train_and_evaluate(setting: Setting) -> dict:
        run = train(out, setting)
        result = row(setting, run, evaluate(run, setting, args.k))
        say(f"{setting.tag}: best epoch {result['best_epoch']}  -ELBO(10) {result['elbo_10']:.2f}  "
            f"NLL(K={result['nll_k']}) {result['nll']:.2f}")
        return result

    rows = list(pool.map(train_and_evaluate, finals))
    pool.shutdown()
    print()
    print(f"On the MNIST test set, best-by-validation checkpoints, mean ± sd over seeds {args.seeds}:")
    print(results_table(rows))
    if args.json:
        selection = {"quadrants": args.select_on, "seed": first, "chosen_latent": chosen, "candidates": [
            {"latent": s.latent, "best_epoch": st["best_epoch"], "epochs_trained": st["epoch"],
             "best_val_elbo": st["best_val_elbo"]} for s, st in candidates]}
        args.json.write_text(json.dumps({"selection": selection, "rows": rows}, indent=2))

if __name__ == "__main__":
    main()
