"""``condgen sample RUN --label 7 -n 64 -o grid.png``: a PNG grid from a checkpoint."""

from __future__ import annotations

import difflib
import math
from pathlib import Path

import click
import torch

from ..errors import UserError
from . import cli, console


@cli.command()
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--label", multiple=True, help="Class to condition on, by index or by name (repeatable).")
@click.option("-n", "count", type=click.IntRange(1, 10_000), default=64, show_default=True, help="Images per label.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="PNG to write [default: RUN/samples/...].")
@click.option("--seed", type=int, default=0, show_default=True)
def sample(run_path: Path, label: tuple[str, ...], count: int, output: Path | None, seed: int) -> None:
    """Generate images from the last checkpoint of RUN."""
    from ..engine.images import save_grid
    from ..engine.loaded_run import load_run
    from ..protocols import LabelledDataset

    loaded = load_run(run_path)
    run, model, dataset = loaded.run, loaded.model, loaded.dataset
    if label:
        if not isinstance(dataset, LabelledDataset):
            raise UserError(f"The dataset of {str(run_path)!r} has no class labels; drop --label.")
        conditions = dataset.conditions_for_labels(label_ids(dataset, label).repeat_interleave(count))
        per_row = count if len(label) > 1 else math.ceil(math.sqrt(count))
    else:
        per_row = math.ceil(math.sqrt(count))
        conditions = dataset.preview_conditions(per_row)
    torch.manual_seed(seed)
    images = model.sample(conditions)
    if output is None:
        suffix = "-".join(map(str, label)) if label else "preview"
        output = run.path / "samples" / f"sample-{suffix}-seed{seed}.png"
    if output.parent and not output.parent.exists():
        raise UserError(f"The folder for {str(output)!r} does not exist.")
    save_grid(images, output, per_row)
    console.print(f"Wrote {len(images)} images to {output}")


def label_ids(dataset, given: tuple[str, ...]) -> torch.Tensor:
    """Class indices for what the user typed: a class name the dataset lists in ``class_names``, or an index."""
    names = list(getattr(dataset, "class_names", None) or ())
    ids = []
    for text in given:
        if text in names:
            ids.append(names.index(text))
            continue
        try:
            ids.append(int(text))
        except ValueError:
            close = difflib.get_close_matches(text, names, n=3)
            known = f"Its classes: {', '.join(names[:20])}{', ...' if len(names) > 20 else ''}." if names else (
                "It names no classes: give an index."
            )
            guess = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise UserError(f"The run's dataset has no class {text!r}.{guess} {known}") from None
    return torch.tensor(ids)
