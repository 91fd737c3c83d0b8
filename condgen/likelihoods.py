"""Observation models p(x | z, c) a decoder can end in, shared by every decoder plugin.

A decoder computes ``values_per_entry(options)`` numbers for each entry of x
and hands them, shaped ``(N, P, *x_shape)``, to :func:`likelihood`:

- ``bernoulli`` / ``continuous_bernoulli``: one logit per entry (binary or
  [0, 1] data; the seed model's choice).
- ``gaussian``: a mean per entry and a fixed ``sigma``, or (``sigma: null``) a
  learned standard deviation per entry, kept above ``MIN_SIGMA`` so a constant
  pixel (MNIST's black border) cannot drive the density to infinity.
- ``logistic_mixture``: the discretised logistic mixture of PixelCNN++
  (Salimans et al. 2017) for 8-bit data in [0, 1]: each entry's 256 bins get
  the mass a mixture of ``mixtures`` logistics puts on them, the two end bins
  taking the tails. It is a probability mass, so -log p is an honest code length.
  Channels are modelled independently given z (no autoregressive coupling).
"""

from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from torch import distributions as D

from .likelihood_options import LikelihoodOptions

MIN_SIGMA = 0.01
MIN_LOG_SCALE = -7.0
BINS = 255  # 8-bit data: 256 values, 255 intervals between 0 and 1


def likelihood(options: LikelihoodOptions, raw: torch.Tensor) -> D.Distribution:
    """p(x|z,c) from the network's output ``raw`` of shape (N, P, *x_shape), independent over x's entries."""
    event_dims = raw.dim() - 2
    if options.likelihood == "bernoulli":
        base = D.Bernoulli(logits=raw[:, 0], validate_args=False)
    elif options.likelihood == "continuous_bernoulli":
        base = D.ContinuousBernoulli(logits=raw[:, 0], validate_args=False)
    elif options.likelihood == "gaussian":
        scale = raw.new_tensor(options.sigma) if options.sigma is not None else MIN_SIGMA + F.softplus(raw[:, 1])
        base = D.Normal(raw[:, 0], scale.expand_as(raw[:, 0]), validate_args=False)
    else:
        k = options.mixtures
        params = raw.unflatten(1, (3, k)).movedim(2, -1)  # (N, 3, *x_shape, K)
        base = DiscretisedLogisticMixture(params[:, 0], params[:, 1], params[:, 2])
    return D.Independent(base, event_dims, validate_args=False)


class DiscretisedLogisticMixture(D.Distribution):
    """A mixture of logistics discretised onto the 256 values {0, 1/255, ..., 1}, one per entry.

    Parameters have a trailing dimension of ``K`` components: mixture logits,
    means (on the [-1, 1] scale the data is mapped to) and log scales.
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, logits: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor) -> None:
        self.logits = logits
        self.means = means
        self.log_scales = log_scales.clamp_min(MIN_LOG_SCALE)
        super().__init__(batch_shape=logits.shape[:-1], validate_args=False)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        y = (2 * x - 1).unsqueeze(-1)  # [0, 1] -> [-1, 1]; bins are 2/255 wide
        centred = y - self.means
        inverse_scale = torch.exp(-self.log_scales)
        upper = inverse_scale * (centred + 1 / BINS)
        lower = inverse_scale * (centred - 1 / BINS)
        log_cdf_upper = upper - F.softplus(upper)  # log sigmoid(upper): the left end bin's mass
        log_survival_lower = -F.softplus(lower)  # log (1 - sigmoid(lower)): the right end bin's mass
        mass = torch.sigmoid(upper) - torch.sigmoid(lower)
        middle = inverse_scale * centred
        # Where the bin's mass underflows, the density at its centre times its width (2/255).
        log_density = middle - self.log_scales - 2 * F.softplus(middle) + math.log(2 / BINS)
        inner = torch.where(mass > 1e-5, torch.log(mass.clamp_min(1e-12)), log_density)
        per_component = torch.where(y < -0.999, log_cdf_upper, torch.where(y > 0.999, log_survival_lower, inner))
        return torch.logsumexp(per_component + F.log_softmax(self.logits, -1), -1)

    @property
    def mean(self) -> torch.Tensor:
        """The mixture's mean, clamped to the data's range (the logistics' tails fall into the end bins)."""
        weights = F.softmax(self.logits, -1)
        return ((weights * self.means).sum(-1).clamp(-1, 1) + 1) / 2

    @torch.no_grad()
    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        shape = torch.Size(sample_shape) + self.logits.shape
        component = D.Categorical(logits=self.logits).sample(sample_shape).unsqueeze(-1)
        means = self.means.expand(shape).gather(-1, component).squeeze(-1)
        log_scales = self.log_scales.expand(shape).gather(-1, component).squeeze(-1)
        u = torch.rand(means.shape, device=means.device).clamp(1e-5, 1 - 1e-5)
        y = (means + torch.exp(log_scales) * (torch.log(u) - torch.log1p(-u))).clamp(-1, 1)
        return torch.round((y + 1) / 2 * BINS) / BINS
