"""``condgen eval RUN [--k K] [--per-class N]``: the numbers that say how good a run is."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .app import PATH, SEED, allow_plugins_option, cli, console, err_console


@cli.command("eval")
@click.argument("run_path", metavar="RUN", type=PATH)
@click.option("--k", "k", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Importance samples per test image for the NLL; cost grows linearly with K.")
@click.option("--per-class", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Generated images per class for conditional accuracy and FID.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--particles", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="Posterior samples per test image for the averaged -ELBO.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Test images per batch (the NLL evaluates batch-size x K decoder rows in chunks).")
@allow_plugins_option
@click.option("--train-metric/--no-train-metric", default=True, show_default=True,
              help="For a labelled dataset that ships no metric network, train (once, cached) a small classifier "
              "on its training split for conditional accuracy and FID.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default=None,
              help="Which weights: best (by the validation score) or last [default: best when the run has one].")
def eval_command(
    run_path: Path, k: int, per_class: int, seed: int, batch_size: int, particles: int, allow_plugins: bool,
    train_metric: bool, checkpoint: str | None,
) -> None:
    """Evaluate a checkpoint of RUN (best when it has one, else the last); writes RUN/eval.json."""
    from ..engine.evaluate_run import EVAL_FILE, EvalSettings, evaluate_run

    settings = EvalSettings(
        k=k, per_class=per_class, seed=seed, batch_size=batch_size, particles=particles, train_metric=train_metric
    )
    with err_console.status("evaluating") as status:
        result = evaluate_run(
            run_path, settings, progress=lambda what: status.update(f"evaluating: {what}"),
            allow_plugins=allow_plugins, checkpoint=checkpoint,
        )
    console.print(result_table(run_path, result))
    for table in control_tables(result):
        console.print(table)
    if result.get("likelihood_mask"):
        console.print("Likelihoods count only the entries the dataset's likelihood mask selects (the unobserved part).")
    if result["settings"].get("weights") == "ema":
        console.print("Evaluated the moving average of the weights (trainer.ema).")
    if result.get("note"):
        console.print(f"Note: {result['note']}.")
    console.print(f"Wrote {run_path / EVAL_FILE} ({result['seconds']:.0f} s)")


ROWS = (
    ("test_elbo", "test -ELBO (nats)", "{:.2f}"),
    ("test_elbo_particles", "test -ELBO, particles (nats)", "{:.2f}"),
    ("nll", "NLL (nats)", "{:.2f}"),
    ("nll_bits_per_dim", "NLL (bits per dimension)", "{:.4f}"),
    ("cond_accuracy", "conditional accuracy", "{:.4f}"),
    ("fid", "FID (metric-network features)", "{:.3f}"),
)


def result_table(run_path: Path, result: dict) -> Table:
    settings = result["settings"]
    which = settings.get("checkpoint", "last")
    table = Table(title=f"{run_path} ({which} checkpoint, epoch {settings['checkpoint_epoch']})")
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


def control_tables(result: dict) -> list[Table]:
    """One table per ``*_control`` entry a dataset contributed (``attribute_control``: one row per attribute)."""
    tables = []
    for key, entries in result.items():
        if not key.endswith("_control") or not isinstance(entries, dict):
            continue
        entries = {name: values for name, values in entries.items() if isinstance(values, dict)}
        if not entries:
            continue
        columns = [name for name, value in next(iter(entries.values())).items()
                   if isinstance(value, (int, float)) and not isinstance(value, bool)]
        def cell(name: str, column: str) -> str:
            value = entries[name].get(column)
            return "-" if value is None else f"{value:.4g}"

        table = Table(title=key)
        table.add_column("")
        if len(columns) > len(entries):  # metrics as rows: a terminal (or a pipe, 80 columns) shows every header whole
            for name in entries:
                table.add_column(name, justify="right")
            for column in columns:
                table.add_row(column, *(cell(name, column) for name in entries))
        else:
            for column in columns:
                table.add_column(column, justify="right")
            for name in entries:
                table.add_row(name, *(cell(name, column) for column in columns))
        tables.append(table)
    return tables
