"""The request and answer types of :func:`condgen.conditions_for`: plain values, a leaf every layer may import.

A :class:`ConditionRequest` is what a user asks a model to generate;
a :class:`ConditionBatch` is the dataset's answer. They live apart from
``conditions.py`` because the dataset protocols (``protocols.py``) name them,
and ``conditions.py`` dispatches on those protocols.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import torch

from .errors import UserError


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
