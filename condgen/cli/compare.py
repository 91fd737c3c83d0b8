"""``condgen compare RUN RUN ...``: runs side by side, and their training curves as a PNG.

Runs are told apart by the shortest end of their paths that differs (two
seeds run into two folders can share a folder name) and by the recipe keys
whose values differ, so the table says what changed as well as what came out.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml
from rich.table import Table

from ..errors import UserError
from .app import cli, console

MAX_DIFFERENCES = 12
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
    runs = tuple(dict.fromkeys(runs))  # the same run named twice is one column
    histories = {run: read_history(run) for run in runs}
    evals = {run: read_eval(run) for run in runs}
    labels = run_labels(runs)
    table = Table(title="condgen runs")
    table.add_column("", overflow="fold")
    for run in runs:
        table.add_column(labels[run], justify="right", overflow="fold")
    differences = recipe_differences({run: read_recipe(run) for run in runs})
    for key, values in differences[:MAX_DIFFERENCES]:
        table.add_row(key, *values, style="cyan")
    if len(differences) > MAX_DIFFERENCES:
        table.add_row(f"(+{len(differences) - MAX_DIFFERENCES} more recipe keys differ)", *("" for _ in runs))
    if differences:
        table.add_section()
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
    plot_curves(histories, labels, output)
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


def read_recipe(run: Path) -> dict:
    """The resolved recipe a run folder keeps; an empty one where it is missing (it then differs in every key)."""
    path = run / "recipe.yaml"
    if not path.is_file():
        return {}
    try:
        recipe = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise UserError(f"{str(path)!r} is not valid YAML: {error}.") from None
    return recipe if isinstance(recipe, dict) else {}


def run_labels(runs: tuple[Path, ...]) -> dict[Path, str]:
    """For each run, the shortest end of its path that no other run shares."""
    parts = {run: run.resolve().parts for run in runs}
    for depth in range(1, max(len(p) for p in parts.values()) + 1):
        labels = {run: "/".join(p[-depth:]) for run, p in parts.items()}
        if len(set(labels.values())) == len(runs):
            return labels
    return {run: str(run) for run in runs}


def recipe_differences(recipes: dict[Path, dict]) -> list[tuple[str, list[str]]]:
    """``(dotted key, each run's value)`` for every recipe key whose value is not the same in all runs."""
    flat = {run: dict(_flatten(recipe)) for run, recipe in recipes.items()}
    keys = dict.fromkeys(key for values in flat.values() for key in values)
    differences = []
    for key in keys:
        values = [flat[run].get(key, _MISSING) for run in recipes]
        if any(value != values[0] for value in values[1:]):
            differences.append((key, ["-" if value is _MISSING else _show(value) for value in values]))
    return differences


_MISSING = object()


def _flatten(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _show(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


def curve_keys(histories: dict[Path, list[dict]]) -> list[str]:
    """Every loss-like column any run logged: train_* and test_* numbers (per-network losses included)."""
    keys: dict[str, None] = {}
    for rows in histories.values():
        for key, value in rows[-1].items():
            if key.startswith(("train_", "test_")) and key != "train_seconds" and isinstance(value, (int, float)):
                keys[key] = None
    return list(keys)


def plot_curves(histories: dict[Path, list[dict]], labels: dict[Path, str], output: Path) -> None:
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
                axis.plot(*zip(*points), marker=".", label=labels[run])
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
