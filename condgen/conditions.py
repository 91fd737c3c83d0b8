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

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from .condition_request import ConditionBatch, ConditionRequest
from .errors import UserError
from .protocols import LabelledDataset, RequestableDataset, StatefulDataset


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


def check_attribute_names(given: Iterable[str], known: Sequence[str]) -> None:
    """Refuse (naming the valid names and the closest one) an attribute a dataset does not condition on."""
    unknown = [name for name in given if name not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(known), n=1)
        raise UserError(
            f"This run's dataset has no attribute {unknown[0]!r}; its attributes: {', '.join(known) or 'none'}.",
            hint=f"Did you mean {close[0]!r}?" if close else None,
        )


def dataset_state(dataset: Any) -> dict[str, Any]:
    """What the checkpoint keeps of the dataset (plain tensors and values; empty for most datasets)."""
    return dict(dataset.state_dict()) if isinstance(dataset, StatefulDataset) else {}


def restore_dataset_state(dataset: Any, state: dict[str, Any] | None) -> None:
    """Give a dataset back what :func:`dataset_state` kept, before anything asks it for conditions or shapes.

    Not ``isinstance(dataset, StatefulDataset)``: on Python 3.11 that reads every
    protocol member, and a dataset whose shapes come from its data would read
    the data (which may not be here) to answer ``condition_shape``.
    """
    restore = getattr(dataset, "load_state_dict", None)
    if state and callable(restore):
        restore(state)
