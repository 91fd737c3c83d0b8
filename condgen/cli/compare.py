"""``condgen compare RUN RUN ...``: runs side by side, and their training curves as a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from ..errors import UserError
from . import cli, console

ROWS = (
    ("test_elbo", "test -ELBO", "{:.2f}"),
    ("nll", "NLL", "{:.2f}"),
    ("nll_k", "NLL's K", "{}"),
    ("cond_accuracy", "cond. accuracy", "{:.4f}"),
    ("fid", "FID", "{:.3f}"),
)


@cli.command("compare")
@click.argument("runs", metavar="RUN...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("compare.png"), show_default=True,
              help="PNG of the training curves.")
def compare_command(runs: tuple[Path, ...], output: Path) -> None:
    """Compare runs' eval.json side by side and plot their metrics.jsonl curves."""
    histories = {run: read_history(run) for run in runs}
    evals = {run: read_eval(run) for run in runs}
    table = Table(title="condgen runs")
    table.add_column("")
    for run in runs:
        table.add_column(run.name, justify="right")
    table.add_row("epochs", *(str(len(histories[run])) for run in runs))
    for key, label, fmt in ROWS:
        cells = []
        for run in runs:
            value = (evals[run] or {}).get(key)
            cells.append("-" if value is None else fmt.format(value))
        table.add_row(label, *cells)
    table.add_row("train images/s", *(f"{histories[run][-1].get('images_per_s', 0):,.0f}" for run in runs))
    console.print(table)
    missing = [str(run) for run in runs if evals[run] is None]
    if missing:
        console.print(f"Not evaluated yet (run condgen eval on them): {', '.join(missing)}")
    plot_curves(histories, output)
    console.print(f"Training curves: {output}")


def read_history(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    if not path.is_file():
        raise UserError(f"{str(run)!r} is not a run folder with metrics (no metrics.jsonl).")
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except ValueError as error:
        raise UserError(f"{str(path)!r} is not valid JSON lines: {error}.") from None
    if not rows:
        raise UserError(f"{str(run)!r} has no finished epoch yet.")
    return rows


def read_eval(run: Path) -> dict | None:
    path = run / "eval.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise UserError(f"{str(path)!r} is not valid JSON: {error}.") from None


def curve_keys(histories: dict[Path, list[dict]]) -> list[str]:
    """Every loss-like column any run logged: train_* and test_* numbers (per-network losses included)."""
    keys: dict[str, None] = {}
    for rows in histories.values():
        for key, value in rows[-1].items():
            if key.startswith(("train_", "test_")) and key != "train_seconds" and isinstance(value, (int, float)):
                keys[key] = None
    return list(keys)


def plot_curves(histories: dict[Path, list[dict]], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..engine.atomic import atomic_path

    keys = curve_keys(histories)
    columns = min(3, len(keys))
    rows = -(-len(keys) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.2 * rows), squeeze=False)
    for axis, key in zip(axes.flat, keys):
        for run, history in histories.items():
            points = [(row["epoch"], row[key]) for row in history if key in row]
            if points:
                axis.plot(*zip(*points), marker=".", label=run.name)
        axis.set_title(key)
        axis.set_xlabel("epoch")
    for axis in list(axes.flat)[len(keys):]:
        axis.set_visible(False)
    axes.flat[0].legend(fontsize="small")
    figure.tight_layout()
    if output.parent and not output.parent.is_dir():
        raise UserError(f"The folder for {str(output)!r} does not exist.")
    with atomic_path(output) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
