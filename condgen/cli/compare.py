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
from rich.cells import cell_len
from rich.table import Table

from ..errors import UserError
from .app import PATH, cli, console

MAX_DIFFERENCES = 12
#: a table row: its name, a cell per run, its rich style
Row = tuple[str, list[str], "str | None"]
ROWS = (
    ("test_elbo", "test -ELBO", "{:.2f}"),
    ("nll", "NLL", "{:.2f}"),
    ("nll_k", "NLL's K", "{}"),
    ("cond_accuracy", "cond. accuracy", "{:.4f}"),
    ("fid", "FID", "{:.3f}"),
)


@cli.command("compare")
@click.argument("runs", metavar="RUN...", nargs=-1, required=True, type=PATH)
@click.option("-o", "--output", type=PATH, default=Path("compare.png"), show_default=True,
              help="PNG of the training curves.")
def compare_command(runs: tuple[Path, ...], output: Path) -> None:
    """Compare runs' eval.json side by side and plot their metrics.jsonl curves."""
    runs = tuple(dict.fromkeys(runs))  # the same run named twice is one column
    histories = {run: read_history(run) for run in runs}
    evals = {run: read_eval(run) for run in runs}
    differences = recipe_differences({run: read_recipe(run) for run in runs})
    rows: list[Row | None] = [(key, values, "cyan") for key, values in differences[:MAX_DIFFERENCES]]
    if len(differences) > MAX_DIFFERENCES:
        rows.append((f"(+{len(differences) - MAX_DIFFERENCES} more recipe keys differ)", ["" for _ in runs], None))
    if differences:
        rows.append(None)  # a rule between what differs and what came out
    rows.append(("epochs", [str(len(histories[run])) for run in runs], None))
    from_metrics = False
    for key, label, fmt in ROWS:
        cells = []
        for run in runs:
            value = (evals[run] or {}).get(key)
            if value is None and key == "test_elbo" and histories[run][-1].get("test_elbo") is not None:
                value, from_metrics = histories[run][-1]["test_elbo"], True
                cells.append(fmt.format(value) + "*")
            else:
                cells.append("-" if value is None else fmt.format(value))
        rows.append((label, cells, None))
    rows.append(("train images/s", [f"{histories[run][-1].get('images_per_s', 0):,.0f}" for run in runs], None))
    labels = run_labels(runs)
    for table in run_tables(runs, labels, rows, console.width):
        console.print(table)
    missing = [str(run) for run in runs if evals[run] is None]
    if from_metrics:
        console.print("* test -ELBO after the last epoch, from metrics.jsonl (the run has no eval.json).")
    if missing:
        console.print(f"Not evaluated yet (condgen eval gives NLL, accuracy and FID): {', '.join(missing)}")
    plot_curves(histories, legend_labels(runs, differences, labels), output)
    console.print(f"Training curves: {output}")


