"""The Python face of condgen: open a run folder, or train one, and use it from a script or notebook.

The same objects the CLI uses (the run folder, its recipe and checkpoint, the
evaluation), so ``condgen.load_run(path).evaluate()`` and ``condgen eval RUN``
give the same numbers::

    import condgen
    run = condgen.load_run("runs/mnist_cvae-20260101-120000")
    images = run.sample(label=7, n=16)          # (16, 1, 28, 28), in [0, 1]
    scores = run.evaluate()                     # what `condgen eval` writes to eval.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from .engine.loaded_run import LoadedRun
from .engine.loaded_run import load_run as _open_run
from .model import ConditionalVAE
from .recipe import Recipe, ResolvedRecipe


class Run:
    """A trained run: its recipe, its model (in eval mode) and its dataset, ready to sample and evaluate."""

    def __init__(self, loaded: LoadedRun) -> None:
        self._loaded = loaded

    @property
    def path(self) -> Path:
        return self._loaded.run.path

    @property
    def model(self) -> ConditionalVAE:
        return self._loaded.model

    @property
    def recipe(self) -> Recipe:
        """The recipe the run was trained with, every default filled in."""
        return self._loaded.resolved.recipe

    @property
    def resolved(self) -> ResolvedRecipe:
        return self._loaded.resolved

    @property
    def dataset(self) -> Any:
        return self._loaded.dataset

    @property
    def epoch(self) -> int:
        """Epochs trained when the checkpoint was taken."""
        return self._loaded.epoch

    @property
    def checkpoint(self) -> str:
        """``best`` or ``last``: which checkpoint's weights these are."""
        return self._loaded.checkpoint

    @property
    def weights(self) -> str:
        """``ema`` when these are the moving average of the weights (``trainer.ema``), else ``trained``."""
        return self._loaded.weights

    @property
    def device(self) -> torch.device:
        parameter = next(self.model.parameters(), None)
        return torch.device("cpu") if parameter is None else parameter.device

    def to(self, device: str | torch.device) -> Run:
        """Move the model (``"cuda"``, ``"cpu"``); sampling and evaluation then run there. Returns ``self``."""
        self.model.to(device)
        return self

    def sample(
        self,
        label: int | Sequence[int] | None = None,
        n: int = 16,
        *,
        condition: torch.Tensor | None = None,
        seed: int | None = None,
    ) -> torch.Tensor:
        """``n`` images per label (label-major), or one per row of ``condition``, or a preview grid's worth.

        Decoder means at z ~ p(z|c), on the model's device. ``seed`` makes the draw repeatable.
        """
        if condition is None:
            if label is not None:
                from .conditions import ConditionRequest, conditions_for

                labels = (label,) if isinstance(label, int) else tuple(label)
                condition = conditions_for(self.dataset, ConditionRequest(labels=labels, copies=n)).conditions
            else:
                condition = self.dataset.preview_conditions(n)[:n]
        if seed is not None:
            torch.manual_seed(seed)
        return self.model.sample(condition.to(self.device))

    def evaluate(
        self, *, k: int = 100, per_class: int = 1000, seed: int = 0, batch_size: int = 100, particles: int = 10
    ) -> dict[str, Any]:
        """Everything ``condgen eval`` computes (and, like it, written to the run's eval.json)."""
        from .engine.evaluate_run import EvalSettings, evaluate_loaded

        settings = EvalSettings(k=k, per_class=per_class, seed=seed, batch_size=batch_size, particles=particles)
        return evaluate_loaded(self._loaded, settings)

    def __repr__(self) -> str:
        return f"<condgen.Run {str(self.path)!r}: {self.recipe.name}, epoch {self.epoch}, on {self.device}>"


def load_run(path: str | Path, checkpoint: str | None = None, *, allow_plugins: bool = False) -> Run:
    """Open a run folder that ``condgen run`` (or :func:`train`) wrote; loading it executes no code unless
    ``allow_plugins`` lets it import the plugin modules its recipe names (run folders you trust only).

    ``checkpoint``: ``best`` (by the validation score) or ``last``; by default best when the run has one.
    """
    return Run(_open_run(Path(path), checkpoint, allow_plugins=allow_plugins))


def train(recipe: str | Path, overrides: Sequence[str] = (), *, progress: bool = False) -> Run:
    """Train ``recipe`` (a path) with ``key=value`` overrides, as ``condgen run`` would; return the finished run.

    Quiet by default; ``progress=True`` prints the same progress bar as the CLI.
    """
    from .engine.progress import RichReporter, SilentReporter
    from .engine.session import start_run
    from .recipe import load_recipe

    resolved = load_recipe(Path(recipe), list(overrides))
    if progress:
        from rich.console import Console

        reporter: Any = RichReporter(Console())
    else:
        reporter = SilentReporter()
    run_dir, _ = start_run(resolved, reporter)
    return load_run(run_dir.path)
