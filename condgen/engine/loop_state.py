"""Where a run stands: the loop's part of a checkpoint (the networks' part is the trainer's).

Exact resume depends on this object: a run restored from ``state()`` is at the
same epoch and step, with the same history, the same running sums of the
epoch, and the same random number stream, as the run that saved it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

    def advance(self, values: dict[str, float], count: int) -> None:
        """One training step of ``count`` examples with these mean values is done."""
        self.step_in_epoch += 1
        self.global_step += 1
        self.totals.add(values, count)

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
