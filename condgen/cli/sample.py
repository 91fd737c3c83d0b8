"""``condgen sample RUN --label 7 -n 64 -o grid.png``: a PNG grid from a checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import click
import torch

from ..errors import UserError
from . import cli, console


@cli.command()
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--label", type=int, multiple=True, help="Class label to condition on (repeatable).")
@click.option("-n", "count", type=click.IntRange(1, 10_000), default=64, show_default=True, help="Images per label.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="PNG to write [default: RUN/samples/...].")
@click.option("--seed", type=int, default=0, show_default=True)
def sample(run_path: Path, label: tuple[int, ...], count: int, output: Path | None, seed: int) -> None:
    """Generate images from the last checkpoint of RUN."""
    from ..engine.checkpoint import load_checkpoint
    from ..engine.images import save_grid
    from ..engine.run_dir import open_run_dir
    from ..model import build_model
    from ..protocols import LabelledDataset
    from ..recipe import load_recipe

    run = open_run_dir(run_path)
    resolved = load_recipe(run.recipe)
    state = load_checkpoint(run.checkpoint)
    composed = build_model(resolved)
    try:
        composed.model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as error:
        raise UserError(f"The checkpoint of {str(run_path)!r} does not fit its recipe: {error}") from None
    dataset = composed.dataset
    if label:
        if not isinstance(dataset, LabelledDataset):
            raise UserError(f"The dataset of {str(run_path)!r} has no class labels; drop --label.")
        conditions = dataset.conditions_for_labels(torch.tensor(label).repeat_interleave(count))
        per_row = count if len(label) > 1 else math.ceil(math.sqrt(count))
    else:
        per_row = math.ceil(math.sqrt(count))
        conditions = dataset.preview_conditions(per_row)
    torch.manual_seed(seed)
    composed.model.eval()
    images = composed.model.sample(conditions)
    if output is None:
        suffix = "-".join(map(str, label)) if label else "preview"
        output = run.path / "samples" / f"sample-{suffix}-seed{seed}.png"
    if output.parent and not output.parent.exists():
        raise UserError(f"The folder for {str(output)!r} does not exist.")
    save_grid(images, output, per_row)
    console.print(f"Wrote {len(images)} images to {output}")
