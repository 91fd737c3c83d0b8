"""Inpainting figures: a run's completions of partly observed images.

Rows, like Pyro's CVAE example: the input (unobserved pixels grey), the
truth, a baseline run's prediction (when given) and several samples of the
run, each with the observed pixels pasted back. Works for any run whose
dataset is a :class:`condgen.MaskedDataset`; examples come from its test split
or from a user's own image and mask PNGs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import InputError, UserError
from ..protocols import MaskedDataset
from .atomic import atomic_path
from .loaded_run import LoadedRun

UNOBSERVED_GREY = 0.5


@dataclass
class Examples:
    """What to inpaint: the truth x and the conditions that reveal part of it."""

    x: torch.Tensor
    condition: torch.Tensor


def masked_dataset(loaded: LoadedRun) -> MaskedDataset:
    dataset = loaded.dataset
    if not isinstance(dataset, MaskedDataset):
        raise UserError(
            f"The run {str(loaded.run.path)!r} was not trained to inpaint: its dataset reveals no part of x "
            "(it is not a condgen.MaskedDataset).",
            hint="Train a recipe whose data block is {name: inpainting, base: ...}.",
        )
    return dataset


def test_examples(dataset: MaskedDataset, count: int, seed: int) -> Examples:
    """``count`` test examples picked with ``seed``, with the test split's own (deterministic) masks."""
    test = dataset.load("test")
    pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:count]
    x, condition = test.batch(pick.sort().values)
    return Examples(x, condition)


def user_example(dataset: MaskedDataset, image: Path, mask: Path, resize: bool = False) -> Examples:
    """The user's image, revealed where the mask PNG is black (white marks the pixels to fill in).

    With ``resize`` both are scaled to the run's image size (the mask without smoothing, so it stays black and
    white); without it a different size is refused.
    """
    channels, height, width = _image_shape(dataset)
    if channels not in (1, 3):
        raise InputError(f"The run's images have {channels} channels; a PNG image can give 1 (grey) or 3 (RGB).")
    x = _read_png(image, "L" if channels == 1 else "RGB", (height, width), "image", resize)
    hole = _read_png(mask, "L", (height, width), "mask", resize)[:, :1] > 0.5
    hidden = int(hole.sum())
    if hidden == 0:
        raise InputError(f"The mask {str(mask)!r} observes every pixel (it has no white pixel): nothing to inpaint.",
                         hint="Paint the pixels to fill in white and the ones to keep black.")
    if hidden == height * width:
        raise InputError(f"The mask {str(mask)!r} observes no pixel (it is all white): there is nothing to start from.",
                         hint="Paint the pixels to keep black and the ones to fill in white.")
    return Examples(x, dataset.condition_for(x, ~hole))


def _image_shape(dataset: MaskedDataset) -> tuple[int, int, int]:
    shape = tuple(dataset.x_shape)
    if len(shape) != 3:
        raise InputError(f"The run's x has shape {shape}, not an image (C, H, W): it cannot take a PNG.")
    return shape


#: the largest picture ``--resize`` scales down, checked from the header before decoding
MAX_RESIZE_SIDE = 4096


def _read_png(path: Path, mode: str, size: tuple[int, int], what: str, resize: bool = False) -> torch.Tensor:
    """(1, C, H, W) in [0, 1] from an image file, converted to ``mode`` (and scaled to ``size`` with ``resize``).

    The size comes from the file's header and is checked before any pixel is
    decoded: a small file can claim 20000x20000 pixels (a decompression bomb).
    """
    from PIL import Image, UnidentifiedImageError

    height, width = size
    try:
        with warnings.catch_warnings():
            # PIL warns (or raises) about huge images in open(), from the header alone; either way it is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                if opened.size != (width, height) and not (resize and max(opened.size) <= MAX_RESIZE_SIDE):
                    raise _wrong_size(path, what, opened.size, size, resize)
                picture = opened.convert(mode)
    except FileNotFoundError:
        raise InputError(f"The {what} file {str(path)!r} does not exist.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InputError(
            f"The {what} {str(path)!r} claims to be far larger than the run's {width}x{height} images ({error}); "
            "it was not decoded."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise InputError(f"The {what} file {str(path)!r} cannot be read as an image: {error}.") from None
    if picture.size != (width, height):
        smoothing = Image.Resampling.NEAREST if what == "mask" else Image.Resampling.LANCZOS
        picture = picture.resize((width, height), smoothing)
    pixels = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8)
    channels = 1 if mode == "L" else 3
    return pixels.view(height, width, channels).permute(2, 0, 1).unsqueeze(0).float() / 255


