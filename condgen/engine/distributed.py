"""Data-parallel training: which rank does what, and how the ranks agree.

One process per rank runs ``condgen run`` (torchrun starts them; ``condgen run
--nproc N`` starts torchrun). The default process group is always gloo, on CPU
tensors: it carries the small traffic every rank must agree on (setup errors,
per-step loss sums and stop flags, run-folder paths, RNG states). Gradients
are averaged by :class:`GradientAverage`, the step's gradient sync (see
``updates.py``), over that gloo group on CPU and over a NCCL group on CUDA.

The rule that keeps ranks from hanging: a rank never raises a
:class:`UserError` on its own while the others wait in a collective. Work that
can fail on user input runs inside :meth:`World.together`, which catches the
error, tells every rank, and makes them all raise it; each gradient all-reduce
is preceded by one that carries a failure flag, for the same reason.
A crash that is not a UserError (a bug, a killed process) ends that process,
and torchrun then stops the others.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from ..errors import DistributedError, UserError
from .updates import GradientSync, Stopped, non_finite

T = TypeVar("T")


class RankFailed(UserError):
    """Another rank's UserError, raised on this rank so every process stops the same way."""

    def __init__(self, message: str, *, hint: str | None, exit_code: int) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code


@dataclass
class World:
    """This process's place among the ranks; ``World()`` is a plain single-process run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    #: the error every rank raised together; safe to wait for the others after it
    agreed: BaseException | None = field(default=None, repr=False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- agreement ---------------------------------------------------------
    def together(self, fn: Callable[[], T], *, main_only: bool = False) -> T:
        """Run ``fn`` (on every rank, or on rank 0 only) and share the outcome.

        With ``main_only`` every rank gets rank 0's result (it must pickle).
        If ``fn`` raised a UserError on any rank, every rank raises the lowest
        such rank's error. ``fn`` must not use collectives itself.
        """
        if self.size == 1:
            return fn()
        result: Any = None
        error: UserError | None = None
        if self.is_main or not main_only:
            try:
                result = fn()
            except UserError as caught:
                error = caught
        outcomes = self.gather((_describe(error), result if main_only else None))
        self._raise_first([description for description, _ in outcomes], error)
        return outcomes[0][1] if main_only else result

    def settle(self, error: UserError | None) -> None:
        """Every rank calls this at the same point; all raise the first rank's error, if any rank has one."""
        if self.size == 1:
            if error is not None:
                raise error
            return
        self._raise_first(self.gather(_describe(error)), error)

    def mark_agreed(self, error: BaseException) -> BaseException:
        """``error`` is being raised on every rank at the same point (e.g. an agreed stop)."""
        if self.size > 1:  # the shared single-process World keeps no error (nor the frames it holds)
            self.agreed = error
        return error

    def _raise_first(self, descriptions: list[tuple[str, str | None, int] | None], own: UserError | None) -> None:
        for rank, description in enumerate(descriptions):
            if description is None:
                continue
            if rank == self.rank and own is not None:
                raise self.mark_agreed(own)
            message, hint, code = description
            raise self.mark_agreed(
                RankFailed(f"Rank {rank} of {self.size}: {message}" if rank else message, hint=hint, exit_code=code)
            )

    # -- collectives on the default (gloo, CPU) group ------------------------
    def gather(self, obj: T) -> list[T]:
        if self.size == 1:
            return [obj]
        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        """In place on a CPU tensor; a no-op in a single process."""
        if self.size > 1:
            dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
        return tensor

    def mean_over_ranks(
        self, means: dict[str, Any], count: int, flag: bool = False
    ) -> tuple[dict[str, Any], int, bool]:
        """Every rank's ``means`` over its ``count`` examples, as means over all ranks' examples; the total
        count; whether any rank raised ``flag``. One small all-reduce; alone, the arguments unchanged.
        Every rank must pass the same keys."""
        if self.size == 1:
            return means, count, flag
        keys = sorted(means)
        stats = torch.tensor([float(means[key]) * count for key in keys] + [count, float(flag)], dtype=torch.float64)
        self.all_reduce(stats)
        total = int(stats[-2])
        return {key: float(stats[i]) / max(total, 1) for i, key in enumerate(keys)}, total, bool(stats[-1] > 0)

    def max_over_ranks(self, value: float) -> float:
        if self.size == 1:
            return value
        return float(self.all_reduce(torch.tensor([value], dtype=torch.float64), op="max")[0])

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier()

    def close(self) -> None:
        if self.size > 1 and dist.is_initialized():
            dist.destroy_process_group()

    def exit(self, code: int) -> NoReturn:
        """End a rank's process, skipping the interpreter's teardown.

        DDP keeps the gloo group alive past ``destroy_process_group`` (its
        threads still run; seen with torch 2.13), and tearing those down at
        interpreter exit aborts the process now and then ("terminate called
        without an active exception", SIGABRT: a failed rank to torchrun).
        Everything a run writes is already closed, so flush and leave.
        """
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    # -- checks --------------------------------------------------------------
    def check_batch_size(self, batch_size: int) -> None:
        if batch_size % self.size:
            raise DistributedError(
                f"trainer.batch_size {batch_size} does not split evenly over {self.size} processes: "
                "each rank takes batch_size / processes rows of every global batch.",
                hint=f"Use a batch size divisible by {self.size}, or another number of processes.",
            )


