"""The ``image_folder`` dataset: your own images, labelled by class folders and/or a conditions table.

```yaml
data:
  name: image_folder
  root: ~/pictures/flowers     # ROOT/CLASS/*.jpg, or ROOT/train/CLASS and ROOT/test/CLASS
  size: [32, 32]               # resized (covering) and centre-cropped
  mode: RGB                    # or L
  conditions: conditions.csv   # optional: file -> numeric attribute columns and/or a caption column
```

The condition is the one-hot class (when there are class folders) followed by
the table's attributes, standardised with the training split's statistics.

What the run needs to turn a user's ``--label daisy`` or attribute values into
a condition without the folder (the class names, the attribute statistics) is
filled into the config when the recipe is resolved, so the run folder's
``recipe.yaml`` keeps it: ``condgen sample`` works on a machine without the data.

Pixels are decoded once into a uint8 cache (``ROOT/.condgen_cache``) and then
held as one tensor, batched by index like ``mnist``. A cache larger than
``memory_limit_mb`` (default: half the memory available when the run starts)
is memory-mapped instead, so the operating system pages it in as batches need it.

Only the configs and the hook live here: the components are registered by path
(``condgen_image_folder.dataset``), so listing and validating never import torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

import condgen

from .scan import FileEntry, Listing, list_folder
from .table import Table, read_table

CACHE_FOLDER = ".condgen_cache"


#: one side of a decoded image: past this a uint8 cache of a few thousand images no longer fits in memory
ImageSide = Annotated[int, Field(ge=1, le=4096)]


class AttributeStatistics(BaseModel):
    """An attribute's training-split statistics: standardisation, and the defaults and ranges sampling uses."""

    model_config = ConfigDict(extra="forbid")
    mean: float = Field(ge=-1e12, le=1e12)
    std: float = Field(gt=0, le=1e12)
    median: float = Field(ge=-1e12, le=1e12)
    low: float = Field(ge=-1e12, le=1e12)
    high: float = Field(ge=-1e12, le=1e12)


class ImageFolderConfig(condgen.ComponentConfig):
    root: Path = Field(description="the folder of images (class sub-folders, optionally inside train/ and test/)")
    size: tuple[ImageSide, ImageSide] = Field((32, 32), description="height and width after resizing and centre-cropping")
    mode: Literal["L", "RGB"] = Field("RGB", description="L: one grey channel; RGB: three")
    label: bool = Field(True, description="put the one-hot class (from the class folders) in the condition")
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
    classes: list[str] | None = Field(None, description="class folders to use, in label order; filled from the folder when a run starts")
    statistics: dict[str, AttributeStatistics] | None = Field(
        None, description="training-split statistics of the attributes; filled from the table when a run starts"
    )

    @model_validator(mode="after")
    def _describe(self) -> "ImageFolderConfig":
        """Fill ``classes`` and ``statistics`` from the folder, so the run keeps them (see the module docstring)."""
        if self.size[0] < 1 or self.size[1] < 1 or self.size[0] * self.size[1] > 4096 * 4096:
            raise ValueError(f"size must be two positive numbers with at most 4096x4096 pixels, got {list(self.size)}")
        needs_table = self.conditions is not None and self.statistics is None
        if self.classes is not None and not needs_table:
            return self
        try:
            listing = list_folder(_root(self), self.classes, self.test_fraction, self.split_seed)
            self.classes = list(listing.classes)
            _FRESH.clear()  # only the latest is kept
            _FRESH[_listing_key(self)] = listing
            if self.conditions is not None and self.statistics is None:
                table = _table(self, listing)
                self.statistics = _statistics(table, listing.splits["train"])
        except condgen.DataError as error:
            raise ValueError(str(error)) from None
        _check_condition(self)
        return self


def _root(config: ImageFolderConfig) -> Path:
    return config.root.expanduser()


#: The listing made while a config was validated, used (once) by the dataset that config builds moments
#: later: listing 70,000 files takes a second, so a run lists them once, not twice.
_FRESH: dict[tuple, Listing] = {}


def _listing_key(config: ImageFolderConfig) -> tuple:
    return (str(_root(config)), tuple(config.classes or ()), config.test_fraction, config.split_seed)


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


def _statistics(table: Table, train: tuple[FileEntry, ...]) -> dict[str, AttributeStatistics]:
    rows = [table.rows[entry.relative].attributes for entry in train if entry.relative in table.rows]
    if not table.attributes:
        return {}
    if not rows:
        raise condgen.DataError("The conditions table has no row for any training image.")
    import torch  # only a recipe with a conditions table pays for it

    values = torch.tensor(rows, dtype=torch.float64)
    result = {}
    for column, name in enumerate(table.attributes):
        v = values[:, column]
        std = float(v.std(unbiased=False)) if len(v) > 1 else 0.0
        if std == 0:
            raise condgen.DataError(
                f"The attribute {name!r} has the same value for every training image: it cannot condition anything.",
                hint="Leave it out of data.attributes.",
            )
        result[name] = AttributeStatistics(
            mean=float(v.mean()), std=std, median=float(v.median()), low=float(v.min()), high=float(v.max())
        )
    return result


def _check_condition(config: ImageFolderConfig) -> None:
    if config.label and len(config.classes or ()) == 1:
        raise ValueError(
            f"The image folder {str(config.root)!r} has one class folder ({config.classes[0]!r}): "
            "a label with one value conditions nothing. Add class folders, or set label: false "
            "and condition on a table (data.conditions)."
        )
    if not _labelled(config) and not config.statistics:
        raise ValueError(
            f"The image folder {str(config.root)!r} gives nothing to condition on: no class folders"
            + (" (label: false)" if config.classes else "")
            + " and no attribute columns. Put images in class sub-folders, or give a conditions table."
        )


def _labelled(config: ImageFolderConfig) -> bool:
    return config.label and len(config.classes or ()) >= 2


@condgen.hookimpl
def register_components(register):
    register("dataset", "image_folder", "condgen_image_folder.dataset:build", ImageFolderConfig)
