"""The ``morpho`` dataset: any grayscale image dataset, conditioned on measured stroke attributes.

``data: {name: morpho, base: {name: mnist}, attributes: [thickness, slant], label: true}``
conditions on the base's one-hot label (when ``label``) followed by the
attributes standardised with the training split's mean and standard
deviation. The measurements are taken once per split (cached beside the
data) and the condition is precomputed, so a batch costs one more gather.

The statistics (mean, standard deviation, median, range) are part of every
checkpoint (``state_dict``), so ``condgen sample RUN --attr thickness=4``
takes natural units on a machine without the data. An image without
foreground has no measurements; its condition takes the training median.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

import condgen

from . import measure as measurement
from .cache import measure_cached
from .config import MorphoConfig

STATISTICS = ("mean", "std", "median", "min", "max")
#: requested values per attribute in ``control_metrics``, evenly spaced over the test set's 5th-95th percentile
CONTROL_VALUES = 10




class MorphoSplit:
    """A base split with a precomputed condition per example, and the measurements it came from (natural units)."""

    def __init__(self, base: condgen.Split, conditions: torch.Tensor, measured: np.ndarray) -> None:
        self.base = base
        self.conditions = conditions
        #: (n, attributes) in natural units, NaN where the image had no foreground
        self.measured = measured

    def __len__(self) -> int:
        return len(self.base)

    @property
    def labels(self) -> torch.Tensor | None:
        return getattr(self.base, "labels", None)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, _ = self.base.batch(index)
        return x, self.conditions[index]


class Morpho:
    """Attributes only (``label: false``); :class:`LabelledMorpho` adds the label."""

    def __init__(self, config: MorphoConfig, context: condgen.BuildContext, base: Any) -> None:
        self.config = config
        self.base = base
        self.attributes = tuple(config.attributes)
        self.x_shape = tuple(base.x_shape)
        self.condition_shape = (self._label_width() + len(self.attributes),)
        self.statistics: dict[str, torch.Tensor] | None = None
        self._splits: dict[str, MorphoSplit] = {}

    def _label_width(self) -> int:
        return 0

    # -- data ------------------------------------------------------------------
    def load(self, split: str) -> MorphoSplit:
        if split not in self._splits:
            base = self.base.load(split)
            pixels, base_conditions = _everything(base)
            measured = measure_cached(pixels, self._cache_folder(), self.config.workers)
            values = np.stack([measured[name] for name in self.attributes], axis=1)
            if split == "train" and self.statistics is None:
                self.statistics = _statistics(values)
            label_part = base_conditions if self._label_width() else base_conditions[:, :0]
            conditions = torch.cat([label_part, self._standardise(torch.from_numpy(values))], dim=1)
            self._splits[split] = MorphoSplit(base, conditions.to(torch.float32).contiguous(), values)
        return self._splits[split]

    def _cache_folder(self) -> Path:
        if self.config.cache is not None:
            return self.config.cache.expanduser()
        root = getattr(self.base, "root", None)
        return Path(root if isinstance(root, (str, Path)) else condgen.resolve_data_root(None)) / "morpho"

    def _standardise(self, values: torch.Tensor) -> torch.Tensor:
        """(n, attributes) natural units -> standardised; missing (NaN) values become the median."""
        stats = self._stats()
        values = torch.where(torch.isnan(values), stats["median"], values.to(torch.float64))
        return (values - stats["mean"]) / stats["std"]

    def _stats(self) -> dict[str, torch.Tensor]:
        if self.statistics is None:
            self.load("train")  # a fresh run: the training split defines them
        assert self.statistics is not None
        return self.statistics

    # -- condgen.StatefulDataset -------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        stats = self._stats()
        return {
            "attributes": list(self.attributes),
            "measurement_version": measurement.VERSION,
            **{name: stats[name].clone() for name in STATISTICS},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if list(state.get("attributes", [])) != list(self.attributes):
            raise condgen.CheckpointError(
                f"The checkpoint's morpho statistics are for the attributes {state.get('attributes')}, "
                f"but the recipe asks for {list(self.attributes)}."
            )
        self.statistics = {name: torch.as_tensor(state[name], dtype=torch.float64) for name in STATISTICS}

    # -- condgen.RequestableDataset ----------------------------------------------
    def conditions_for_request(self, request: condgen.ConditionRequest) -> condgen.ConditionBatch:
        if request.text:
            raise condgen.UserError("This run's dataset (morpho) does not take text; drop --text.")
        values, described, notes = self._attribute_values(request.attributes)
        label_rows, label_names = self._label_rows(request.labels)
        rows = len(label_names)
        standardised = self._standardise(values[None]).to(torch.float32).expand(rows, -1)
        conditions = torch.cat([label_rows, standardised], dim=1).repeat_interleave(request.copies, dim=0)
        names = tuple(", ".join(part for part in (label, described) if part) for label in label_names)
        return condgen.ConditionBatch(conditions, names, tuple(notes))

    def _label_rows(self, labels: tuple[int, ...]) -> tuple[torch.Tensor, list[str]]:
        if labels:
            raise condgen.UserError(
                "This run's dataset (morpho with label: false) conditions on attributes only; drop --label."
            )
        return torch.zeros(1, 0), [""]

    def _attribute_values(self, given: dict[str, float]) -> tuple[torch.Tensor, str, list[str]]:
        """The requested values in natural units (the median where not given), their description, and notes."""
        condgen.check_attribute_names(given, self.attributes)
        stats, notes, values = self._stats(), [], []
        for i, name in enumerate(self.attributes):
            unit = measurement.UNITS[name]
            low, high = stats["min"][i].item(), stats["max"][i].item()
            if name in given:
                value = float(given[name])
                if not low <= value <= high:
                    notes.append(
                        f"{name}={value:g} {unit} is outside the training range {low:.3g} to {high:.3g} {unit}: "
                        "the model extrapolates"
                    )
            else:
                value = stats["median"][i].item()
                notes.append(f"{name} at the training median, {value:.3g} {unit}")
            values.append(value)
        described = ", ".join(f"{name}={value:.3g} {measurement.UNITS[name]}" for name, value in zip(self.attributes, values))
        return torch.tensor(values, dtype=torch.float64), described, notes

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        return self.conditions_for_request(condgen.ConditionRequest(copies=per_row)).conditions

    # -- condgen.ControlledDataset -----------------------------------------------
    @torch.no_grad()
    def control_metrics(
        self, generate: Callable[[torch.Tensor], torch.Tensor], test: condgen.Split, per_class: int
    ) -> dict[str, Any]:
        """``attribute_control``: for each attribute, images generated at values spread evenly over the test set's
        5th-95th percentile (the others at the training median, every label alike), measured with the same code.

        Spearman's rank correlation and the mean absolute error are over single images (requested vs measured);
        images that come out blank are counted as ``missing`` and left out.
        """
        from scipy.stats import spearmanr

        measured_test = test.measured
        result = {}
        copies = max(1, per_class // 100)  # per label and value: 10 at eval's default of 1000 per class
        for i, name in enumerate(self.attributes):
            column = measured_test[:, i]
            low, high = np.nanpercentile(column, [5, 95])
            requested, images = [], []
            for value in np.linspace(low, high, CONTROL_VALUES):
                # no labels: the default rows, every class once (labels balanced)
                request = condgen.ConditionRequest(attributes={name: float(value)}, copies=copies)
                batch = self.conditions_for_request(request)
                images.append(generate(batch.conditions))
                requested.append(np.full(len(batch.conditions), value))
            generated = torch.cat(images)
            got = measurement.measure(generated.reshape(-1, *generated.shape[-2:]).cpu().numpy(), self.config.workers)[name]
            wanted = np.concatenate(requested)
            found = ~np.isnan(got)
            sd = float(np.nanstd(column))
            mae = float(np.abs(got[found] - wanted[found]).mean()) if found.any() else float("nan")
            result[name] = {
                "unit": measurement.UNITS[name],
                "spearman": float(spearmanr(wanted[found], got[found]).statistic) if found.sum() > 2 else None,
                "mae": mae,
                "mae_over_sd": mae / sd,
                "test_sd": sd,
                "requested_range": [float(low), float(high)],
                "values": CONTROL_VALUES,
                "images": int(len(got)),
                "missing": int((~found).sum()),
            }
        return {"attribute_control": result}


class LabelledMorpho(Morpho):
    """``label: true``: the base dataset's label condition (one-hot) comes first; satisfies :class:`condgen.LabelledDataset`."""

    def __init__(self, config: MorphoConfig, context: condgen.BuildContext, base: Any) -> None:
        if not isinstance(base, condgen.LabelledDataset) or len(tuple(base.condition_shape)) != 1:
            raise condgen.PluginError(
                f"The morpho dataset with label: true needs a base dataset with class labels and a flat condition; "
                f"{config.base.name!r} has none.",
                hint="Set label: false to condition on the attributes alone.",
            )
        self.num_classes = int(base.num_classes)
        super().__init__(config, context, base)

    def _label_width(self) -> int:
        return int(self.base.condition_shape[0])

    def _label_rows(self, labels: tuple[int, ...]) -> tuple[torch.Tensor, list[str]]:
        chosen = labels or tuple(range(self.num_classes))
        rows = self.base.conditions_for_labels(torch.tensor(chosen))
        return rows.to(torch.float32), [str(label) for label in chosen]

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """One condition per label, every attribute at its training median."""
        medians = self._standardise(self._stats()["median"][None]).to(torch.float32)
        return torch.cat([self.base.conditions_for_labels(labels).to(torch.float32), medians.expand(len(labels), -1)], 1)