SINGLE = World()


def _describe(error: UserError | None) -> tuple[str, str | None, int] | None:
    return None if error is None else (error.message, error.hint, error.exit_code)


def join() -> World:
    """This process's World: from torchrun's environment, joining the gloo group; single when alone."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE
    rank = int(os.environ["RANK"])
    world = World(rank=rank, size=size, local_rank=int(os.environ.get("LOCAL_RANK", rank)))
    try:
        dist.init_process_group("gloo")
    except (RuntimeError, ValueError) as error:
        raise DistributedError(f"Rank {rank} could not join the process group: {error}") from None
    return world


# -- data -------------------------------------------------------------------
@dataclass(frozen=True)
class Shard:
    """One rank's part of a global batch."""

    index: torch.Tensor  # rows this rank computes
    count: int  # examples it contributes to the metrics (0 for a borrowed row)
    weight: float  # gradient scale that makes the ranks' average the global batch mean's gradient


def shard(index: torch.Tensor, rank: int, size: int) -> Shard:
    """Rows ``rank::size`` of the global batch ``index``.

    Equal shares (the batch size divides by the world size) get weight 1.
    The epoch's short last batch can split unevenly: a rank with ``n_r`` of
    ``m`` rows scales its gradients by ``n_r * size / m``, so their average
    over the ranks is the gradient of the mean over all ``m``. A rank left with
    no rows computes the first row with weight 0, because every rank must take
    part in the gradient all-reduce.
    """
    local = index[rank::size]
    if len(local) == 0:
        return Shard(index[:1], 0, 0.0)
    return Shard(local, len(local), len(local) * size / len(index))


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """The seed of rank ``rank``'s own noise stream (rank 0 keeps the recipe's stream untouched)."""
    digest = hashlib.sha256(f"condgen-rank:{seed}:{rank}:{step}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % 2**63


# -- device and model ---------------------------------------------------------
def resolve_device(setting: str, world: World) -> torch.device:
    """``trainer.device``: auto picks CUDA when torch sees a GPU; rank ``local_rank`` takes GPU ``local_rank``."""
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DistributedError(
            "trainer.device is cuda, but this torch sees no CUDA device "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda or 'none'}).",
            hint="Use trainer.device=cpu or auto, or install a CUDA build of torch on a machine with a GPU.",
        )
    count = torch.cuda.device_count()
    if world.local_rank >= count:
        raise DistributedError(
            f"Local rank {world.local_rank} has no GPU of its own: this machine shows {count}.",
            hint=f"Start at most {count} processes per machine (--nproc-per-node), or use trainer.device=cpu.",
        )
    if world.size > 1 and not dist.is_nccl_available():
        raise DistributedError("trainer.device is cuda, but this torch was built without NCCL.")
    torch.cuda.set_device(world.local_rank)
    return torch.device("cuda", world.local_rank)


def check_consistent(world: World, facts: dict[str, Any]) -> None:
    """Stop every rank if they disagree on what they train (``auto`` can pick different devices on different
    machines; each machine reads its own recipe and data), instead of hanging in mismatched steps later."""
    seen = world.gather(facts)

    def check() -> None:
        differ = [key for key in facts if len({repr(rank_facts[key]) for rank_facts in seen}) > 1]
        if differ:
            listed = "; ".join(
                f"{key}: " + ", ".join(f"rank {rank} {rank_facts[key]}" for rank, rank_facts in enumerate(seen))
                for key in differ
            )
            raise DistributedError(
                f"The ranks do not train the same thing ({listed}).",
                hint="Give every machine the same recipe, plugins and data, and set trainer.device explicitly.",
            )

    world.together(check)


