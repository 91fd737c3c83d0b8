"""The training loop of a composed model.

Determinism on CPU: the model is initialised from the recipe's seed, each
epoch's example order comes from a generator seeded with ``(seed, epoch)``,
and the global RNG state is stored in every checkpoint, so a resumed run
draws the same noise and batches as one that never stopped.

Under DDP (``world.size > 1``, see ``distributed.py`` and docs/distributed.md)
every rank computes the same epoch order and takes rows ``rank::size`` of each
global batch; losses, test -ELBO and stop requests are summed over the ranks,
and only rank 0 writes the run folder. Rank 0 keeps the recipe's RNG stream,
so a one-process run is exactly what it was before DDP existed.
"""

from __future__ import annotations

import math
import resource
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterator

import torch
from torch import nn

from .. import __version__
from ..errors import CheckpointError, DistributedError, NumericalError, UserError
from ..compose import build_model
from ..model import ConditionalVAE, InvalidParameters, Losses
from ..recipe import ResolvedRecipe
from .checkpoint import content_digest, load_checkpoint, save_checkpoint
from .distributed import (
    SINGLE,
    DataParallel,
    GradientAverage,
    World,
    check_consistent,
    rank_seed,
    resolve_device,
    shard,
    wrap,
)
from .run_dir import RunDir
from .updates import Updates

#: the loss terms summed over ranks each step, in a fixed order every rank shares
TERMS = tuple(f.name for f in fields(Losses))


