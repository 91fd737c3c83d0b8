"""The ``image_folder`` dataset: your own images, labelled by class folders and/or a conditions table.

```yaml
data:
  name: image_folder
  root: ~/pictures/flowers     # ROOT/CLASS/*.jpg, or ROOT/train/CLASS and ROOT/test/CLASS
  size: [32, 32]               # resized (covering) and centre-cropped
  mode: RGB                    # or L
  conditions: conditions.csv   # optional: file -> numeric attribute columns and/or a caption column
```

The condition is the one-hot class (``label: true``, the default: two or more
class folders) followed by the table's attributes, standardised with the
training split's statistics.

What the run needs to turn a user's ``--label daisy`` or attribute values into
a condition without the folder (the class names, the attribute statistics) is
the dataset's state (:class:`condgen.StatefulDataset`), kept in every
checkpoint like ``morpho``'s statistics: ``condgen sample`` works on a machine
without the data. A run's saved recipe is read without looking at the folder
(:func:`condgen.checks_data`); a recipe about to train is checked against it.

Pixels are decoded once into a uint8 cache (``ROOT/.condgen_cache``) and then
held as one tensor, batched by index like ``mnist``. A cache larger than
``memory_limit_mb`` (default: half the memory available when the run starts)
is memory-mapped instead, so the operating system pages it in as batches need it
(why not DataLoader workers: the README's image folder section, with the measurement).

Only the configs and the hook live here: the components are registered by path
(``condgen_image_folder.dataset``), so listing and validating never import torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, model_validator

import condgen

from .scan import Listing, list_folder
from .table import Table, column_statistics, read_table

CACHE_FOLDER = ".condgen_cache"


#: one side of a decoded image: past this a uint8 cache of a few thousand images no longer fits in memory
ImageSide = Annotated[int, Field(ge=1, le=4096)]


class ImageFolderConfig(condgen.ComponentConfig):
    root: Path = Field(description="the folder of images (class sub-folders, optionally inside train/ and test/)")
    size: tuple[ImageSide, ImageSide] = Field((32, 32), description="height and width after resizing and centre-cropping")
    mode: Literal["L", "RGB"] = Field("RGB", description="L: one grey channel; RGB: three")
    label: bool = Field(True, description="the one-hot class (from the class folders) in the condition; false: the table's attributes alone")
    test_fraction: float = Field(0.1, gt=0, lt=1, description="held out per class when ROOT has no train/ and test/")
    split_seed: condgen.Seed = Field(0, description="seeds which files the test fraction holds out")
    conditions: Path | None = Field(None, description="CSV (relative to root) with a row per image file")
    file_column: str = Field("file", description="the CSV column naming each image (path relative to root)")
    attributes: list[str] | None = Field(None, description="numeric CSV columns to condition on; default: all but file and caption")
    caption: str | None = Field(None, description="a CSV column of captions, kept for a text conditioner")
    on_error: Literal["fail", "skip"] = Field("fail", description="unreadable images and table mismatches: stop, or leave them out")
    max_pixels: int = Field(50_000_000, ge=1, le=1_000_000_000, description="images larger than this are refused from their header")
    cache_dir: Path | None = Field(None, description=f"where decoded pixels are cached; default ROOT/{CACHE_FOLDER}")
    memory_limit_mb: int | None = Field(
        None, ge=0, le=10**9, description="above this a split is memory-mapped (0: always); default: half of available memory"
    )
    classes: list[str] | None = Field(None, description="class folders to use, in label order; default: every one, sorted")

    @model_validator(mode="before")
    @classmethod
    def _not_an_old_run(cls, data: object) -> object:
        if isinstance(data, dict) and "statistics" in data:
            raise ValueError(
                "statistics is not an image_folder option: this recipe.yaml comes from a run folder written by an "
                "earlier condgen, which kept the class names and attribute statistics in the recipe; runs now keep "
                "them in their checkpoint. Train the run again with this version (or open it with the earlier one)."
            )
        return data

    @model_validator(mode="after")
    def _check_folder(self, info: ValidationInfo) -> "ImageFolderConfig":
        """Check the folder and its table now, so ``condgen validate`` reports them (unless a saved run is read)."""
        if self.size[0] * self.size[1] > 4096 * 4096:
            raise ValueError(f"size must be two positive numbers with at most 4096x4096 pixels, got {list(self.size)}")
        if not condgen.checks_data(info):
            return self
        try:
            listing = list_folder(_root(self), self.classes, self.test_fraction, self.split_seed)
            table = _table(self, listing) if self.conditions is not None else None
            attributes = column_statistics(table, listing.splits["train"]) if table is not None else {}
            check_condition(self, listing.classes, tuple(attributes))
        except condgen.DataError as error:
            raise ValueError(str(error)) from None
        _FRESH.clear()  # only the latest is kept
        _FRESH[_sources_key(self)] = listing, table
        return self


def _root(config: ImageFolderConfig) -> Path:
    return config.root.expanduser()


#: The listing and table read while a config was validated, used (once) by the dataset that config builds
#: moments later: listing 70,000 files takes a second, so a run lists them once, not twice.
_FRESH: dict[tuple, tuple[Listing, Table | None]] = {}


def _sources_key(config: ImageFolderConfig) -> tuple:
    return (
        str(_root(config)), tuple(config.classes or ()), config.test_fraction, config.split_seed, str(config.conditions),
        config.file_column, tuple(config.attributes or ()), config.caption, config.on_error,
    )


def _table(config: ImageFolderConfig, listing: Listing) -> Table:
    files = [entry for split in listing.splits.values() for entry in split]
    return read_table(
        _root(config) / config.conditions,
        files,
        file_column=config.file_column,
        attributes=config.attributes,
        caption=config.caption,
        skip=config.on_error == "skip",
    )


def check_condition(config: ImageFolderConfig, classes: tuple[str, ...], attributes: tuple[str, ...]) -> None:
    """A label needs two or more class folders; without a label, the table's attributes are the condition."""
    root = str(config.root)
    if config.label and len(classes) == 1:
        raise condgen.DataError(
            f"The image folder {root!r} has one class folder ({classes[0]!r}): a label with one value conditions "
            "nothing. Add class folders, or set label: false and condition on a table (data.conditions)."
        )
    if config.label and not classes:
        raise condgen.DataError(
            f"The image folder {root!r} has no class folders to label its images with"
            + (": set label: false to condition on the table's attributes alone." if attributes else
               ", and no conditions table. Put images in class sub-folders, or give a table (data.conditions) "
               "and set label: false.")
        )
    if not config.label and not attributes:
        raise condgen.DataError(
            f"The image folder {root!r} gives nothing to condition on: label: false and no attribute columns. "
            "Drop label: false to use the class folders, or give a conditions table."
        )


@condgen.hookimpl
def register_components(register):
    register("dataset", "image_folder", "condgen_image_folder.dataset:build", ImageFolderConfig)
