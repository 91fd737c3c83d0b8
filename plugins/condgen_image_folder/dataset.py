"""The ``condgen_image_folder`` components' code, imported when a recipe builds one."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import condgen

from . import _FRESH, CACHE_FOLDER, ImageFolderConfig, _root, _sources_key, _table, check_condition
from .cache import DecodeSettings, load_or_decode
from .scan import FileEntry, Listing, list_folder
from .table import AttributeStatistics, Table, column_statistics, condgen_say, listed


@dataclass(frozen=True)
class FolderState:
    """What a run keeps of its folder (the checkpoint's dataset state): enough to make any condition."""

    classes: tuple[str, ...]
    statistics: dict[str, AttributeStatistics]

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(self.statistics)


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
        self.x_shape = DecodeSettings(tuple(config.size), config.mode, config.max_pixels).shape
        self._state: FolderState | None = None  # from the checkpoint, else from the folder when first needed
        self._splits: dict[str, FolderSplit] = {}
        self._sources: tuple[Listing, Table | None] | None = None
        self._said_sizes = False  # mixed sizes are said once, not once per split

    # -- condgen.StatefulDataset: the classes and statistics live in the checkpoint -----------------------------

    def state(self) -> FolderState:
        """The run's classes and attribute statistics: restored from a checkpoint, else read from the folder."""
        if self._state is None:
            listing, table = self._read_sources()
            statistics = column_statistics(table, listing.splits["train"]) if table is not None else {}
            check_condition(self.config, listing.classes, tuple(statistics))
            self._state = FolderState(listing.classes if self.config.label else (), statistics)
        return self._state

    def state_dict(self) -> dict[str, Any]:
        state = self.state()
        return {"classes": list(state.classes), "statistics": {k: asdict(v) for k, v in state.statistics.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            classes = tuple(str(name) for name in state["classes"])
            statistics = {name: AttributeStatistics(**values) for name, values in state["statistics"].items()}
        except (KeyError, TypeError, AttributeError) as error:
            raise condgen.CheckpointError(f"The checkpoint's image_folder state is malformed: {error!r}.") from None
        wanted = self.config.classes
        if self.config.label and wanted is not None and tuple(wanted) != classes:
            raise condgen.CheckpointError(
                f"The checkpoint's image_folder classes are {list(classes)}, but the recipe asks for {wanted}."
            )
        if self.config.attributes is not None and tuple(self.config.attributes) != tuple(statistics):
            raise condgen.CheckpointError(
                f"The checkpoint's image_folder attributes are {list(statistics)}, "
                f"but the recipe asks for {self.config.attributes}."
            )
        self._state = FolderState(classes, statistics)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.state().classes

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return self.state().attributes

    @property
    def condition_shape(self) -> tuple[int]:
        return (len(self.class_names) + len(self.attribute_names),)

    # -- conditions from what a user types -------------------------------------------------------------------

    def standardise(self, values: dict[str, float]) -> torch.Tensor:
        """The attribute part of a condition from natural units; unnamed attributes at their training median."""
        condgen.check_attribute_names(values, self.attribute_names)
        stats = self.state().statistics
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
        stats = self.state().statistics
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
        stats = self.state().statistics[name]
        rows = [self.conditions_for(None, {name: float(v)}, per_row) for v in torch.linspace(stats.low, stats.high, 8)]
        return torch.cat(rows)

    # -- data --------------------------------------------------------------------------------------------------

    def load(self, split: str) -> FolderSplit:
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}")
        if split not in self._splits:
            self.state()  # a fresh run's classes and statistics come from the folder; a restored run's are kept
            listing, table = self._read_sources()
            self._splits[split] = self._read(listing.splits[split], table, split)
        return self._splits[split]

    def _read_sources(self) -> tuple[Listing, Table | None]:
        """The folder's listing and table: the ones validating the config just read, else read now. A resumed
        run lists the classes its checkpoint holds (a class folder added since is not a new label)."""
        if self._sources is None:
            classes = self.config.classes
            if self._state is not None and self.config.label:
                classes = list(self._state.classes)
            fresh = _FRESH.pop(_sources_key(self.config), None)
            if fresh is None or (classes is not None and list(fresh[0].classes) != list(classes)):
                listing = list_folder(self.root, classes, self.config.test_fraction, self.config.split_seed)
                fresh = listing, _table(self.config, listing) if self.config.conditions is not None else None
            self._sources = fresh
        return self._sources

    def _read(self, files: tuple[FileEntry, ...], table: Table | None, split: str) -> FolderSplit:
        """Decode (or read from the cache) one split; a restored run's classes decide which labels it has."""
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
            stats = self.state().statistics
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
    """Labelled or not by the config alone (``label``), so a run opened without its folder builds the same kind."""
    return (LabelledImageFolder if config.label else ImageFolder)(config, context)
