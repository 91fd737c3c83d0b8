"""Where a run stands: the loop's part of a checkpoint (the networks' part is the trainer's).

Exact resume depends on this object: a run restored from ``state()`` is at the
same epoch and step, with the same history, the same running sums of the
epoch, and the same random number stream, as the run that saved it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..evaluation import Totals
from .distributed import World, rank_seed


@dataclass
class EpochTotals(Totals):
    """Running sums of the current epoch, checkpointed so a mid-epoch resume keeps them."""

    seconds: float = 0.0

    def state(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "examples": self.examples, "seconds": self.seconds}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "EpochTotals":
        return cls(dict(state["sums"]), int(state["examples"]), float(state["seconds"]))


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """This process's random number state (torch's, and the GPU's when it trains on one)."""
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


@dataclass
class LoopState:
    """The counters, the history of epoch rows and the running sums of the current epoch."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    totals: EpochTotals = field(default_factory=EpochTotals)

    def advance(self) -> None:
        """One training step is done (its values reach ``totals`` through a :class:`StepLog`)."""
        self.step_in_epoch += 1
        self.global_step += 1

    def finish_epoch(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        self.epoch += 1
        self.step_in_epoch = 0
        self.totals = EpochTotals()

    def state(self, rng: list[dict[str, torch.Tensor]]) -> dict[str, Any]:
        """The checkpoint's loop entries; ``rng`` holds every rank's RNG state (rank 0's first)."""
        extra: dict[str, Any] = {"rank_rng": rng} if len(rng) > 1 else {}
        return {
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "rng": rng[0],
            **extra,
            "history": self.history,
            "totals": self.totals.state(),
        }

    def restore(self, state: dict[str, Any], world: World, device: torch.device, seed: int) -> None:
        """Back to where ``state`` stood, with this rank's random number stream."""
        self.epoch = int(state["epoch"])
        self.step_in_epoch = int(state["step_in_epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state["history"])
        self.totals = EpochTotals.from_state(state["totals"])
        self._restore_rng(state, world, device, seed)

    def _restore_rng(self, state: dict[str, Any], world: World, device: torch.device, seed: int) -> None:
        """Each rank's own stream when the world size is unchanged; rank 0's, plus fresh ones, when it changed."""
        ranks = state.get("rank_rng")
        if world.size == 1:
            mine = state["rng"]
        elif ranks is not None and len(ranks) == world.size:
            mine = ranks[world.rank]
        elif world.rank == 0:
            mine = state["rng"]
        else:
            torch.manual_seed(rank_seed(seed, world.rank, self.global_step))
            return
        torch.set_rng_state(mine["torch"])
        if "cuda" in mine and device.type == "cuda":
            torch.cuda.set_rng_state(mine["cuda"], device)


class StepLog:
    """The values of the steps since the last read, left where the step computed them.

    Reading a value from a GPU makes the host wait for the device, so the loop
    reads every few steps instead of every step: :meth:`read` adds each
    logged step to the epoch's totals in order (the same sums, bit for bit,
    as adding them one by one) and stops at the first non-finite one.
    """

    def __init__(self) -> None:
        self.keys: list[str] | None = None
        self.rows: list[torch.Tensor] = []
        self.steps: list[tuple[int, int]] = []  # (global step, examples) of each row

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, values: dict[str, Any], count: int, global_step: int) -> None:
        """``values``: 0-dim tensors (one process) or floats (already all-reduced over ranks)."""
        if self.keys is None:
            self.keys = list(values)
        row = [values[key] for key in self.keys]
        on_device = isinstance(row[0], torch.Tensor)
        self.rows.append(torch.stack(row) if on_device else torch.tensor(row, dtype=torch.float64))
        self.steps.append((global_step, count))

    def read(self, totals: Totals, fault: Callable[[dict[str, float], int], Exception | None]) -> dict[str, float] | None:
        """Add the logged steps to ``totals``; raise ``fault(values, global_step)`` for the first bad one.
        Returns the last step's values (None when nothing was logged)."""
        if not self.rows:
            return None
        table = torch.stack(self.rows).tolist()
        steps, self.rows, self.steps = self.steps, [], []
        values: dict[str, float] = {}
        for row, (global_step, count) in zip(table, steps):
            values = dict(zip(self.keys, row))
            error = fault(values, global_step)
            if error is not None:
                raise error
            totals.add(values, count)
        return values