def run_tables(
    runs: tuple[Path, ...], labels: dict[Path, str], rows: list[Row | None], width: int
) -> list[Table]:
    """The comparison as tables no wider than ``width``, without breaking a word.

    Columns are as wide as their longest cell. When the runs' own labels make the table too wide they become
    ``#1``, ``#2``... (listed under the table); when that is still too wide, the runs are split over several
    tables, each with the row names.
    """
    shown = [row for row in rows if row is not None]
    key_width = max(cell_len(key) for key, _, _ in shown)
    cells = [[values[i] for _, values, _ in shown] for i in range(len(runs))]

    def column_widths(headers: list[str]) -> list[int]:
        return [max(cell_len(h), *(cell_len(c) for c in column)) for h, column in zip(headers, cells)]

    headers = [labels[run] for run in runs]
    if _table_width(key_width, column_widths(headers)) > width:
        headers = [f"#{i + 1}" for i in range(len(runs))]
    widths = column_widths(headers)
    for count in range(1, len(runs) + 1):  # the fewest tables, with the runs spread evenly over them
        size = -(-len(runs) // count)
        groups = [list(range(start, min(start + size, len(runs)))) for start in range(0, len(runs), size)]
        if all(_table_width(key_width, [widths[i] for i in group]) <= width for group in groups):
            break
    tables = []
    for group in groups:
        table = Table(title="condgen runs" if not tables else None)
        table.add_column("", no_wrap=True)
        for index in group:
            table.add_column(headers[index], justify="right", no_wrap=True, overflow="ellipsis")
        for row in rows:
            if row is None:
                table.add_section()
                continue
            key, values, style = row
            table.add_row(key, *(values[i] for i in group), style=style)
        tables.append(table)
    if headers[0] == "#1":
        listing = Table.grid(padding=(0, 1))
        for index, run in enumerate(runs):
            listing.add_row(f"#{index + 1}", labels[run])
        tables.append(listing)
    return tables


def _table_width(key_width: int, widths: list[int]) -> int:
    """A rich table's width: each column's cells plus one space either side, and a border between and around."""
    return sum(w + 2 for w in [key_width, *widths]) + len(widths) + 2


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


def legend_labels(
    runs: tuple[Path, ...], differences: list[tuple[str, list[str]]], labels: dict[Path, str]
) -> dict[Path, str]:
    """What tells the runs apart, for a legend.

    Recipe names, when they tell every run apart; else, for two runs, the values of the keys that differ
    (``seed=1``); else one key that tells every run apart; else the values in which each run departs from the
    most common ones (a run that departs nowhere: ``common settings``). Runs the recipe cannot tell apart keep
    their path labels.
    """
    if not differences:
        return {run: labels[run] for run in runs}
    apart = [d for d in differences if len(set(d[1])) == len(runs)]
    named = [d for d in apart if d[0] == "name"]
    telling = named or (differences if len(runs) == 2 else apart[:1])
    if telling:
        shown = {run: [(key, values[i]) for key, values in telling] for i, run in enumerate(runs)}
    else:
        common = {key: max(values, key=values.count) for key, values in differences}  # ties: the first run's
        shown = {
            run: [(key, values[i]) for key, values in differences if values[i] != common[key]]
            for i, run in enumerate(runs)
        }
    texts = {run: _pairs(pairs) for run, pairs in shown.items()}
    counts = {text: list(texts.values()).count(text) for text in texts.values()}
    return {run: text if counts[text] == 1 else f"{text} ({labels[run]})" for run, text in texts.items()}


def _pairs(pairs: list[tuple[str, str]], most: int = 3) -> str:
    if not pairs:
        return "common settings"
    text = ", ".join(value if key == "name" else f"{key}={value}" for key, value in pairs[:most])
    return text + (", ..." if len(pairs) > most else "")


def plot_curves(histories: dict[Path, list[dict]], labels: dict[Path, str], output: Path) -> None:
    from ..engine.atomic import atomic_path

    if output.parent and not output.parent.is_dir():
        raise UserError(f"The folder for {str(output)!r} does not exist.")
    figure = curve_figure(histories, labels)
    with atomic_path(output) as tmp:
        figure.savefig(tmp, format="png", dpi=100)


def curve_figure(histories: dict[Path, list[dict]], labels: dict[Path, str]):
    """A panel per logged loss, a line per run, one legend under the panels (a matplotlib Figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    keys = curve_keys(histories)
    columns = min(3, len(keys))
    rows = -(-len(keys) // columns)
    legend_columns = min(3, len(histories))
    legend_inches = 0.3 * -(-len(histories) // legend_columns) + 0.2
    height = 3.2 * rows + legend_inches
    figure = Figure(figsize=(4.5 * columns, height))
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis, key in zip(axes.flat, keys):
        for run, history in histories.items():
            points = [(row["epoch"], row[key]) for row in history if key in row]
            if points:
                axis.plot(*zip(*points), marker=".", label=labels[run])
        axis.set_title(key)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    for axis in list(axes.flat)[len(keys):]:
        axis.set_visible(False)
    # One legend for every panel, under them, so it never covers a curve.
    handles, names = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="lower center", ncol=legend_columns, fontsize="small", frameon=False)
    figure.tight_layout(rect=(0, legend_inches / height, 1, 1))
    return figure
