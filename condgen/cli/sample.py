"""``condgen sample RUN --label 7 [--attr thickness=4] [--sweep slant=-0.5:0.5:8] -n 64 -o grid.png``: a PNG grid."""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import UserError
from .app import PATH, SEED, allow_plugins_option, cli, console, plural

if TYPE_CHECKING:
    import torch

MAX_SWEEP_STEPS = 64


@cli.command()
@click.argument("run_path", metavar="RUN", type=PATH)
@click.option("--label", "label_text", multiple=True, help="Class to condition on, by index or by name (repeatable).")
@click.option("--text", "texts", multiple=True, help="A text prompt (repeatable: one row per prompt) for text runs.")
@click.option("--attr", "attrs", multiple=True, metavar="NAME=VALUE",
              help="An attribute of the condition in natural units, e.g. thickness=4 (repeatable); "
              "the others take the training median.")
@click.option("--sweep", metavar="NAME=LO:HI:STEPS",
              help=f"Columns sweep one attribute from LO to HI in STEPS (2-{MAX_SWEEP_STEPS}) values; rows are the "
              "labels (--label, else every class), each row keeping one latent. Ignores -n.")
@click.option("-n", "count", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="Images per label or prompt: of each --label or --text, or without them of every row of the "
              "preview (one per class).")
@click.option("-o", "--output", type=PATH, help="PNG to write [default: RUN/samples/...].")
@click.option("--seed", type=SEED, default=0, show_default=True)
@allow_plugins_option
def sample(
    run_path: Path, label_text: tuple[str, ...], texts: tuple[str, ...], attrs: tuple[str, ...], sweep: str | None,
    count: int, output: Path | None, seed: int, allow_plugins: bool,
) -> None:
    """Generate images from the last checkpoint of RUN.

    One --label (or --text prompt): its N images in a square grid. Several: a row of N per label (or prompt).
    None: the preview grid, a row of N per class (per example for datasets without labels).
    """
    import torch

    from ..conditions import ConditionRequest, conditions_for
    from ..engine.images import save_grid
    from ..engine.loaded_run import load_run

    attributes = parse_attributes(attrs)
    swept = parse_sweep(sweep, attributes) if sweep else None
    loaded = load_run(run_path, allow_plugins=allow_plugins)
    run, model, dataset = loaded.run, loaded.model, loaded.dataset
    label = tuple(label_ids(dataset, label_text).tolist())
    notes: list[str] = []
    if swept is None:
        rows = label or texts
        per_row = math.ceil(math.sqrt(count)) if len(rows) == 1 else count
        request = ConditionRequest(labels=label, attributes=attributes, text=texts, copies=count)
        batch = conditions_for(dataset, request)
        notes += batch.notes
        torch.manual_seed(seed)
        images = model.sample(batch.conditions)
    else:
        name, values = swept
        columns = []
        for value in values:  # the same seed for every column: each row draws the same latent in each
            request = ConditionRequest(labels=label, attributes={**attributes, name: value}, text=texts)
            batch = conditions_for(dataset, request)
            notes += [note for note in batch.notes if note not in notes]
            torch.manual_seed(seed)
            columns.append(model.sample(batch.conditions))
        images = torch.stack(columns, dim=1).flatten(0, 1)  # row by row
        per_row = len(values)
    if output is None:
        output = run.path / "samples" / f"sample-{describe(label_text, attrs, sweep, bool(texts))}-seed{seed}.png"
    if output.parent and not output.parent.exists():
        raise UserError(f"The folder for {str(output)!r} does not exist.")
    save_grid(images, output, per_row)
    for note in notes:
        console.print(f"Note: {note}.")
    weights = " (the moving average of the weights, trainer.ema)" if loaded.weights == "ema" else ""
    console.print(f"Wrote {plural(len(images), 'image')} to {output} from the {loaded.checkpoint} checkpoint{weights}")


def label_ids(dataset, given: tuple[str, ...]) -> torch.Tensor:
    """Class indices for what the user typed: a class name the dataset lists in ``class_names``, or an index."""
    import torch

    names = list(getattr(dataset, "class_names", None) or ())
    ids = []
    for text in given:
        if text in names:
            ids.append(names.index(text))
            continue
        try:
            index = int(text)
            if not -(2**31) <= index < 2**31:
                raise UserError(f"--label {text}: a class index must lie in the 32-bit range.")
            ids.append(index)
        except ValueError:
            close = difflib.get_close_matches(text, names, n=3)
            known = f"Its classes: {', '.join(names[:20])}{', ...' if len(names) > 20 else ''}." if names else (
                "It names no classes: give an index."
            )
            guess = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise UserError(f"The run's dataset has no class {text!r}.{guess} {known}") from None
    return torch.tensor(ids)


def parse_attributes(given: tuple[str, ...]) -> dict[str, float]:
    """``("thickness=4", "slant=0.3")`` -> ``{"thickness": 4.0, "slant": 0.3}``; a malformed one is a UserError."""
    attributes: dict[str, float] = {}
    for item in given:
        name, equals, text = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise UserError(f"--attr {item!r} is not NAME=VALUE (for example --attr thickness=4).")
        value = _number(text, f"--attr {item}: VALUE")
        if name in attributes:
            raise UserError(f"--attr {name} is given twice.")
        attributes[name] = value
    return attributes


def parse_sweep(text: str, attributes: dict[str, float]) -> tuple[str, list[float]]:
    """``"thickness=1.5:5:8"`` -> ``("thickness", [1.5, 2.0, ..., 5.0])``; a bad range or step count is a UserError."""
    import torch

    name, equals, spec = text.partition("=")
    name = name.strip()
    parts = spec.split(":")
    if not equals or not name or len(parts) != 3:
        raise UserError(f"--sweep {text!r} is not NAME=LO:HI:STEPS (for example --sweep thickness=1.5:5:8).")
    low, high = _number(parts[0], f"--sweep {text}: LO"), _number(parts[1], f"--sweep {text}: HI")
    try:
        steps = int(parts[2])
    except ValueError:
        raise UserError(f"--sweep {text}: STEPS must be a whole number, got {parts[2]!r}.") from None
    if not 2 <= steps <= MAX_SWEEP_STEPS:
        raise UserError(f"--sweep {text}: STEPS must be 2 to {MAX_SWEEP_STEPS}, got {steps}.")
    if not low < high:
        raise UserError(f"--sweep {text}: LO must be below HI, got {low:g} and {high:g}.")
    if name in attributes:
        raise UserError(f"--sweep {name} and --attr {name} both set {name}; drop one.")
    return name, torch.linspace(low, high, steps, dtype=torch.float64).tolist()


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{what} must be a number, got {text.strip()!r}.") from None
    if not math.isfinite(value):
        raise UserError(f"{what} must be a finite number, got {text.strip()!r}.")
    return value


def describe(label: tuple[str, ...], attrs: tuple[str, ...], sweep: str | None, text: bool = False) -> str:
    first = "-".join(map(str, label)) if label else ("text" if text else ("sweep" if sweep else "preview"))
    parts = [first, *attrs]
    if sweep:
        parts.append(sweep.replace(":", "_"))
    return "-".join(parts)
