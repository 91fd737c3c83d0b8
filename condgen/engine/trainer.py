"""The training loop of a composed model.

Determinism on CPU: the model is initialised from the recipe's seed, each
epoch's example order comes from a generator seeded with ``(seed, epoch)``,
and the global RNG state is stored in every checkpoint, so a resumed run
draws the same noise and batches as one that never stopped.

Under several processes (``world.size > 1``, see ``distributed.py`` and
docs/distributed.md) every rank computes the same epoch order and takes rows
``rank::size`` of each global batch; the step is the same one (``updates.py``)
with the gradients averaged over the ranks; losses, test -ELBO and stop
requests are summed over the ranks, and only rank 0 writes the run folder.
Rank 0 keeps the recipe's RNG stream, so a one-process run is exactly what it
was before DDP existed.

The loop reads: for each step, step; at each epoch's end, evaluate, hand the
row to the callbacks, save, report.
"""

from __future__ import annotations

import math
import resource
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, Callable, Iterator

import torch
from torch import nn

from ..compose import build_model
from ..conditions import dataset_state
from ..data import hold_out
from ..errors import (
    CheckpointError,
    DistributedError,
    Notice,
    NumericalError,
    RecipeError,
)
from ..evaluation import elbo_totals, evaluate_elbo
from ..model import ConditionalVAE, Losses
from ..protocols import RunInfo
from ..recipe import ResolvedRecipe
from ..version import __version__
from .callbacks import Callback, LoggerFeed, SampleGrid
from .checkpoint import content_digest, save_checkpoint
from .compiled import Compiler, convolutional, wants_compile
from .distributed import SINGLE, World, rank_seed, resolve_device, shard
from .ema import WeightAverage
from .loggers import Loggers
from .loop_state import LoopState, StepLog, rng_state
from .precision import autocast_dtype, precision_name, resumed_autocast
from .run_dir import RunDir
from .schedules import LearningRates, kl_weight
from .selection import Selection
from .updates import GradientSync, Updates, non_finite

#: the -ELBO terms, in a fixed order every rank shares
TERMS = tuple(f.name for f in fields(Losses))
#: steps between reads of the step values from the device (and the progress line's refreshes)
READ_EVERY = 20


class Interrupted(Notice):
    """The user pressed Ctrl-C, or the process got SIGTERM; a checkpoint was saved. Exit code 128 + the signal."""

    title = "Stopped"

    def __init__(self, message: str, *, hint: str | None = None, signum: int = signal.SIGINT) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = 128 + signum


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The example order of one epoch, a pure function of the seed and the epoch."""
    generator = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)
    return torch.randperm(n, generator=generator)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StopRequest:
    """Whether (and by which signal) a stop was requested; called like a flag."""

    signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None


@contextmanager
def stop_at_step_boundary(signals: tuple[int, ...] = (signal.SIGINT,)) -> Iterator[StopRequest]:
    """Turn Ctrl-C (and SIGTERM, when asked) into a flag checked between steps, so a checkpoint is never taken
    mid-update."""
    request = StopRequest()

    def handler(signum, frame):
        if request.signum is not None:  # a second signal: stop now
            raise KeyboardInterrupt
        request.signum = signum

    previous: dict[int, Any] = {}
    try:
        for signum in signals:
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield StopRequest()
        return
    try:
        yield request
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@dataclass
class TrainingParts:
    """What a recipe builds before training starts: the networks on their device and the data."""

    resolved: ResolvedRecipe
    device: torch.device
    model: ConditionalVAE
    heads: nn.ModuleDict
    dataset: Any
    train_split: Any
    test_split: Any
    #: held out of the training data (``data.validation``) or the dataset's own; None: no validation
    validation_split: Any = None

    def facts(self) -> dict[str, Any]:
        """What every rank must share (checked before the first step)."""
        return {
            "recipe": self.resolved.digest()[:12],
            "device": self.device.type,
            "training examples": len(self.train_split),
            "validation examples": 0 if self.validation_split is None else len(self.validation_split),
            "test examples": len(self.test_split),
        }


def build_parts(
    resolved: ResolvedRecipe, world: World = SINGLE, dataset_state: dict[str, Any] | None = None
) -> TrainingParts:
    """Local work only (no collectives), so ``world.together`` can guard it: every rank builds the same
    initial weights from the recipe's seed, then switches to its own noise stream. A resumed run passes its
    checkpoint's ``dataset_state``, so it keeps the classes and statistics it was trained with."""
    settings = resolved.recipe.trainer
    if settings.threads:
        torch.set_num_threads(settings.threads)
    world.check_batch_size(settings.batch_size)
    device = resolve_device(settings.device, world)
    torch.manual_seed(resolved.recipe.seed)
    composed = build_model(resolved, dataset_state)
    model, heads, dataset = composed.model.to(device), composed.heads.to(device), composed.dataset
    train, validation = load_training_splits(resolved, dataset)
    parts = TrainingParts(resolved, device, model, heads, dataset, train, dataset.load("test"), validation)
    if world.rank:  # the same initial weights everywhere, but each rank its own reparameterisation noise
        torch.manual_seed(rank_seed(resolved.recipe.seed, world.rank))
    return parts