class MetricMorpho(LabelledMorpho):
    """A labelled base that ships a metric network (``mnist``): ``condgen eval`` judges labels with it."""

    def metric_network(self) -> torch.nn.Module:
        return self.base.metric_network()


def _everything(split: condgen.Split) -> tuple[np.ndarray, torch.Tensor]:
    """All images of a split as uint8 (n, H, W) and all its conditions; 8-bit pixels held by a TensorSplit as they are."""
    if isinstance(split, condgen.TensorSplit):
        x, conditions = split.x, split.condition.to(torch.float32)
        if x.dtype == torch.uint8 and math.isclose(split.scale, 1 / 255):
            return _grayscale(x).numpy(), conditions
        chunks = [(x[start : start + 10_000], None) for start in range(0, len(x), 10_000)]
        scale = split.scale
    else:
        chunks = [split.batch(torch.arange(start, min(start + 10_000, len(split)))) for start in range(0, len(split), 10_000)]
        conditions = torch.cat([c for _, c in chunks]) if chunks else torch.zeros(0, 0)
        scale = 1.0
    as_bytes = [_grayscale(x).to(torch.float32).mul_(scale * 255).clamp_(0, 255).round_().to(torch.uint8) for x, _ in chunks]
    return (torch.cat(as_bytes) if as_bytes else torch.zeros(0, 1, 1, dtype=torch.uint8)).numpy(), conditions


