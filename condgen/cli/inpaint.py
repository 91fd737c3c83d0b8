"""``condgen inpaint RUN [--count 10] [--samples 5] [--baseline RUN] -o figure.png``: completions of masked images."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UserError
from .app import PATH, SEED, allow_plugins_option, cli, console, plural


@cli.command()
@click.argument("run_path", metavar="RUN", type=PATH)
@click.option("--count", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Test images to inpaint (one column each).")
@click.option("--samples", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Completions drawn per image (one row each).")
@click.option("--baseline", type=PATH, help="A second run whose prediction gets its own row.")
@click.option("--image", type=PATH,
              help="Inpaint your own PNG (the run's image size) instead of test images; needs --mask.")
@click.option("--mask", type=PATH,
              help="PNG of the same size: white pixels are filled in, black ones are kept.")
@click.option("--resize", is_flag=True, help="Scale --image and --mask to the run's image size.")
@click.option("-o", "--output", type=PATH, help="PNG to write [default: RUN/samples/...].")
@click.option("--seed", type=SEED, default=0, show_default=True)
@allow_plugins_option
def inpaint(run_path: Path, count: int, samples: int, baseline: Path | None, image: Path | None,
            mask: Path | None, resize: bool, output: Path | None, seed: int, allow_plugins: bool) -> None:
    """Fill in the unobserved pixels of test images (or your own) with the last checkpoint of RUN.

    Rows: the input (unobserved pixels grey), the truth, the baseline's prediction
    and several samples, observed pixels pasted back.
    """
    from ..engine.inpaint import figure_rows, masked_dataset, save_figure, test_examples, user_example
    from ..engine.loaded_run import load_run

    if resize and image is None:
        raise UserError("--resize scales your own --image and --mask; the test images already have the run's size.")
    if (image is None) != (mask is None):
        raise UserError("Give --image and --mask together: the mask says which pixels of the image to keep.")
    if output is not None and output.parent and not output.parent.exists():
        raise UserError(f"The folder for {str(output)!r} does not exist.")
    loaded = load_run(run_path, allow_plugins=allow_plugins)
    dataset = masked_dataset(loaded)
    other = None if baseline is None else load_run(baseline, allow_plugins=allow_plugins)
    examples = test_examples(dataset, count, seed) if image is None else user_example(dataset, image, mask, resize)
    rows = figure_rows(loaded, examples, samples, seed, other)
    if output is None:
        name = f"inpaint-{image.stem}-seed{seed}.png" if image is not None else f"inpaint-seed{seed}.png"
        output = loaded.run.path / "samples" / name
    save_figure(rows, output)
    console.print(f"Wrote {output} ({plural(len(examples.x), 'image')}, {plural(samples, 'sample')} each)")
