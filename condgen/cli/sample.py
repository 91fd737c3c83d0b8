"""``condgen sample RUN --label 7 -n 64 -o grid.png``: a PNG grid from a checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import click
import torch

from ..errors import UserError
from . import PATH, SEED, allow_plugins_option, cli, console, plural


@cli.command()
@click.argument("run_path", metavar="RUN", type=PATH)
@click.option("--label", type=click.IntRange(-(2**31), 2**31 - 1), multiple=True,
              help="Class label to condition on (repeatable).")
@click.option("-n", "count", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="Images per label: of each --label, or without --label of every row of the preview (one per class).")
@click.option("-o", "--output", type=PATH, help="PNG to write [default: RUN/samples/...].")
@click.option("--seed", type=SEED, default=0, show_default=True)
@allow_plugins_option
def sample(
    run_path: Path, label: tuple[int, ...], count: int, output: Path | None, seed: int, allow_plugins: bool
) -> None:
    """Generate images from the last checkpoint of RUN.

    One --label: its N images in a square grid. Several: a row of N per label.
    None: the preview grid, a row of N per class (per example for datasets without labels).
    """
    from ..engine.images import save_grid
    from ..engine.loaded_run import load_run
    from ..protocols import LabelledDataset

    loaded = load_run(run_path, allow_plugins=allow_plugins)
    run, model, dataset = loaded.run, loaded.model, loaded.dataset
    if label:
        if not isinstance(dataset, LabelledDataset):
            raise UserError(f"The dataset of {str(run_path)!r} has no class labels; drop --label.")
        conditions = dataset.conditions_for_labels(torch.tensor(label).repeat_interleave(count))
        per_row = count if len(label) > 1 else math.ceil(math.sqrt(count))
    else:
        per_row = count
        conditions = dataset.preview_conditions(per_row)
    torch.manual_seed(seed)
    images = model.sample(conditions)
    if output is None:
        suffix = "-".join(map(str, label)) if label else "preview"
        output = run.path / "samples" / f"sample-{suffix}-seed{seed}.png"
    if output.parent and not output.parent.exists():
        raise UserError(f"The folder for {str(output)!r} does not exist.")
    save_grid(images, output, per_row)
    console.print(f"Wrote {plural(len(images), 'image')} to {output}")
