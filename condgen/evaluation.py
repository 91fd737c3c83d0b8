"""The numbers ``condgen eval`` reports, as plain functions of a model and data.

- ``importance_weighted_nll``: -log p(x|c) estimated with K importance samples
  from q(z|x,c) (Burda et al. 2016): logsumexp_k [log p(x|z_k,c) + log p(z_k|c)
  - log q(z_k|x,c)] - log K. It is an upper bound on the NLL that tightens
  as K grows and equals the (one-sample) -ELBO at K = 1.
- ``negative_elbo``: the -ELBO averaged over several posterior samples per
  example (a less noisy estimate of the training loss).
- ``conditional_accuracy``: how often a fixed classifier assigns generated
  images to the class they were generated for.
- ``frechet_distance``: FID between Gaussians fitted to two sets of features
  (``feature_statistics`` fits one; ``frechet_distance_of`` compares two fits,
  so a fixed reference set's can be cached).
- ``ignores_condition``: whether generation is blind to the condition, in
  which case a conditional accuracy would be chance presented as a result.
- ``evaluate_elbo`` / ``elbo_totals``: the one-sample test -ELBO the trainer
  reports each epoch (and ``condgen eval`` repeats), as means or as sums that
  ranks add up.
- ``bits_per_dim``: nats per example as bits per entry of x, the unit
  likelihoods of natural images are compared in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch import nn

from .model import ConditionalVAE, kl_or_estimate


@dataclass
class Totals:
    """Sums of per-batch means weighted by batch size: the mean over all examples, whatever the batches."""

    sums: dict[str, float] = field(default_factory=dict)
    examples: int = 0

    def add(self, values: dict[str, float], count: int) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value * count
        self.examples += count

    def means(self) -> dict[str, float]:
        return {key: value / max(self.examples, 1) for key, value in self.sums.items()}


def evaluate_elbo(model: ConditionalVAE, split, batch_size: int) -> dict[str, float]:
    """Mean test -ELBO (and its terms) in nats per example, one posterior sample each."""
    return elbo_totals(model, split, batch_size).means()


@torch.no_grad()
def elbo_totals(model: ConditionalVAE, split, batch_size: int, rows: torch.Tensor | None = None) -> Totals:
    """Summed test -ELBO terms over ``rows`` of the split (all of it by default): ranks sum their shards."""
    rows = torch.arange(len(split)) if rows is None else rows
    device = device_of(model)
    was_training = model.training
    model.eval()
    totals = Totals()
    for start in range(0, len(rows), batch_size):
        index = rows[start : start + batch_size]
        x, c = split.batch(index)
        totals.add(model.losses(x.to(device), c.to(device)).as_floats(), len(index))
    model.train(was_training)
    return totals


def device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


@torch.no_grad()
def importance_weighted_nll(
    model: ConditionalVAE, split, k: int, *, batch_size: int = 100, max_rows: int = 50_000
) -> float:
    """Mean importance-weighted -log p(x|c) over ``split`` in nats.

    Decoder calls are grouped into chunks of at most ``max_rows`` rows, which
    bounds memory whatever K is.
    """
    total, count = 0.0, 0
    for start in range(0, len(split), batch_size):
        index = torch.arange(start, min(start + batch_size, len(split)))
        x, condition = _on_device(model, *split.batch(index))
        total += _log_weights(model, x, condition, k, max_rows).logsumexp(0).sub(math.log(k)).sum().item()
        count += len(index)
    return -total / count


#: rows of x per decoder pass in the importance-weighted NLL: small enough that the pass's arrays (x repeated,
#: logits, per-entry log-probabilities) stay in cache; the z draws keep their own chunks (``max_rows``), so the
#: random numbers, and the estimate, do not depend on it (measured 2x faster than one pass of 10,000 rows)
PASS_ROWS = 2_500


def _log_weights(model: ConditionalVAE, x, condition, k: int, max_rows: int) -> torch.Tensor:
    n = len(x)
    q = model.posterior(x, condition)
    prior = model.prior_for(condition)
    chunk = max(1, max_rows // n)
    weights = []
    for done in range(0, k, chunk):
        for z in q.sample((min(chunk, k - done),)).split(max(1, PASS_ROWS // n)):  # z: (m, n, latent)
            weights.append(log_likelihood_per_draw(model, z, x, condition) + prior.log_prob(z) - q.log_prob(z))
    return torch.cat(weights)


def log_likelihood_per_draw(model: ConditionalVAE, z: torch.Tensor, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
    """log p(x|z_i,c) for every draw: ``z`` (m, n, latent) against ``x`` (n, ...) gives (m, n).

    A Bernoulli over every entry of x (the seed model's) is summed straight from
    the logits l with x broadcast over the draws: sum(x l) - sum(softplus(l)),
    the quantity torch's ``log_prob`` (-BCE with logits) gives, equal within
    float rounding, in two passes over the logits where torch's path makes
    about eight plus a copy of x per draw (the seed model's K = 100 NLL took
    about 25% less CPU time, one thread; the matrix products are the rest).
    Any other likelihood, or a dataset's likelihood mask, goes the general way.
    """
    m, n = z.shape[:2]
    repeated = _repeat(condition, m)
    p_x = model.likelihood(z.flatten(0, 1), repeated)
    logits = _bernoulli_logits(p_x, x)
    if logits is not None and (model.masking is None or model.masking.likelihood_mask(condition) is None):
        logits = logits.reshape(m, n, -1)
        return (logits * x.reshape(n, -1)).sum(-1) - F.softplus(logits).sum(-1)  # einsum's batched products: 3x slower
    return model.log_likelihood(p_x, _repeat(x, m), repeated).view(m, n)


def _bernoulli_logits(p_x: D.Distribution, x: torch.Tensor) -> torch.Tensor | None:
    """The logits when ``p_x`` is a Bernoulli built from logits, independent over exactly x's entries; else None."""
    if not isinstance(p_x, D.Independent) or tuple(p_x.event_shape) != tuple(x.shape[1:]):
        return None
    base = p_x.base_dist
    if type(base) is not D.Bernoulli or "logits" not in vars(base):  # built from probs: torch clamps on the way
        return None
    return base.logits


@torch.no_grad()
def negative_elbo(
    model: ConditionalVAE, split, particles: int, *, batch_size: int = 100, max_rows: int = 50_000
) -> float:
    """Mean -ELBO over ``split`` in nats, each example's averaged over ``particles`` draws of z ~ q(z|x,c).

    The same quantity as the one-sample training loss, with less noise: the
    figure Pyro reports for its CVAE examples (``Trace_ELBO(num_particles)``).
    """
    total, count = 0.0, 0
    for start in range(0, len(split), batch_size):
        index = torch.arange(start, min(start + batch_size, len(split)))
        x, condition = _on_device(model, *split.batch(index))
        n = len(x)
        q, prior = model.posterior(x, condition), model.prior_for(condition)
        chunk = max(1, max_rows // n)
        for done in range(0, particles, chunk):
            m = min(chunk, particles - done)
            z = q.sample((m,))
            kl = kl_or_estimate(q, prior, z).expand(m, n)
            total += (kl - log_likelihood_per_draw(model, z, x, condition)).sum().item() / particles
        count += n
    return total / count


def _on_device(model: ConditionalVAE, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Batches come from the (CPU) data; the model may have been moved to a GPU (``condgen.load_run(...).to``)."""
    device = device_of(model)
    return tensors if device.type == "cpu" else tuple(tensor.to(device) for tensor in tensors)


def _repeat(tensor: torch.Tensor, m: int) -> torch.Tensor:
    """(n, ...) -> (m * n, ...), sample-major, matching ``z.flatten(0, 1)``."""
    return tensor.unsqueeze(0).expand(m, *tensor.shape).reshape(m * tensor.shape[0], *tensor.shape[1:])


@torch.no_grad()
def generate_for_labels(model: ConditionalVAE, dataset, per_class: int, batch_size: int = 1000):
    """``per_class`` images for each label (decoder means at z ~ p(z|c)), with their labels, on the CPU."""
    labels = torch.arange(dataset.num_classes).repeat_interleave(per_class)
    images = [
        model.sample(*_on_device(model, dataset.conditions_for_labels(labels[start : start + batch_size]))).cpu()
        for start in range(0, len(labels), batch_size)
    ]
    return torch.cat(images), labels


@torch.no_grad()
def ignores_condition(model: ConditionalVAE, conditions: torch.Tensor) -> bool:
    """True when p(z|c) and p(x|z,c) come out the same for every one of ``conditions`` (two or more).

    Checked at z = 0 and compared exactly, so no random numbers are drawn: the
    seeded metrics that follow are unchanged, and a model that uses its
    condition at all (through the conditioner, a modulator or the prior) differs.
    """
    (conditions,) = _on_device(model, conditions)
    z = conditions.new_zeros(len(conditions), model.latent_dim)
    other = conditions.roll(1, 0)
    same_prior = torch.equal(model.prior_for(conditions).log_prob(z), model.prior_for(other).log_prob(z))
    return same_prior and torch.equal(model.likelihood(z, conditions).mean, model.likelihood(z, other).mean)


def bits_per_dim(nats: float, dims: int) -> float:
    """``nats`` per example over ``dims`` entries, in bits per entry: nats / (dims ln 2).

    For a probability mass over 8-bit values (Bernoulli on binary data, the
    discretised logistic) this is a code length; for a density (Gaussian,
    continuous Bernoulli) it is the density's, without the 8-bit bin width.
    """
    return nats / (dims * math.log(2))


@torch.no_grad()
def apply_in_batches(function, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    return torch.cat([function(images[start : start + batch_size]) for start in range(0, len(images), batch_size)])


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and covariance (float64) of a set of features: all FID needs of one side."""
    a = features.double()
    return a.mean(0), torch.cov(a.T)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """FID between the Gaussians fitted to two sets of features (see :func:`frechet_distance_of`)."""
    return frechet_distance_of(feature_statistics(features_a), feature_statistics(features_b))


def frechet_distance_of(
    statistics_a: tuple[torch.Tensor, torch.Tensor], statistics_b: tuple[torch.Tensor, torch.Tensor]
) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), in float64, from each side's (mean, covariance).

    tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of
    S_a^(1/2) S_b S_a^(1/2), which is symmetric, so no general matrix square
    root (and none of its complex round-off) is needed.
    """
    (mu_a, cov_a), (mu_b, cov_b) = statistics_a, statistics_b
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T
