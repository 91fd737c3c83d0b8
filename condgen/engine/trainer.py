"""The training loop of a composed model.

Determinism on CPU: the model is initialised from the recipe's seed, each
epoch's example order comes from a generator seeded with ``(seed, epoch)``,
and the global RNG state is stored in every checkpoint, so a resumed run
draws the same noise and batches as one that never stopped.
"""

from __future__ import annotations

import math
import resource
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch

from .. import __version__
from ..errors import CheckpointError, UserError
from ..model import ConditionalVAE, build_model
from ..recipe import ResolvedRecipe
from ..recipe.schema import OptimizerSection
from .checkpoint import load_checkpoint, save_checkpoint
from .run_dir import RunDir


class Interrupted(UserError):
    """The user pressed Ctrl-C; a checkpoint was saved."""

    exit_code = 130


class NumericalError(UserError):
    """A loss became NaN or infinite."""


def build_optimizer(params, config: OptimizerSection) -> torch.optim.Optimizer:
    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    if config.name == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


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


@torch.no_grad()
def evaluate_elbo(model: ConditionalVAE, split, batch_size: int) -> dict[str, float]:
    """Mean test -ELBO (and its terms) in nats per example, one posterior sample each."""
    was_training = model.training
    model.eval()
    totals = EpochTotals()
    for start in range(0, len(split), batch_size):
        index = torch.arange(start, min(start + batch_size, len(split)))
        x, c = split.batch(index)
        totals.add(model.losses(x, c).as_floats(), len(index))
    model.train(was_training)
    return totals.means()


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

    def __init__(self, resolved: ResolvedRecipe, run: RunDir, reporter: Any) -> None:
        self.resolved = resolved
        self.recipe = resolved.recipe
        self.run = run
        self.reporter = reporter
        settings = self.recipe.trainer
        if settings.threads:
            torch.set_num_threads(settings.threads)
        torch.manual_seed(self.recipe.seed)
        composed = build_model(resolved)
        self.model, self.dataset = composed.model, composed.dataset
        self.optimizer = build_optimizer(self.model.parameters(), settings.optimizer)
        self.train_split = self.dataset.load("train")
        self.test_split = self.dataset.load("test")
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.history: list[dict[str, Any]] = []
        self.totals = EpochTotals()

    # -- checkpoints -------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "condgen_version": __version__,
            "recipe": self.resolved.to_dict(),
            "recipe_digest": self.resolved.digest(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state()},
            "history": self.history,
            "totals": self.totals.state(),
        }

    def save(self) -> None:
        save_checkpoint(self.run.checkpoint, self.state())

    def restore(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"]["torch"])
            self.epoch = int(state["epoch"])
            self.step_in_epoch = int(state["step_in_epoch"])
            self.global_step = int(state["global_step"])
            self.history = list(state["history"])
            totals = state["totals"]
            self.totals = EpochTotals(dict(totals["sums"]), int(totals["examples"]), float(totals["seconds"]))
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise CheckpointError(
                f"Checkpoint {str(self.run.checkpoint)!r} does not fit this recipe's model: {error}"
            ) from None

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
                    values = self.train_step(index)
                    self.step_in_epoch = step + 1
                    self.global_step += 1
                    self.totals.add(values, len(index))
                    self.reporter.step(self.step_in_epoch, values["loss"], len(index))
                    if (every and self.global_step % every == 0) or stop_requested():
                        self.totals.seconds += time.perf_counter() - started
                        started = time.perf_counter()
                        self.save()
                        if stop_requested():
                            raise Interrupted(
                                f"Interrupted at epoch {self.epoch + 1}, step {self.step_in_epoch}; checkpoint saved.",
                                hint=f"Resume with: condgen run --resume {self.run.path}",
                            )
                self.totals.seconds += time.perf_counter() - started
                self.end_epoch()
        self.reporter.finish()
        return self.history

    def train_step(self, index: torch.Tensor) -> dict[str, float]:
        x, c = self.train_split.batch(index)
        losses = self.model.losses(x, c)
        self.optimizer.zero_grad(set_to_none=True)
        losses.loss.backward()
        values = losses.as_floats()
        for term, value in values.items():
            if not math.isfinite(value):
                raise NumericalError(
                    f"The {term} loss became {value} at epoch {self.epoch + 1}, step {self.step_in_epoch + 1} "
                    f"(global step {self.global_step + 1}); the run stopped.",
                    hint=f"The last good checkpoint is {self.run.checkpoint} (if one was saved). "
                    "Try a lower learning rate.",
                )
        self.optimizer.step()
        return values

    def end_epoch(self) -> None:
        settings = self.recipe.trainer
        train = self.totals.means()
        test = evaluate_elbo(self.model, self.test_split, settings.eval_batch_size)
        self.write_samples(self.epoch + 1)
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
            "peak_rss_mb": peak_rss_mb(),
        }
        self.history.append(row)
        self.epoch += 1
        self.step_in_epoch = 0
        self.totals = EpochTotals()
        self.save()
        self.run.write_metrics(self.history)
        self.reporter.epoch_done(row)

    def write_samples(self, epoch: int) -> None:
        from .images import save_grid

        per_row = self.recipe.trainer.samples_per_row
        conditions = self.dataset.preview_conditions(per_row)
        self.model.eval()
        images = self.model.sample(conditions)
        self.model.train()
        save_grid(images, self.run.sample_path(epoch), per_row)
