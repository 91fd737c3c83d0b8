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
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator

import condgen

from .cache import DecodeSettings, load_or_decode
from .scan import FileEntry, Listing, list_folder
from .table import Table, condgen_say, listed, read_table

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


def _listing(config: ImageFolderConfig) -> Listing:
    fresh = _FRESH.pop(_listing_key(config), None)
    if fresh is not None:
        return fresh
    return list_folder(_root(config), config.classes, config.test_fraction, config.split_seed)


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


class FolderSplit(condgen.TensorSplit):
    """A split of a folder: uint8 pixels (in memory, or a memory map), conditions, labels, captions, file paths."""

    def __init__(self, x, condition, *, labels, files: list[str], captions: list[str] | None) -> None:
        mapped = isinstance(x, np.memmap)
        super().__init__(x if mapped else torch.from_numpy(x), condition, scale=1 / 255, labels=labels)
        self.mapped = mapped
        self.files = files
        self.captions = captions

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.mapped:
            return super().batch(index)
        pixels = torch.from_numpy(np.take(self.x, index.numpy(), axis=0))
        return pixels.to(torch.float32).mul_(self.scale), self.condition[index].to(torch.float32)


class ImageFolder:
    """An image folder as a condgen dataset (see the module docstring)."""

    def __init__(self, config: ImageFolderConfig, context: condgen.BuildContext | None = None) -> None:
        self.config = config
        self.root = _root(config)
        self.class_names: tuple[str, ...] = tuple(config.classes or ()) if _labelled(config) else ()
        self.attribute_names: tuple[str, ...] = tuple(config.statistics or {})
        self.x_shape = DecodeSettings(tuple(config.size), config.mode, config.max_pixels).shape
        self.condition_shape = (len(self.class_names) + len(self.attribute_names),)
        self._splits: dict[str, FolderSplit] = {}
        self._sources: tuple[Listing, Table | None] | None = None
        self._said_sizes = False  # mixed sizes are said once, not once per split

    # -- conditions from what a user types -------------------------------------------------------------------

    def standardise(self, values: dict[str, float]) -> torch.Tensor:
        """The attribute part of a condition from natural units; unnamed attributes at their training median."""
        unknown = [name for name in values if name not in self.attribute_names]
        if unknown:
            raise condgen.UserError(
                f"This dataset has no attribute {', '.join(map(repr, unknown))}; "
                f"its attributes: {', '.join(self.attribute_names) or 'none'}."
            )
        stats = self.config.statistics or {}
        return torch.tensor(
            [(values.get(name, stats[name].median) - stats[name].mean) / stats[name].std for name in self.attribute_names],
            dtype=torch.float32,
        )

    def conditions_for(self, labels: torch.Tensor | None, attributes: dict[str, float] | None = None, n: int = 1) -> torch.Tensor:
        """Condition rows for class ``labels`` (one row each) and attribute values in natural units."""
        rows = len(labels) if labels is not None else n
        parts = []
        if self.class_names:
            if labels is None:
                raise condgen.UserError(f"This dataset is conditioned on a class: give one of {listed(list(self.class_names))}.")
            bad = labels[(labels < 0) | (labels >= len(self.class_names))]
            if bad.numel():
                raise condgen.UserError(f"Class indices of this dataset are 0-{len(self.class_names) - 1}, got {int(bad[0])}.")
            parts.append(F.one_hot(labels.long(), len(self.class_names)).to(torch.float32))
        if self.attribute_names:
            parts.append(self.standardise(attributes or {}).expand(rows, -1))
        return torch.cat(parts, 1)

    def conditions_for_request(self, request: condgen.ConditionRequest) -> condgen.ConditionBatch:
        """``condgen sample --label/--attr`` (condgen.RequestableDataset): one row per label (every class when none
        is given), attributes in natural units, the unnamed ones at their training median."""
        if request.text:
            raise condgen.UserError(
                "This run's dataset (image_folder) conditions on "
                + ("classes and " if self.class_names else "")
                + (f"the attributes {', '.join(self.attribute_names)}" if self.attribute_names else "nothing else")
                + "; it does not take text (its captions are kept for a text conditioner): drop --text."
            )
        if request.labels and not self.class_names:
            raise condgen.UserError("This run's dataset (image_folder) has no classes; drop --label.")
        labels = list(request.labels) or list(range(len(self.class_names)))
        stats = self.config.statistics or {}
        notes = []
        for name in self.attribute_names:
            if name not in request.attributes:
                notes.append(f"{name} at the training median, {stats[name].median:.4g}")
            elif not stats[name].low <= request.attributes[name] <= stats[name].high:
                notes.append(
                    f"{name}={request.attributes[name]:g} is outside the training range "
                    f"{stats[name].low:.4g} to {stats[name].high:.4g}: the model extrapolates"
                )
        rows = self.conditions_for(torch.tensor(labels) if self.class_names else None, dict(request.attributes), 1)
        described = ", ".join(f"{k}={v:g}" for k, v in request.attributes.items())
        names = [self.class_names[i] for i in labels] if self.class_names else [""]
        return condgen.ConditionBatch(
            rows.repeat_interleave(request.copies, dim=0),
            tuple(", ".join(part for part in (name, described) if part) for name in names),
            tuple(notes),
        )

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        """One row per class (at most 16), or rows sweeping the first attribute across its training range."""
        if self.class_names:
            classes = torch.arange(min(len(self.class_names), 16))
            return self.conditions_for(classes.repeat_interleave(per_row))
        name = self.attribute_names[0]
        stats = self.config.statistics[name]
        rows = [self.conditions_for(None, {name: float(v)}, per_row) for v in torch.linspace(stats.low, stats.high, 8)]
        return torch.cat(rows)

    # -- data --------------------------------------------------------------------------------------------------

    def load(self, split: str) -> FolderSplit:
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}")
        if split not in self._splits:
            if self._sources is None:
                listing = _listing(self.config)
                self._sources = listing, _table(self.config, listing) if self.config.conditions is not None else None
            listing, table = self._sources
            self._splits[split] = self._read(listing.splits[split], table, split)
        return self._splits[split]

    def _read(self, files: tuple[FileEntry, ...], table: Table | None, split: str) -> FolderSplit:
        files = [entry for entry in files if table is None or entry.relative in table.rows]
        settings = DecodeSettings(tuple(self.config.size), self.config.mode, self.config.max_pixels)
        nbytes = len(files) * int(np.prod(settings.shape))
        limit = memory_limit_bytes(self.config.memory_limit_mb)
        cache_dir = (self.config.cache_dir.expanduser() if self.config.cache_dir else self.root / CACHE_FOLDER)
        decoded = load_or_decode(self.root, files, settings, cache_dir, memory_map=nbytes > limit)
        if nbytes > limit:
            condgen_say(
                f"the {split} split is {nbytes / 2**20:.0f} MB of pixels, over the in-memory limit of "
                f"{limit / 2**20:.0f} MB: memory-mapped from {cache_dir}"
            )
        if decoded.failed:
            failures = [f"{files[i].relative}: {why}" for i, why in sorted(decoded.failed.items())]
            if self.config.on_error == "fail":
                raise condgen.DataError(
                    f"{len(failures)} file(s) in {str(self.root)!r} cannot be used:\n  " + "\n  ".join(failures[:20])
                    + (f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""),
                    hint="Remove or fix them, or set data.on_error: skip to train without them.",
                )
            condgen_say(f"{len(failures)} unreadable file(s) left out (on_error: skip): {listed(failures)}")
        if len(decoded.source_sizes) > 1 and not decoded.from_cache and not self._said_sizes:
            self._said_sizes = True
            shown = ", ".join(f"{w}x{h}" for w, h in decoded.source_sizes[:6])
            condgen_say(
                f"the {split} images come in {len(decoded.source_sizes)} sizes ({shown}"
                f"{', ...' if len(decoded.source_sizes) > 6 else ''}); each is resized and centre-cropped to "
                f"{self.config.size[0]}x{self.config.size[1]}"
            )
        keep = [i for i in range(len(files)) if i not in decoded.failed]
        pixels = decoded.pixels
        if len(keep) < len(files):
            pixels = np.ascontiguousarray(pixels[keep])
        elif not isinstance(pixels, np.memmap):
            pixels = np.ascontiguousarray(pixels)
        kept = [files[i] for i in keep]
        if not kept:
            raise condgen.DataError(f"No image of the {split} split of {str(self.root)!r} could be read.")
        labels = torch.tensor([self.class_names.index(e.label) if self.class_names else 0 for e in kept])
        attributes = None
        if self.attribute_names:
            raw = torch.tensor([table.rows[e.relative].attributes for e in kept], dtype=torch.float64)
            stats = self.config.statistics
            mean = torch.tensor([stats[name].mean for name in self.attribute_names], dtype=torch.float64)
            std = torch.tensor([stats[name].std for name in self.attribute_names], dtype=torch.float64)
            attributes = ((raw - mean) / std).to(torch.float32)
        condition = self._join(labels, attributes, len(kept))
        captions = [table.rows[e.relative].caption for e in kept] if table is not None and table.caption else None
        return FolderSplit(pixels, condition, labels=labels, files=[e.relative for e in kept], captions=captions)

    def _join(self, labels: torch.Tensor, attributes: torch.Tensor | None, n: int) -> torch.Tensor:
        parts = []
        if self.class_names:
            parts.append(F.one_hot(labels, len(self.class_names)).to(torch.float32))
        if attributes is not None:
            parts.append(attributes)
        return torch.cat(parts, 1) if parts else torch.zeros(n, 0)


class LabelledImageFolder(ImageFolder):
    """An image folder with class folders: ``condgen sample --label NAME`` and per-class evaluation work."""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return self.conditions_for(labels)


def memory_limit_bytes(configured_mb: int | None) -> int:
    """The configured limit, else half the memory the kernel reports available (MemAvailable)."""
    if configured_mb is not None:
        return configured_mb * 2**20
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except OSError:
        pass
    pages = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 0
    return max(pages * os.sysconf("SC_PAGE_SIZE") // 2, 1 << 30) if pages else 4 << 30


def build(config: ImageFolderConfig, context: condgen.BuildContext) -> ImageFolder:
    return (LabelledImageFolder if _labelled(config) else ImageFolder)(config, context)


@condgen.hookimpl
def register_components(register):
    register("dataset", "image_folder", build, ImageFolderConfig)
