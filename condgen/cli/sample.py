"""``condgen sample RUN --label 7 | --text "a thick seven" -n 64 -o grid.png``: a PNG grid from a checkpoint.

The dataset turns what the user typed into conditions (``conditions_for_labels``,
``conditions_for_text``); warnings it raises about them (a prompt cut short,
words never trained on) are printed, not hidden.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import click
import torch
from rich.markup import escape

from ..errors import UserError
from . import cli, console, err_console


@cli.command()
@click.argument("run_path", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--label", type=int, multiple=True, help="Class label to condition on (repeatable).")
@click.option("--text", "texts", multiple=True, help="Text prompt to condition on (repeatable: one row per prompt).")
@click.option(
    "-n", "count", type=click.IntRange(1, 10_000), default=64, show_default=True, help="Images per label or prompt."
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="PNG to write [default: RUN/samples/...].")
@click.option("--seed", type=int, default=0, show_default=True)
def sample(
    run_path: Path, label: tuple[int, ...], texts: tuple[str, ...], count: int, output: Path | None, seed: int
) -> None:
    """Generate images from the last checkpoint of RUN."""
    from ..engine.images import save_grid
    from ..engine.loaded_run import load_run
    from ..protocols import LabelledDataset, TextDataset

    if label and texts:
        raise UserError("Give --label or --text, not both.")
    loaded = load_run(run_path)
    run, model, dataset = loaded.run, loaded.model, loaded.dataset
    asked = label or texts
    if label:
        if not isinstance(dataset, LabelledDataset):
            raise UserError(f"The dataset of {str(run_path)!r} has no class labels; drop --label.")
        conditions = dataset.conditions_for_labels(torch.tensor(label).repeat_interleave(count))
    elif texts:
        if not isinstance(dataset, TextDataset):
            raise UserError(
                f"The run {str(run_path)!r} is not text-conditioned: it conditions on "
                f"{conditions_of(dataset, loaded.resolved)}.",
                hint="Sample it with --label (if it has labels), or train a text recipe such as "
                "recipes/mnist_text_cvae.yaml.",
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            conditions = dataset.conditions_for_text(list(texts)).repeat_interleave(count, dim=0)
        for warning in caught:
            err_console.print(f"[bold yellow]Warning:[/] {escape(str(warning.message))}")
    if asked:
        per_row = count if len(asked) > 1 else math.ceil(math.sqrt(count))
    else:
        per_row = math.ceil(math.sqrt(count))
        conditions = dataset.preview_conditions(per_row)
    torch.manual_seed(seed)
    images = model.sample(conditions)
    if output is None:
        suffix = "-".join(map(str, label)) if label else ("text" if texts else "preview")
        output = run.path / "samples" / f"sample-{suffix}-seed{seed}.png"
    if output.parent and not output.parent.exists():
        raise UserError(f"The folder for {str(output)!r} does not exist.")
    save_grid(images, output, per_row)
    console.print(f"Wrote {len(images)} images to {output}")


def conditions_of(dataset: object, resolved) -> str:
    """What a run's condition is, in words, for a message that refuses another kind of condition."""
    from ..protocols import LabelledDataset, MaskedDataset

    name = resolved.recipe.data.name if hasattr(resolved.recipe, "data") else type(dataset).__name__
    shape = tuple(getattr(dataset, "condition_shape", ()))
    if isinstance(dataset, MaskedDataset):
        what = "a masked image (use condgen inpaint)"
    elif isinstance(dataset, LabelledDataset):
        what = f"{dataset.num_classes} class labels (use --label)"
    else:
        what = "a condition that is neither text nor class labels"
    return f"{what}; dataset {name!r}, condition shape {shape}"
