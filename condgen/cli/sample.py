"""``condgen sample RUN --label 7 -n 64 -o grid.png``: a PNG grid from a checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..errors import UserError
from .app import cli, console


@cli.command()
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--label", type=int, multiple=True, help="Class label to condition on (repeatable).")
@click.option("-n", "count", type=click.IntRange(1, 10_000), default=64, show_default=True, help="Images per label.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="PNG to write [default: RUN/samples/...].")
@click.option("--seed", type=int, default=0, show_default=True)
def sample(run_path: Path, label: tuple[int, ...], count: int, output: Path | None, seed: int) -> None:
    """Generate images from the last checkpoint of RUN."""
    import torch

    from ..engine.images import save_grid
    from ..engine.loaded_run import load_run
    from ..protocols import LabelledDataset

    loaded = load_run(run_path)
    run, model, dataset = loaded.run, loaded.model, loaded.dataset
    if label:
        if not isinstance(dataset, LabelledDataset):
            raise UserError(f"The dataset of {str(run_path)!r} has no class labels; drop --label.")
        conditions = dataset.conditions_for_labels(torch.tensor(label).repeat_interleave(count))
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