class Interrupted(UserError):
    """The user pressed Ctrl-C; a checkpoint was saved."""

    exit_code = 130


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The example order of one epoch, a pure function of the seed and the epoch."""
    generator = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)
    return torch.randperm(n, generator=generator)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class EpochTotals:
    """Running sums of the current epoch, checkpointed so a mid-epoch resume keeps them."""

    sums: dict[str, float] = field(default_factory=dict)
    examples: int = 0
    seconds: float = 0.0

    def add(self, values: dict[str, float], count: int) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value * count
        self.examples += count

    def means(self) -> dict[str, float]:
        return {key: value / max(self.examples, 1) for key, value in self.sums.items()}

    def state(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "examples": self.examples, "seconds": self.seconds}


def evaluate_elbo(model: ConditionalVAE, split, batch_size: int) -> dict[str, float]:
    """Mean test -ELBO (and its terms) in nats per example, one posterior sample each."""
    return elbo_totals(model, split, batch_size).means()


@torch.no_grad()
def elbo_totals(model: ConditionalVAE, split, batch_size: int, rows: torch.Tensor | None = None) -> EpochTotals:
    """Summed test -ELBO terms over ``rows`` of the split (all of it by default): ranks sum their shards."""
    rows = torch.arange(len(split)) if rows is None else rows
    device = _device_of(model)
    was_training = model.training
    model.eval()
    totals = EpochTotals()
    for start in range(0, len(rows), batch_size):
        index = rows[start : start + batch_size]
        x, c = split.batch(index)
        totals.add(model.losses(x.to(device), c.to(device)).as_floats(), len(index))
    model.train(was_training)
    return totals


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


@contextmanager
def stop_at_step_boundary() -> Iterator[Callable[[], bool]]:
    """Turn Ctrl-C into a flag checked between steps, so a checkpoint is never taken mid-update."""
    requested = False

    def handler(signum, frame):
        nonlocal requested
        if requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        requested = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield lambda: False
        return
    try:
        yield lambda: requested
    finally:
        signal.signal(signal.SIGINT, previous)


class Trainer:
    """Trains one resolved recipe into one run folder."""

    def __init__(self, resolved: ResolvedRecipe, run: RunDir, reporter: Any, world: World = SINGLE) -> None:
        """Local work only (no collectives), so ``world.together`` can guard it; then call :meth:`distribute`."""
        self.resolved = resolved
        self.recipe = resolved.recipe
        self.run = run
        self.reporter = reporter
        self.world = world
        settings = self.recipe.trainer
        if settings.threads:
            torch.set_num_threads(settings.threads)
        world.check_batch_size(settings.batch_size)
        self.device = resolve_device(settings.device, world)
        torch.manual_seed(self.recipe.seed)
        composed = build_model(resolved)
        self.model, self.dataset = composed.model.to(self.device), composed.dataset
        self.heads = composed.heads.to(self.device)
        self.updates = Updates(self.model, self.heads, settings.update_order, settings.optimizer, settings.kl_weight)
        #: the model's optimiser: the whole update of a recipe without heads (the DDP path steps it alone)
        self.optimizer = self.updates.optimizers.get("model")
        self.train_split = self.dataset.load("train")
        self.test_split = self.dataset.load("test")
        #: the DDP-wrapped model (called like ``model.losses``) once :meth:`distribute` ran with several ranks
        #: on a recipe with one optimiser; with several (heads), gradients are averaged by hand instead
        self.ddp: DataParallel | None = None
        self.gradients: GradientAverage | None = None
        self.stop_agreed = False
        if world.rank:  # the same initial weights everywhere, but each rank its own reparameterisation noise
            torch.manual_seed(rank_seed(self.recipe.seed, world.rank))
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.saved_step: int | None = None
        self.history: list[dict[str, Any]] = []
        self.totals = EpochTotals()

    def distribute(self) -> None:
        """Wrap the model in DDP (a collective: every rank calls it, after any restore)."""
        if self.world.size > 1:
            facts = {
                "recipe": self.resolved.digest()[:12],
                "device": self.device.type,
                "training examples": len(self.train_split),
                "test examples": len(self.test_split),
            }
            check_consistent(self.world, facts)
            # DDP's own path covers the plain -ELBO with one optimiser; everything else is averaged by hand.
            if set(self.updates.optimizers) == {"model"} and not self.heads and self.recipe.trainer.kl_weight == 1.0:
                self.ddp = wrap(self.model, self.world, self.device)
            else:
                self.gradients = GradientAverage(self.world, self.device)

    # -- checkpoints -------------------------------------------------------
    def state(self, rng: list[dict[str, torch.Tensor]] | None = None) -> dict[str, Any]:
        """Everything a resume needs; ``rng`` holds every rank's RNG state (rank 0's alone by default)."""
        rng = rng or [rng_state(self.device)]
        extra: dict[str, Any] = {"rank_rng": rng} if len(rng) > 1 else {}
        return {
            "condgen_version": __version__,
            "recipe": self.resolved.to_dict(),
            "recipe_digest": self.resolved.digest(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "model": self.model.state_dict(),
            "optimizers": self.updates.state_dict(),
            "heads": self.heads.state_dict(),
            "rng": rng[0],
            **extra,
            "world_size": self.world.size,
            "history": self.history,
            "totals": self.totals.state(),
        }

    def save(self) -> None:
        """Every rank calls this; rank 0 writes every rank's RNG state with the weights, once it has checked
        that every rank holds the same weights (DDP keeps them equal bit for bit; a plugin that changes its
        parameters outside the optimiser, differently on each rank, would not)."""
        digest = content_digest(self._weights()) if self.world.size > 1 else None
        rng, digests = zip(*self.world.gather((rng_state(self.device), digest)))
        self.world.together(lambda: self._write_checkpoint(list(rng), list(digests)), main_only=True)
        self.saved_step = self.global_step

    def _write_checkpoint(self, rng: list[dict[str, torch.Tensor]], digests: list[str | None]) -> None:
        if len(set(digests)) > 1:
            differ = [rank for rank, digest in enumerate(digests) if digest != digests[0]]
            raise DistributedError(
                f"At global step {self.global_step} the model weights on rank(s) {differ} differ from rank 0's; "
                "the run stopped without saving them.",
                hint="A plugin changes its parameters outside the optimiser (or from rank-dependent data); "
                "DDP keeps only gradient updates in step.",
            )
        # A step can leave non-finite weights behind a finite loss (an infinite
        # gradient); such a state is never written over the last good checkpoint.
        for name, tensor in self._weights().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise NumericalError(
                    f"The model parameter {name} became NaN or infinite by global step {self.global_step} "
                    "(a gradient was not finite); the run stopped without saving it.",
                    hint=self._last_good_hint(),
                )
        save_checkpoint(self.run.checkpoint, self.state(rng))

    def _weights(self) -> dict[str, torch.Tensor]:
        """The model's and the heads' parameters and buffers, under the names the checks report."""
        return {**self.model.state_dict(), **{f"heads.{k}": v for k, v in self.heads.state_dict().items()}}

    def _last_good_hint(self) -> str:
        if self.saved_step is None:
            where = "No checkpoint was saved before it."
        else:
            where = f"The last good checkpoint (global step {self.saved_step}) is kept in {self.run.checkpoint}."
        return f"{where} Try a lower learning rate, or look for the term or plugin that diverges."

    def restore(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model"])
            self.updates.load_state_dict(state["optimizers"])
            self.heads.load_state_dict(state["heads"])
            self.epoch = int(state["epoch"])
            self.step_in_epoch = int(state["step_in_epoch"])
            self.global_step = int(state["global_step"])
            self._restore_rng(state)
            self.saved_step = self.global_step
            self.history = list(state["history"])
            totals = state["totals"]
            self.totals = EpochTotals(dict(totals["sums"]), int(totals["examples"]), float(totals["seconds"]))
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise CheckpointError(
                f"Checkpoint {str(self.run.checkpoint)!r} does not fit this recipe's model: {error}"
            ) from None

    def _restore_rng(self, state: dict[str, Any]) -> None:
        """Each rank's own stream when the world size is unchanged; rank 0's, plus fresh ones, when it changed."""
        ranks = state.get("rank_rng")
        if self.world.size == 1:
            mine = state["rng"]
        elif ranks is not None and len(ranks) == self.world.size:
            mine = ranks[self.world.rank]
        elif self.world.rank == 0:
            mine = state["rng"]
        else:
            torch.manual_seed(rank_seed(self.recipe.seed, self.world.rank, self.global_step))
            return
        torch.set_rng_state(mine["torch"])
        if "cuda" in mine and self.device.type == "cuda":
            torch.cuda.set_rng_state(mine["cuda"], self.device)

    def resume(self) -> None:
        self.restore(load_checkpoint(self.run.checkpoint))

    # -- the loop ----------------------------------------------------------
    def fit(self) -> list[dict[str, Any]]:
        settings = self.recipe.trainer
        n = len(self.train_split)
        steps_per_epoch = math.ceil(n / settings.batch_size)
        every = settings.checkpoint_every_steps
        self.model.train()
        self.reporter.start(self.epoch, settings.epochs, steps_per_epoch, self.step_in_epoch)
        with stop_at_step_boundary() as stop_requested:
            while self.epoch < settings.epochs:
                order = epoch_order(self.recipe.seed, self.epoch, n)
                started = time.perf_counter()
                for step in range(self.step_in_epoch, steps_per_epoch):
                    index = order[step * settings.batch_size : (step + 1) * settings.batch_size]
                    if self.ddp is not None:
                        values, count = self.distributed_step(index, stop_requested())
                    elif self.gradients is not None:
                        values, count = self.distributed_updates_step(index, stop_requested())
                    else:
                        values, count = self.train_step(index), len(index)
                    self.step_in_epoch = step + 1
                    self.global_step += 1
                    self.totals.add(values, count)
                    self.reporter.step(self.step_in_epoch, values["loss"], count)
                    # Under DDP the ranks stop at the step whose all-reduce first carried a request.
                    stop = (lambda: self.stop_agreed) if self.world.size > 1 else stop_requested
                    if (every and self.global_step % every == 0) or stop():
                        self.totals.seconds += time.perf_counter() - started
                        started = time.perf_counter()
                        self.save()
                        if stop():
                            raise self.world.mark_agreed(Interrupted(
                                f"Interrupted at epoch {self.epoch + 1}, step {self.step_in_epoch}; checkpoint saved.",
                                hint=f"Resume with: condgen run --resume {self.run.path}{self._nproc_option()}",
                            ))
                self.totals.seconds += time.perf_counter() - started
                self.end_epoch()
        if self.history:  # a run killed between its last checkpoint and metrics write catches up here
            self.world.together(lambda: self.run.write_metrics(self.history), main_only=True)
        self.reporter.finish()
        return self.history

    def _nproc_option(self) -> str:
        return f" --nproc {self.world.size}" if self.world.size > 1 else ""

    def train_step(self, index: torch.Tensor) -> dict[str, float]:
        """One step of every update (the model's, and each head's) in a single process: the batch's mean losses."""
        try:
            return self.updates.step(*self._batch(self.train_split, index), check=self._check_finite)
        except InvalidParameters as error:
            raise self._stopped(error.message) from None

    def _check_finite(self, values: dict[str, float]) -> None:
        failure = self._non_finite(values)
        if failure is not None:
            raise failure

    def distributed_step(self, index: torch.Tensor, stop: bool) -> tuple[dict[str, float], int]:
        """One update under DDP: this rank's rows of the global batch ``index``; the global means and count.

        One small all-reduce before backward sums the losses and carries two
        flags: a failure on any rank (every rank then raises it, instead of the
        others waiting forever in DDP's gradient all-reduce), and a stop request.
        """
        part = shard(index, self.world.rank, self.world.size)
        losses, values, failure = self._losses(self.ddp, *self._batch(self.train_split, part.index))
        sums = [values.get(term, 0.0) * part.count for term in TERMS]
        stats = torch.tensor(sums + [part.count, float(failure is not None), float(stop)], dtype=torch.float64)
        self.world.all_reduce(stats)
        if stats[-2] > 0:
            self.world.settle(failure)
        self.stop_agreed = bool(stats[-1] > 0)
        self.optimise(losses.loss if part.weight == 1.0 else losses.loss * part.weight)
        count = int(stats[-3])
        return {term: float(stats[i]) / count for i, term in enumerate(TERMS)}, count

    def distributed_updates_step(self, index: torch.Tensor, stop: bool) -> tuple[dict[str, float], int]:
        """One step of every update (heads included) over several ranks: the global means and count.

        Each rank runs the same updates in the same order on its shard;
        :class:`GradientAverage` averages each update's gradients just before
        its optimiser steps, so every rank applies the same step and the
        weights stay equal. Running buffers are averaged after the step.
        """
        assert self.gradients is not None
        part = shard(index, self.world.rank, self.world.size)
        self.gradients.begin(part.weight)
        shared = None
        try:
            shared = self.updates.forward(*self._batch(self.train_split, part.index))
        except InvalidParameters as error:
            self.gradients.check(self._stopped(error.message))
        self.gradients.agree()
        values = self.updates.apply(
            shared, check=lambda found: self.gradients.check(self._non_finite(found)), reduce=self.gradients.reduce
        )
        self.gradients.average_buffers([self.model, self.heads])
        terms = sorted(values)
        stats = torch.tensor([values[t] * part.count for t in terms] + [part.count, float(stop)], dtype=torch.float64)
        self.world.all_reduce(stats)
        self.stop_agreed = bool(stats[-1] > 0)
        count = int(stats[-2])
        return {term: float(stats[i]) / count for i, term in enumerate(terms)}, count

    def optimise(self, loss: torch.Tensor) -> None:
        """The DDP step's update (DDP averages gradients inside ``backward``).

        Recipes with several optimisers go through :meth:`distributed_updates_step` instead.
        """
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def _batch(self, split, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, c = split.batch(index)
        return x.to(self.device), c.to(self.device)

    def _losses(
        self, forward: Callable[..., Losses], x: torch.Tensor, c: torch.Tensor
    ) -> tuple[Losses | None, dict[str, float], NumericalError | None]:
        """The batch's losses and their values, or the NumericalError that must stop the run: returned, not
        raised, so that under DDP every rank hears of it before anyone raises."""
        try:
            losses = forward(x, c)
        except InvalidParameters as error:
            return None, {}, self._stopped(error.message)
        values = losses.as_floats()
        return losses, values, self._non_finite(values)

    def _non_finite(self, values: dict[str, float]) -> NumericalError | None:
        # The terms first: the total is non-finite whenever one of them is, so it names nothing.
        for term in sorted(values, key=lambda key: key == "loss"):
            value = values[term]
            if not math.isfinite(value):
                what = "The loss" if term == "loss" else f"The {term} term of the loss"
                return self._stopped(f"{what} became {value}")
        return None

    def _stopped(self, what: str) -> NumericalError:
        return NumericalError(
            f"{what} at epoch {self.epoch + 1}, step {self.step_in_epoch + 1} (global step {self.global_step + 1}); "
            "the run stopped before applying that step.",
            hint=self._last_good_hint(),
        )

    def test_elbo(self) -> dict[str, float]:
        """The test -ELBO; under DDP each rank scores a contiguous shard and the sums are all-reduced."""
        settings = self.recipe.trainer
        if self.world.size == 1:
            return evaluate_elbo(self.model, self.test_split, settings.eval_batch_size)
        rows = torch.arange(len(self.test_split)).tensor_split(self.world.size)[self.world.rank]
        local = self.world.together(lambda: elbo_totals(self.model, self.test_split, settings.eval_batch_size, rows))
        sums = torch.tensor([local.sums.get(term, 0.0) for term in TERMS] + [local.examples], dtype=torch.float64)
        self.world.all_reduce(sums)
        return {term: float(sums[i]) / max(float(sums[-1]), 1.0) for i, term in enumerate(TERMS)}

    def end_epoch(self) -> None:
        train = self.totals.means()
        test = self.test_elbo()
        self.world.together(lambda: self.write_samples(self.epoch + 1), main_only=True)
        row = {
            "epoch": self.epoch + 1,
            "step": self.global_step,
            **{f"train_{key}": value for key, value in train.items()},
            "test_elbo": test["loss"],
            "test_reconstruction": test["reconstruction"],
            "test_kl": test["kl"],
            "images_per_s": self.totals.examples / max(self.totals.seconds, 1e-9),
            "train_seconds": self.totals.seconds,
            "wall_time": time.time(),
            "peak_rss_mb": self.world.max_over_ranks(peak_rss_mb()),  # the largest process's peak
        }
        self.history.append(row)
        self.epoch += 1
        self.step_in_epoch = 0
        self.totals = EpochTotals()
        self.save()
        self.world.together(lambda: self.run.write_metrics(self.history), main_only=True)
        self.reporter.epoch_done(row)

    def write_samples(self, epoch: int) -> None:
        from .images import save_grid

        per_row = self.recipe.trainer.samples_per_row
        conditions = self.dataset.preview_conditions(per_row).to(self.device)
        self.model.eval()
        images = self.model.sample(conditions).cpu()
        self.model.train()
        save_grid(images, self.run.sample_path(epoch), per_row)
