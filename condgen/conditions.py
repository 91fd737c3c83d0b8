"""What a user asks a model to generate, turned into a condition batch by the dataset.

``condgen sample --label 7 --attr thickness=4 --text "a thick seven"``,
``condgen eval`` and the Python API all describe what they want as one
:class:`ConditionRequest` and hand it to :func:`conditions_for`; the dataset
(which alone knows how its conditions are laid out) answers with a
:class:`ConditionBatch`. No caller ever builds a condition tensor itself, so a
new kind of condition (attributes, text) needs a dataset, not a new path
through ``sample`` and ``eval``.

A dataset opts in by defining ``conditions_for_request`` (see
:class:`condgen.RequestableDataset`); one that does not is still served from
the older protocol: labels through ``conditions_for_labels``, no labels through
``preview_conditions``. A dataset whose conditions depend on statistics of its
training data (standardised attributes) keeps them in the checkpoint through
``state_dict`` / ``load_state_dict`` (see :class:`condgen.StatefulDataset`),
so a run samples in natural units on a machine without the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch

from .errors import UserError
from .protocols import LabelledDataset, RequestableDataset, StatefulDataset


@dataclass(frozen=True)
class ConditionRequest:
    """What to generate, in the user's terms.

    Rows: one per entry of ``labels`` (or of ``text``; a dataset taking both
    pairs them up), or the dataset's own choice of rows when both are empty
    (every class, say). ``attributes`` (name -> value in natural units) apply
    to every row; a dataset fills the ones not given with a default it
    describes in the batch's notes. Each row is repeated ``copies`` times.
    """

    labels: tuple[int, ...] = ()
    attributes: Mapping[str, float] = field(default_factory=dict)
    text: tuple[str, ...] = ()
    copies: int = 1

    def __post_init__(self) -> None:
        if self.copies < 1:
            raise ValueError(f"copies must be at least 1, got {self.copies}")
        for name, value in self.attributes.items():
            if not math.isfinite(value):
                raise UserError(f"The value of the attribute {name!r} must be a finite number, got {value}.")


@dataclass(frozen=True)
class ConditionBatch:
    """The dataset's answer: ``conditions`` of shape (rows * copies, *condition_shape), row by row.

    ``rows`` names each row as a user would ("7, thickness=4.0 px"); ``notes``
    are what the user should be told (defaults filled in, values outside the
    range the model was trained on).
    """

    conditions: torch.Tensor
    rows: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def copies(self) -> int:
        return len(self.conditions) // max(1, len(self.rows))


def conditions_for(dataset: Any, request: ConditionRequest) -> ConditionBatch:
    """The condition batch ``dataset`` makes for ``request``; a :class:`condgen.UserError` names what it cannot do."""
    if isinstance(dataset, RequestableDataset):
        return dataset.conditions_for_request(request)
    if request.text:
        raise UserError(f"This run is not text-conditioned: it conditions on {conditions_of(dataset)}; drop --text.")
    if request.attributes:
        names = ", ".join(request.attributes)
        raise UserError(f"This run's dataset has no attributes to set ({names}); drop --attr and --sweep.")
    if request.labels:
        if not isinstance(dataset, LabelledDataset):
            raise UserError("This run's dataset has no class labels; drop --label.")
        labels = torch.tensor(request.labels).repeat_interleave(request.copies)
        return ConditionBatch(dataset.conditions_for_labels(labels), tuple(map(str, request.labels)))
    conditions = dataset.preview_conditions(request.copies)
    rows = max(1, len(conditions) // request.copies)
    return ConditionBatch(conditions, tuple(f"preview row {i}" for i in range(rows)))


def conditions_of(dataset: Any) -> str:
    """What a dataset's condition is, in words, for a message that refuses another kind of condition."""
    from .protocols import MaskedDataset

    if isinstance(dataset, MaskedDataset):
        return "a masked image (use condgen inpaint)"
    if isinstance(dataset, LabelledDataset):
        return f"{dataset.num_classes} class labels (use --label)"
    return f"a condition of shape {tuple(getattr(dataset, 'condition_shape', ()))}"


def dataset_state(dataset: Any) -> dict[str, Any]:
    """What the checkpoint keeps of the dataset (plain tensors and values; empty for most datasets)."""
    return dict(dataset.state_dict()) if isinstance(dataset, StatefulDataset) else {}


def restore_dataset_state(dataset: Any, state: dict[str, Any] | None) -> None:
    """Give a dataset back what :func:`dataset_state` kept, before anything asks it for conditions."""
    if state and isinstance(dataset, StatefulDataset):
        dataset.load_state_dict(state)