def _grayscale(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 4 or x.shape[1] != 1:
        raise condgen.DataError(f"The morpho dataset measures grayscale images (1, H, W); got x of shape {tuple(x.shape[1:])}.")
    return x[:, 0]


def _statistics(values: np.ndarray) -> dict[str, torch.Tensor]:
    """Per attribute, over the images with measurements: mean, std, median, min, max (float64)."""
    if np.isnan(values).all(0).any():
        raise condgen.DataError("No training image has a foreground to measure: the morpho attributes are undefined.")
    std = np.nanstd(values, axis=0)
    stats = {
        "mean": np.nanmean(values, axis=0),
        "std": np.where(std > 0, std, 1.0),
        "median": np.nanmedian(values, axis=0),
        "min": np.nanmin(values, axis=0),
        "max": np.nanmax(values, axis=0),
    }
    return {name: torch.from_numpy(np.asarray(value, dtype=np.float64)) for name, value in stats.items()}


def build(config: MorphoConfig, context: condgen.BuildContext) -> Morpho:
    return wrap(config, context, context.build(config.base))


def wrap(config: MorphoConfig, context: condgen.BuildContext, base: Any) -> Morpho:
    """The morpho dataset around ``base``, already built from ``config.base`` (a wrapper of morpho builds it once)."""
    shape = tuple(base.x_shape)
    if len(shape) != 3 or shape[0] != 1:
        raise condgen.PluginError(
            f"The morpho dataset measures grayscale images, x of shape (1, H, W); the dataset {config.base.name!r} "
            f"gives x of shape {shape}."
        )
    if not config.label:
        return Morpho(config, context, base)
    return MetricMorpho(config, context, base) if isinstance(base, condgen.MetricDataset) else LabelledMorpho(config, context, base)