def load_training_splits(resolved: ResolvedRecipe, dataset: Any) -> tuple[Any, Any]:
    """The training split and the validation split: ``data.validation`` held out of the training data, else
    the dataset's own (one that lists ``"validation"`` in ``splits``), else none."""
    held_out = resolved.recipe.data.validation
    if held_out is not None:
        return hold_out(dataset.load("train"), held_out)
    validation = dataset.load("validation") if "validation" in getattr(dataset, "splits", ()) else None
    if validation is None and resolved.recipe.trainer.early_stopping is not None:
        raise RecipeError(
            "trainer.early_stopping needs a validation split: the test split never selects a model.",
            hint="Add data.validation: 5000 (examples held out of the training data) or a fraction like 0.1.",
        )
    return dataset.load("train"), validation


class Trainer:
    """Trains built parts into one run folder; ``sync`` is the step's gradient sync across the world's ranks."""

    def __init__(
        self,
        parts: TrainingParts,
        run: RunDir,
        reporter: Any,
        world: World = SINGLE,
        sync: GradientSync | None = None,
    ) -> None:
        self.resolved = parts.resolved
        self.recipe = parts.resolved.recipe
        self.run = run
        self.reporter = reporter
        self.world = world
        self.device = parts.device
        self.model, self.heads, self.dataset = parts.model, parts.heads, parts.dataset
        self.train_split, self.test_split = parts.train_split, parts.test_split
        self.validation_split = parts.validation_split
        settings = self.recipe.trainer
        self.steps_per_epoch = math.ceil(len(self.train_split) / settings.batch_size)
        planned = settings.epochs * self.steps_per_epoch
        wanted = wants_compile(settings.compile, self.device, planned, bool(self.heads), convolutional(self.model))
        compiler = Compiler(wanted, reporter.warn)
        self.updates = Updates(
            self.model, self.heads, settings.update_order, settings.optimizer, settings.kl_weight, sync, compiler,
            autocast=autocast_dtype(settings.precision, self.device),
            grad_clip=settings.grad_clip,
            free_bits=0.0 if settings.kl_schedule is None else settings.kl_schedule.free_bits,
        )
        self._compiled_until = 0.0  # the compiler's total when training time was last accounted
        #: set before each step when the recipe schedules them (None: fixed, nothing done per step)
        self.learning_rates = (
            None
            if settings.scheduler is None
            else LearningRates(settings.scheduler, self.updates.optimizers, settings.epochs * self.steps_per_epoch)
        )
        self.kl_schedule = settings.kl_schedule
        if self.kl_schedule is not None:
            self.updates.reports_objective = True
        self.ema = None if settings.ema is None else WeightAverage(self.model, settings.ema.decay)
        #: the weights that are scored, sampled and selected: the moving average when there is one
        self.scored = self.model if self.ema is None else self.ema.model
        self.selection = None if self.validation_split is None else Selection(settings.early_stopping)
        self.loggers = Loggers.for_recipe(self.resolved, reporter.warn)
        self.feed = LoggerFeed(self.loggers)
        self.callbacks: list[Callback] = [
            self.feed,  # metrics.jsonl first: a grid that fails on user settings loses no row
            SampleGrid(self.scored, self.dataset, run, settings.samples_per_row, self.loggers),
        ]
        self.loop = LoopState()
        self.log = StepLog()
        #: the last mean loss read from the device, for the progress line
        self.last_loss = float("nan")
        #: the global step of the last checkpoint this process saved or resumed from
        self.saved_step: int | None = None

    # -- checkpoints -------------------------------------------------------
    def state(self, rng: list[dict[str, torch.Tensor]] | None = None) -> dict[str, Any]:
        """Everything a resume needs; ``rng`` holds every rank's RNG state (rank 0's alone by default)."""
        return {
            "condgen_version": __version__,
            "recipe": self.resolved.to_dict(),
            "recipe_digest": self.resolved.digest(),
            "model": self.model.state_dict(),
            "optimizers": self.updates.state_dict(),
            "heads": self.heads.state_dict(),
            "dataset": dataset_state(self.dataset),
            "world_size": self.world.size,
            "precision": precision_name(self.updates.autocast),
            **self.loop.state(rng or [rng_state(self.device)]),
            **({} if self.ema is None else {"ema": self.ema.state_dict()}),
            **({} if self.selection is None else {"selection": self.selection.state()}),
        }

    def restore(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model"])
            self.updates.load_state_dict(state["optimizers"])
            self.heads.load_state_dict(state["heads"])
            self.loop.restore(state, self.world, self.device, self.recipe.seed)
            if self.ema is not None:
                self.ema.load_state_dict(state["ema"])
            if self.selection is not None:
                self.selection.restore(state["selection"])
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise CheckpointError(
                f"Checkpoint {str(self.run.checkpoint)!r} does not fit this recipe's model: {error}"
            ) from None
        self.updates.autocast, note = resumed_autocast(state.get("precision"), self.updates.autocast)
        if note is not None:
            self.reporter.warn(note)
        self.saved_step = self.loop.global_step

    def read_log(self) -> None:
        """Move the logged step values into the epoch's totals; stop at the first non-finite one."""
        def fault(found: dict[str, float], step: int) -> NumericalError | None:
            return non_finite(found, lambda what: self._stopped(what, step))

        values = self.log.read(self.loop.totals, fault)
        if values is not None:
            self.last_loss = values["loss"]

    def save(self, best: bool = False) -> None:
        """Every rank calls this (after reading the logged steps: a non-finite value stops the run before its
        state is saved); rank 0 writes every rank's RNG state with the weights, once it has checked
        that every rank holds the same weights (the averaged gradients keep them equal bit for bit; a plugin
        that changes its parameters outside the optimiser, differently on each rank, would not)."""
        self.read_log()
        digest = content_digest(self._weights()) if self.world.size > 1 else None
        rng, digests = zip(*self.world.gather((rng_state(self.device), digest)))
        self.world.together(lambda: self._write_checkpoint(list(rng), list(digests), best), main_only=True)
        self.saved_step = self.loop.global_step

    def _write_checkpoint(self, rng: list[dict[str, torch.Tensor]], digests: list[str | None], best: bool) -> None:
        if len(set(digests)) > 1:
            differ = [rank for rank, digest in enumerate(digests) if digest != digests[0]]
            raise DistributedError(
                f"At global step {self.loop.global_step} the model weights on rank(s) {differ} differ from rank 0's; "
                "the run stopped without saving them.",
                hint="A plugin changes its parameters outside the optimiser (or from rank-dependent data); "
                "averaged gradients keep only optimiser updates in step.",
            )
        # A step can leave non-finite weights behind a finite loss (an infinite
        # gradient); such a state is never written over the last good checkpoint.
        for name, tensor in self._weights().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise NumericalError(
                    f"The model parameter {name} became NaN or infinite by global step {self.loop.global_step} "
                    "(a gradient was not finite); the run stopped without saving it.",
                    hint=self._last_good_hint(),
                )
        state = self.state(rng)
        if best:  # first: a crash between the two writes repeats this epoch, which rewrites best.pt the same
            save_checkpoint(self.run.best_checkpoint, state)
        save_checkpoint(self.run.checkpoint, state)

    def _weights(self) -> dict[str, torch.Tensor]:
        """The model's and the heads' parameters and buffers, under the names the checks report.

        A module's extra state (``get_extra_state``: a text encoder's tokenizer) is not a tensor and is left out.
        """
        named = {**self.model.state_dict(), **{f"heads.{k}": v for k, v in self.heads.state_dict().items()}}
        return {name: value for name, value in named.items() if isinstance(value, torch.Tensor)}

    def _last_good_hint(self) -> str:
        if self.saved_step is None:
            where = "No checkpoint was saved before it."
        else:
            where = f"The last good checkpoint (global step {self.saved_step}) is kept in {self.run.checkpoint}."
        return f"{where} Try a lower learning rate, or look for the term or plugin that diverges."

    # -- the loop ----------------------------------------------------------
    def fit(self) -> list[dict[str, Any]]:
        settings, loop = self.recipe.trainer, self.loop
        steps_per_epoch = self.steps_per_epoch
        self.model.train()
        self.world.together(lambda: self.feed.start(self.run_info()), main_only=True)
        if loop.history and loop.step_in_epoch == 0:  # killed between an epoch's checkpoint and its callbacks
            self._call_back(lambda callback: callback.saved(loop.history))
        self.reporter.start(loop.epoch, settings.epochs, steps_per_epoch, loop.step_in_epoch)
        # SIGTERM (a scheduler, systemd, kill) stops a one-process run like Ctrl-C; under torchrun the agent owns it.
        signals = (signal.SIGINT, signal.SIGTERM) if self.world.size == 1 else (signal.SIGINT,)
        with stop_at_step_boundary(signals) as stop_requested:
            while loop.epoch < settings.epochs and not (self.selection is not None and self.selection.should_stop):
                self.train_epoch(steps_per_epoch, stop_requested)
                self.end_epoch()
        if loop.history:  # a run killed between its last checkpoint and metrics write catches up here
            self._call_back(lambda callback: callback.saved(loop.history))
        self.reporter.finish()
        return loop.history

    def run_info(self) -> RunInfo:
        loop = self.loop
        return RunInfo(self.run.path, self.recipe.name, self.resolved.to_dict(), tuple(loop.history), loop.global_step)

    def finish_loggers(self, status: str) -> None:
        """The run's end as run.json records it (rank 0's loggers only)."""
        if self.world.is_main:
            self.loggers.finish(status)

    def outcome(self) -> dict[str, Any]:
        """What run.json adds about model selection (nothing without a validation split)."""
        return {} if self.selection is None else self.selection.summary()

    def train_epoch(self, steps_per_epoch: int, stop_requested: StopRequest) -> None:
        """The epoch's remaining steps, with a checkpoint every ``checkpoint_every_steps`` and on Ctrl-C."""
        settings, loop = self.recipe.trainer, self.loop
        size, every = settings.batch_size, settings.checkpoint_every_steps
        order = epoch_order(self.recipe.seed, loop.epoch, len(self.train_split))
        started = time.perf_counter()
        for step in range(loop.step_in_epoch, steps_per_epoch):
            values, count, stop_agreed = self.step(order[step * size : (step + 1) * size], stop_requested())
            loop.advance()
            self.log.add(values, count, loop.global_step)
            if len(self.log) >= READ_EVERY:
                self.read_log()
            self.reporter.step(loop.step_in_epoch, self.last_loss, count)
            # Several ranks stop at the step whose all-reduce first carried a request; one process at once.
            stop = stop_agreed if self.world.size > 1 else stop_requested()
            if (every and loop.global_step % every == 0) or stop:
                started = self._account(started)
                self.save()
                if stop:
                    by = " by SIGTERM" if stop_requested.signum == signal.SIGTERM else ""
                    raise self.world.mark_agreed(Interrupted(
                        f"Interrupted{by} at epoch {loop.epoch + 1}, step {loop.step_in_epoch}; checkpoint saved.",
                        hint=f"Resume with: condgen run --resume {self.run.path}{self._nproc_option()}",
                        signum=stop_requested.signum or signal.SIGINT,
                    ))
        self._account(started)

    def _account(self, started: float) -> float:
        """Add the time since ``started`` to the epoch's training time, less any compiling (counted apart);
        returns the new start."""
        now = time.perf_counter()
        compiled = self.updates.compiler.compile_seconds - self._compiled_until
        self._compiled_until += compiled
        self.loop.totals.seconds += now - started - compiled
        self.loop.totals.compile_seconds += compiled
        return now

    def step(self, index: torch.Tensor, stop: bool) -> tuple[dict[str, Any], int, bool]:
        """One step of every update on this rank's rows of the global batch ``index``: the global mean
        values (on the device in one process), the global example count, and whether any rank was asked
        to ``stop``."""
        part = shard(index, self.world.rank, self.world.size)
        x, c = self.train_split.batch(part.index)
        if self.learning_rates is not None:
            self.learning_rates.set(self.loop.global_step)
        if self.kl_schedule is not None:
            self.updates.kl_weight = kl_weight(self.recipe.trainer.kl_weight, self.kl_schedule, self.loop.global_step)
        try:
            values = self.updates.step(x.to(self.device), c.to(self.device), self._stopped, weight=part.weight)
        except NumericalError:
            self.read_log()  # a fault logged at an earlier step (whose NaN weights broke this one) comes first
            raise
        if self.ema is not None:
            self.ema.update()
        return self.world.mean_over_ranks(values, part.count, stop)

    def _nproc_option(self) -> str:
        return f" --nproc {self.world.size}" if self.world.size > 1 else ""

    def _stopped(self, what: str, global_step: int | None = None) -> NumericalError:
        """The error for a fault at ``global_step`` of this epoch (by default the step being taken)."""
        loop = self.loop
        at = loop.global_step + 1 if global_step is None else global_step
        return NumericalError(
            f"{what} at epoch {loop.epoch + 1}, step {loop.step_in_epoch - loop.global_step + at} (global step {at}); "
            "the run stopped without saving that step or any after it.",
            hint=self._last_good_hint(),
        )

    def end_epoch(self) -> None:
        """Score the epoch (validation split, else the test split as before validation existed), hand the row
        out, and checkpoint: best.pt too when the validation score is the best so far."""
        loop = self.loop
        self.read_log()
        if self.validation_split is not None:
            row = self.epoch_row(loop.totals.means(), self.elbo_on(self.validation_split), "val")
        else:
            row = self.epoch_row(loop.totals.means(), self.elbo_on(self.test_split), "test")
        improved = self.selection is not None and self.selection.update(row)
        self._call_back(lambda callback: callback.epoch_end(loop.epoch + 1, row))
        loop.finish_epoch(row)
        self.save(best=improved)  # first: nothing after it (the metrics, the sample grid) can lose the epoch
        self._call_back(lambda callback: callback.saved(loop.history))
        self.reporter.epoch_done(row)

    def elbo_on(self, split: Any) -> dict[str, float]:
        """The -ELBO of the scored weights on ``split``; under several ranks each scores a contiguous shard and
        the sums are all-reduced."""
        settings = self.recipe.trainer
        if self.world.size == 1:
            return evaluate_elbo(self.scored, split, settings.eval_batch_size)
        rows = torch.arange(len(split)).tensor_split(self.world.size)[self.world.rank]
        local = self.world.together(lambda: elbo_totals(self.scored, split, settings.eval_batch_size, rows))
        means = local.means()
        return self.world.mean_over_ranks({term: means.get(term, 0.0) for term in TERMS}, local.examples)[0]

    def epoch_row(self, train: dict[str, float], scores: dict[str, float], split: str) -> dict[str, Any]:
        """The epoch's line of ``metrics.jsonl``; ``split`` names the held-out split scored (val or test)."""
        totals = self.loop.totals
        return {
            "epoch": self.loop.epoch + 1,
            "step": self.loop.global_step,
            **{f"train_{key}": value for key, value in train.items()},
            f"{split}_elbo": scores["loss"],
            f"{split}_reconstruction": scores["reconstruction"],
            f"{split}_kl": scores["kl"],
            "images_per_s": totals.examples / max(totals.seconds, 1e-9),
            "train_seconds": totals.seconds,
            "compile_seconds": totals.compile_seconds,
            "ended_at": time.time(),  # Unix time; train_seconds is the epoch's duration
            "peak_rss_mb": self.world.max_over_ranks(peak_rss_mb()),  # the largest process's peak
        }

    def _call_back(self, call: Callable[[Callback], None]) -> None:
        """Every callback, on rank 0 alone (a failure there stops every rank)."""

        def each() -> None:
            for callback in self.callbacks:
                call(callback)

        self.world.together(each, main_only=True)
