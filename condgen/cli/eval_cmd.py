"""``condgen eval RUN [--k K] [--per-class N]``: the numbers that say how good a run is."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .app import cli, console, err_console


@cli.command("eval")
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--k", "k", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Importance samples per test image for the NLL; cost grows linearly with K.")
@click.option("--per-class", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Generated images per class for conditional accuracy and FID.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--particles", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="Posterior samples per test image for the averaged -ELBO.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Test images per batch (the NLL evaluates batch-size x K decoder rows in chunks).")
def eval_command(run_path: Path, k: int, per_class: int, seed: int, batch_size: int, particles: int) -> None:
    """Evaluate the last checkpoint of RUN; writes RUN/eval.json."""
    from ..engine.evaluate_run import EVAL_FILE, EvalSettings, evaluate_run

    settings = EvalSettings(k=k, per_class=per_class, seed=seed, batch_size=batch_size, particles=particles)
    with err_console.status("evaluating") as status:
        result = evaluate_run(run_path, settings, progress=lambda what: status.update(f"evaluating: {what}"))
    console.print(result_table(run_path, result))
    if result.get("likelihood_mask"):
        console.print("Likelihoods count only the entries the dataset's likelihood mask selects (the unobserved part).")
    if result.get("note"):
        console.print(f"Note: {result['note']}.")
    console.print(f"Wrote {run_path / EVAL_FILE} ({result['seconds']:.0f} s)")


ROWS = (
    ("test_elbo", "test -ELBO (nats)", "{:.2f}"),
    ("test_elbo_particles", "test -ELBO, particles (nats)", "{:.2f}"),
    ("nll", "NLL (nats)", "{:.2f}"),
    ("cond_accuracy", "conditional accuracy", "{:.4f}"),
    ("fid", "FID (metric-network features)", "{:.3f}"),
)


def result_table(run_path: Path, result: dict) -> Table:
    settings = result["settings"]
    table = Table(title=f"{run_path} (epoch {settings['checkpoint_epoch']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label, fmt in ROWS:
        value = result.get(key)
        if key == "nll":
            label = f"NLL, K={result['nll_k']} (nats)"
        if key == "test_elbo_particles":
            label = f"test -ELBO, {result['particles']} particles (nats)"
        table.add_row(label, "-" if value is None else fmt.format(value))
    return table