def _wrong_size(path: Path, what: str, found: tuple[int, int], size: tuple[int, int], resize: bool) -> InputError:
    message = f"The {what} {str(path)!r} is {found[0]}x{found[1]} pixels; the run's images are {size[1]}x{size[0]}."
    if resize:
        return InputError(f"{message} --resize scales pictures of at most {MAX_RESIZE_SIDE} pixels a side.")
    return InputError(message, hint="Pass --resize to scale the image and the mask to that size.")


@torch.no_grad()
def figure_rows(
    loaded: LoadedRun, examples: Examples, samples: int, seed: int, baseline: LoadedRun | None = None
) -> list[tuple[str, torch.Tensor]]:
    """(label, images) per row: input, truth, baseline, then ``samples`` rows of the run's completions."""
    dataset = masked_dataset(loaded)
    observed = dataset.observed_mask(examples.condition).expand_as(examples.x)
    shown = torch.where(observed, examples.x, torch.full_like(examples.x, UNOBSERVED_GREY))
    rows = [("input", shown), ("truth", examples.x)]
    if baseline is not None:
        _check_compatible(loaded, baseline)
        torch.manual_seed(seed)
        rows.append(("baseline", baseline.model.sample(examples.condition)))
    torch.manual_seed(seed)
    for k in range(samples):
        rows.append((f"sample {k + 1}", loaded.model.sample(examples.condition)))
    return rows


def _check_compatible(loaded: LoadedRun, baseline: LoadedRun) -> None:
    masked_dataset(baseline)
    mine, theirs = loaded.dataset, baseline.dataset
    if (tuple(mine.x_shape), tuple(mine.condition_shape)) != (tuple(theirs.x_shape), tuple(theirs.condition_shape)):
        raise UserError(
            f"The baseline {str(baseline.run.path)!r} works on x {tuple(theirs.x_shape)} given conditions "
            f"{tuple(theirs.condition_shape)}, the run on x {tuple(mine.x_shape)} given {tuple(mine.condition_shape)}: "
            "they cannot inpaint the same examples."
        )


def save_figure(rows: list[tuple[str, torch.Tensor]], path: Path) -> None:
    """The figure as a PNG (written atomically): a labelled grid, or for one example a row of labelled panels."""
    figure = _panels(rows) if len(rows[0][1]) == 1 else _grid(rows)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", bbox_inches="tight", pad_inches=0.1)


def _panels(rows: list[tuple[str, torch.Tensor]]):
    """One example: its input, truth and completions side by side, each large enough to see, titled above."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1.6 * len(rows), 1.9), dpi=100)
    FigureCanvasAgg(figure)
    for axes, (label, images) in zip(figure.subplots(1, len(rows), squeeze=False)[0], rows):
        picture = images[0].clamp(0, 1).permute(1, 2, 0).numpy()
        axes.imshow(picture, cmap="gray" if picture.shape[2] == 1 else None, vmin=0, vmax=1, interpolation="nearest")
        axes.set_title(label, fontsize="medium")
        axes.set_xticks([])
        axes.set_yticks([])
    return figure


def _grid(rows: list[tuple[str, torch.Tensor]]):
    """Several examples: a row per entry, labelled on the left, a column per example."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..compat import torchvision

    grids = [
        torchvision.utils.make_grid(images.clamp(0, 1), nrow=len(images), padding=2, pad_value=1.0)
        for _, images in rows
    ]
    canvas = torch.cat(grids, dim=1).permute(1, 2, 0).numpy()
    row_height = grids[0].shape[1]
    scale = 1 / 28  # inches per pixel: a 28x28 digit is an inch wide
    figure = Figure(figsize=(1.2 + canvas.shape[1] * scale, 0.2 + canvas.shape[0] * scale), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.imshow(canvas, interpolation="nearest")
    axes.set_yticks([row_height * (i + 0.5) for i in range(len(rows))], [label for label, _ in rows])
    axes.set_xticks([])
    for side in axes.spines.values():
        side.set_visible(False)
    return figure
