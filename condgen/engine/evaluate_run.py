"""Evaluate a run's checkpoint into ``RUN/eval.json``: everything ``condgen eval`` computes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..evaluation import (
    apply_in_batches,
    frechet_distance,
    generate_for_labels,
    ignores_condition,
    importance_weighted_nll,
    evaluate_elbo,
    negative_elbo,
)
from ..protocols import MetricDataset
from .atomic import write_json
from .loaded_run import LoadedRun, load_run

EVAL_FILE = "eval.json"


@dataclass(frozen=True)
class EvalSettings:
    k: int = 100
    per_class: int = 1000
    seed: int = 0
    batch_size: int = 100
    particles: int = 10


def _scores_a_mask(model, split) -> bool:
    """Whether the likelihoods count only the entries the dataset's likelihood mask selects (inpainting)."""
    if model.masking is None or len(split) == 0:
        return False
    _, condition = split.batch(torch.arange(1))
    return model.masking.likelihood_mask(condition) is not None


def evaluate_run(
    path: Path, settings: EvalSettings, progress=lambda message: None, checkpoint: str | None = None
) -> dict[str, Any]:
    """Compute every metric, then write ``eval.json`` atomically (nothing is written if any step fails).

    ``checkpoint``: ``best`` or ``last``; by default best when the run has one."""
    return evaluate_loaded(load_run(path, checkpoint), settings, progress)


def evaluate_loaded(loaded: LoadedRun, settings: EvalSettings, progress=lambda message: None) -> dict[str, Any]:
    """:func:`evaluate_run` for a run already open (on whatever device its model was moved to)."""
    model, dataset = loaded.model, loaded.dataset
    test = dataset.load("test")
    started = time.perf_counter()
    result: dict[str, Any] = {}

    torch.manual_seed(settings.seed)
    progress("test -ELBO")
    elbo = evaluate_elbo(model, test, settings.batch_size)
    result["test_elbo"] = elbo["loss"]
    result["test_reconstruction"] = elbo["reconstruction"]
    result["test_kl"] = elbo["kl"]

    progress(f"test -ELBO, {settings.particles} particles")
    torch.manual_seed(settings.seed)
    result["test_elbo_particles"] = negative_elbo(model, test, settings.particles, batch_size=settings.batch_size)
    result["particles"] = settings.particles
    result["likelihood_mask"] = _scores_a_mask(model, test)

    progress(f"importance-weighted NLL, K={settings.k}")
    torch.manual_seed(settings.seed)
    result["nll"] = importance_weighted_nll(model, test, settings.k, batch_size=settings.batch_size)
    result["nll_k"] = settings.k

    if isinstance(dataset, MetricDataset):
        progress(f"generating {settings.per_class} images per class")
        network = dataset.metric_network()  # on the CPU: generated images come back there
        torch.manual_seed(settings.seed)
        generated, labels = generate_for_labels(model, dataset, settings.per_class)
        if ignores_condition(model, dataset.conditions_for_labels(torch.arange(dataset.num_classes))):
            result["cond_accuracy"] = None
            result["note"] = "the model's samples do not depend on the condition: no cond_accuracy (it would be chance)"
        else:
            predicted = apply_in_batches(network, generated).argmax(1)
            result["cond_accuracy"] = (predicted == labels).float().mean().item()
        progress("FID against the test split")
        count = min(len(generated), len(test))
        pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(settings.seed))[:count]
        real, _ = test.batch(pick)
        result["fid"] = frechet_distance(
            apply_in_batches(network.features, generated[:count]), apply_in_batches(network.features, real)
        )
        result["fid_images"] = count
    else:
        result["cond_accuracy"] = result["fid"] = None
        result["note"] = "the dataset ships no metric network (condgen.MetricDataset): no cond_accuracy or FID"

    result["settings"] = {
        "k": settings.k,
        "per_class": settings.per_class,
        "seed": settings.seed,
        "batch_size": settings.batch_size,
        "particles": settings.particles,
        "checkpoint": loaded.checkpoint,
        "weights": loaded.weights,
        "checkpoint_epoch": loaded.epoch,
        "checkpoint_step": int(loaded.state.get("global_step", 0)),
        "recipe_digest": loaded.resolved.digest(),
        "condgen_version": __version__,
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_json(loaded.run.path / EVAL_FILE, result)
    return result