def gradient_sync(world: World, device: torch.device, facts: dict[str, Any]) -> GradientSync:
    """The step's gradient sync for this world (a collective: every rank calls it, with the facts every rank
    must share: what it trains and on what)."""
    if world.size == 1:
        return GradientSync()
    check_consistent(world, facts)
    return GradientAverage(world, device)


class GradientAverage(GradientSync):
    """Averages each update's gradients across ranks, just before its optimiser steps.

    One flat bucket per update, scaled by the shard's weight (see
    :func:`shard`), summed and divided by the world size. (DDP's own hooks
    would see only ``backward()``, not the encoder's and decoder's
    ``torch.autograd.grad``; one mechanism serves every recipe.) A small
    all-reduce first says which parameters have a gradient on any rank and
    whether any rank failed: a NaN on one rank stops every rank at the same
    update instead of leaving the others waiting, and a parameter one rank's
    batch did not reach gets a zero gradient there, so every rank sends a
    bucket of the same length.
    """

    def __init__(self, world: World, device: torch.device) -> None:
        self.world = world
        # The control traffic stays on gloo; CUDA gradients go over their own NCCL group.
        self.group = dist.new_group(backend="nccl") if device.type == "cuda" else None
        self.weight = 1.0
        self.failure: UserError | None = None

    def begin(self, weight: float) -> None:
        """A new step: this rank's loss scale, no failure yet."""
        self.weight = weight
        self.failure = None

    def check(self, failure: UserError | None) -> None:
        """Record (not raise) a failure found before an optimiser step; :meth:`reduce` shares it."""
        if failure is not None and self.failure is None:
            self.failure = failure

    def check_values(self, values: dict[str, torch.Tensor], stopped: Stopped) -> None:
        """Read now: the gradient all-reduce waits for the step anyway, and every rank must learn of a
        non-finite value before any optimiser applies it."""
        self.check(non_finite({key: float(value) for key, value in values.items()}, stopped))

    def reduce(self, params: list[nn.Parameter]) -> None:
        """Average the gradients of ``params`` over the ranks; every rank raises if any rank failed.

        A parameter without a gradient on every rank stays without one (as in
        one process: its optimiser skips it); one with a gradient on some rank
        only is zero-filled on the others.
        """
        seen = torch.tensor([float(param.grad is not None) for param in params] + [float(self.failure is not None)])
        self.world.all_reduce(seen)
        if seen[-1] > 0:
            self.world.settle(self.failure)
        grads = []
        for param, anywhere in zip(params, seen[:-1].tolist()):
            if anywhere and param.grad is None:
                param.grad = torch.zeros_like(param)
            if anywhere:
                grads.append(param.grad)
        if not grads:
            return
        for grad in grads:
            grad.mul_(self.weight)
        _sum_in_place(grads, self.group)
        for grad in grads:
            grad.div_(self.world.size)

    def agree(self) -> None:
        """A point where every rank learns whether any rank has failed (e.g. after the forward pass)."""
        flag = self.world.all_reduce(torch.tensor([float(self.failure is not None)]))
        if flag.item() > 0:
            self.world.settle(self.failure)

    def average_buffers(self, modules: list[nn.Module]) -> None:
        """Running statistics (class centres, batch-norm means) move with each rank's data: average them."""
        buffers = [b for module in modules for b in module.buffers() if b.is_floating_point()]
        if buffers:
            _sum_in_place(buffers, self.group)
            for b in buffers:
                b.div_(self.world.size)


def _sum_in_place(tensors: list[torch.Tensor], group: Any) -> None:
    """Sum ``tensors`` over the ranks with one all-reduce of a flat copy (in their widest dtype)."""
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = torch.promote_types(dtype, tensor.dtype)
    flat = torch.cat([tensor.reshape(-1).to(dtype) for tensor in tensors])
    dist.all_reduce(flat, group=group)
    offset = 0
    for tensor in tensors:
        tensor.copy_(flat[offset : offset + tensor.numel()].view_as(tensor))
        offset += tensor.numel()
