"""Evaluate a run's checkpoint into ``RUN/eval.json``: everything ``condgen eval`` computes."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data import resolve_data_root
from ..version import __version__
from ..evaluation import (
    apply_in_batches,
    bits_per_dim,
    feature_statistics,
    frechet_distance_of,
    generate_for_labels,
    ignores_condition,
    importance_weighted_nll,
    evaluate_elbo,
    negative_elbo,
)
from ..protocols import ControlledDataset, LabelledDataset, MetricDataset
from .atomic import write_json
from .fid_reference import reference_statistics
from .loaded_run import LoadedRun, load_run
from .run_dir import EVAL_FILE

__all__ = ["EVAL_FILE", "EvalSettings", "evaluate_run"]


@dataclass(frozen=True)
class EvalSettings:
    k: int = 100
    per_class: int = 1000
    seed: int = 0
    batch_size: int = 100
    particles: int = 10
    train_metric: bool = True


def _scores_a_mask(model, split) -> bool:
    """Whether the likelihoods count only the entries the dataset's likelihood mask selects (inpainting)."""
    if model.masking is None or len(split) == 0:
        return False
    _, condition = split.batch(torch.arange(1))
    return model.masking.likelihood_mask(condition) is not None


def _metric_network(dataset, loaded, settings: EvalSettings, progress) -> tuple[Any, dict[str, Any] | None]:
    """The network that judges samples, and what eval.json says about it: shipped, trained here (cached), or none."""
    if isinstance(dataset, MetricDataset):
        network = dataset.metric_network()  # on the CPU: generated images come back there
        return network, {"source": "shipped with the dataset", "network": f"{type(network).__module__}.{type(network).__qualname__}"}
    if not (settings.train_metric and isinstance(dataset, LabelledDataset)):
        return None, None
    if getattr(dataset.load("train"), "labels", None) is None:
        return None, None
    from .metric_classifier import metric_classifier

    data_block = loaded.resolved.to_dict()["data"]
    network, card = metric_classifier(dataset, data_block, resolve_data_root(None) / "metric_networks", progress)
    return network, {"source": "trained on the dataset's training split by condgen eval (cached)", **card}


def _data_root(dataset) -> Path:
    """Where the dataset's files are (its ``root``), else the default data root: caches derived from them live there."""
    root = getattr(dataset, "root", None)
    return Path(root) if isinstance(root, (str, Path)) else resolve_data_root(None)


def evaluate_run(
    path: Path, settings: EvalSettings, progress=lambda message: None, checkpoint: str | None = None, *,
    allow_plugins: bool = False,
) -> dict[str, Any]:
    """Compute every metric, then write ``eval.json`` atomically (nothing is written if any step fails).

    ``checkpoint``: ``best`` or ``last``; by default best when the run has one."""
    return evaluate_loaded(load_run(path, checkpoint, allow_plugins=allow_plugins), settings, progress)


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
    if result["likelihood_mask"]:
        result["nll_bits_per_dim"] = result["test_elbo_bits_per_dim"] = None  # the mask's entries vary per example
    else:
        dims = math.prod(dataset.x_shape)
        result["nll_bits_per_dim"] = bits_per_dim(result["nll"], dims)
        result["test_elbo_bits_per_dim"] = bits_per_dim(result["test_elbo_particles"], dims)

    network, result["metric_network"] = _metric_network(dataset, loaded, settings, progress)
    if network is not None:
        progress(f"generating {settings.per_class} images per class")
        torch.manual_seed(settings.seed)
        generated, labels = generate_for_labels(model, dataset, settings.per_class)
        features = apply_in_batches(network.features, generated)  # one pass: accuracy and FID both use it
        if ignores_condition(model, dataset.conditions_for_labels(torch.arange(dataset.num_classes))):
            result["cond_accuracy"] = None
            result["note"] = "the model's samples do not depend on the condition: no cond_accuracy (it would be chance)"
        else:
            predicted = apply_in_batches(network.classify, features).argmax(1)
            result["cond_accuracy"] = (predicted == labels).float().mean().item()
        progress("FID against the test split")
        count = min(len(generated), len(test))
        pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(settings.seed))[:count]
        real, _ = test.batch(pick)
        reference = reference_statistics(network, real, _data_root(dataset) / "fid")
        result["fid"] = frechet_distance_of(feature_statistics(features[:count]), reference)
        result["fid_images"] = count
    else:
        result["cond_accuracy"] = result["fid"] = None
        result["note"] = (
            "the dataset has no class labels to train a metric network on, and ships none "
            "(condgen.MetricDataset): no cond_accuracy or FID"
        )

    if isinstance(dataset, ControlledDataset):  # attribute_control, text_control: what the dataset lets a user set
        progress("control metrics")
        torch.manual_seed(settings.seed)
        result.update(dataset.control_metrics(model.sample, test, settings.per_class))

    result["settings"] = {
        "k": settings.k,
        "per_class": settings.per_class,
        "seed": settings.seed,
        "batch_size": settings.batch_size,
        "particles": settings.particles,
        "train_metric": settings.train_metric,
        "checkpoint": loaded.checkpoint,
        "weights": loaded.weights,
        "checkpoint_epoch": loaded.epoch,
        "checkpoint_step": loaded.state["global_step"],
        "recipe_digest": loaded.resolved.digest(),
        "condgen_version": __version__,
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_json(loaded.run.path / EVAL_FILE, result)
    return result
