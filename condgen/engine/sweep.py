"""Sweeps: one recipe trained over the cross product of several override values, one run after another.

``seed=0,1,2 model.encoder.latent_dim=2,8`` is six runs. A run folder whose
saved recipe is exactly a point's resolved recipe is that point's run: a
finished one is skipped and an interrupted one resumed, so rerunning a sweep
after Ctrl-C (or a crash) continues where it stopped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import RecipeError, UserError
from ..recipe import ResolvedRecipe, load_recipe
from .run_dir import RECIPE_FILE, RunDir
from .trainer import Interrupted


def split_choices(value: str) -> list[str]:
    """``0,1,2`` -> three values; commas inside brackets, braces or quotes belong to one value (``[8,8],[16]``)."""
    choices, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(value):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            choices.append(value[start:index])
            start = index + 1
    choices.append(value[start:])
    return choices


def expand(overrides: list[str]) -> tuple[list[str], list[list[str]]]:
    """The overrides every run shares, and one list of swept overrides per run (the cross product, in order)."""
    fixed: list[str] = []
    axes: list[list[str]] = []
    for text in overrides:
        key, sep, value = text.partition("=")
        choices = split_choices(value) if sep else [value]
        if len(choices) == 1:
            fixed.append(text)
            continue
        if any(not choice.strip() for choice in choices):
            raise RecipeError(f"Sweep override {text!r} has an empty value between its commas.")
        axes.append([f"{key}={choice.strip()}" for choice in choices])
    if not axes:
        raise RecipeError(
            "--sweep needs at least one override with several values, like seed=0,1,2.",
            hint="Example: condgen run recipes/mnist_cvae.yaml seed=0,1,2 model.encoder.latent_dim=2,8 --sweep",
        )
    return fixed, [list(point) for point in itertools.product(*axes)]


@dataclass
class SweepRun:
    """One point of the sweep: its swept overrides, resolved recipe and (once known) run folder and outcome."""

    point: list[str]
    resolved: ResolvedRecipe
    run: RunDir | None = None
    #: ``pending``, ``trained``, ``resumed``, ``skipped`` (finished before), ``interrupted``, ``failed``
    outcome: str = "pending"
    error: str | None = None


def plan(recipe_path: Path, overrides: list[str]) -> list[SweepRun]:
    """Every point's recipe, validated before anything trains (a bad last value should not wait for hours)."""
    fixed, points = expand(overrides)
    return [SweepRun(point, load_recipe(recipe_path, fixed + point)) for point in points]


def previous_run(resolved: ResolvedRecipe) -> RunDir | None:
    """A run folder that trained exactly this recipe: a finished one first, else an interrupted one."""
    output = resolved.recipe.output.dir
    if not output.is_dir():
        return None
    text = resolved.to_yaml()
    found: dict[str, RunDir] = {}
    for recipe in sorted(output.glob(f"{resolved.recipe.name}-*/{RECIPE_FILE}")):
        try:
            same = recipe.read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            continue
        if same:
            run = RunDir(recipe.parent)
            status = run.read_status().get("status")
            if status == "interrupted" and not run.checkpoint.is_file():
                continue
            found.setdefault(status, run)
    return found.get("finished") or found.get("interrupted")


def run_sweep(
    runs: list[SweepRun], train: Callable[[SweepRun], Any], resume: Callable[[SweepRun], Any],
    announce: Callable[[int, SweepRun], None] = lambda index, run: None,
) -> None:
    """Train each point in turn (``train`` or ``resume`` it; both return the run folder).

    A run that fails on its own (a NaN, a full disk) is recorded and the sweep goes on; Ctrl-C stops it.
    """
    for index, sweep_run in enumerate(runs):
        before = previous_run(sweep_run.resolved)
        if before is not None and before.read_status().get("status") == "finished":
            sweep_run.run, sweep_run.outcome = before, "skipped"
            announce(index, sweep_run)
            continue
        sweep_run.run = before
        sweep_run.outcome = "resumed" if before is not None else "trained"
        announce(index, sweep_run)
        try:
            sweep_run.run = (resume if before is not None else train)(sweep_run)
        except (Interrupted, KeyboardInterrupt):
            sweep_run.outcome = "interrupted"
            raise
        except UserError as error:
            sweep_run.outcome, sweep_run.error = "failed", error.message


def final_metrics(run: RunDir | None) -> dict[str, Any]:
    """The last epoch's row of a run's metrics.jsonl (empty if there is none)."""
    import json

    if run is None or not run.metrics.is_file():
        return {}
    lines = [line for line in run.metrics.read_text().splitlines() if line.strip()]
    try:
        return json.loads(lines[-1]) if lines else {}
    except ValueError:
        return {}
