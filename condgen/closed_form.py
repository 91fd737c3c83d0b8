"""KL(q || p) for the pairs the training step meets most, written as plain tensor arithmetic.

``torch.distributions.kl_divergence`` looks its formula up in a registry by
the argument types (a ``min`` over a generator of candidate pairs), which
``torch.compile`` cannot trace: the compiled training step broke into two
graphs there, with the KL run eagerly between them. The diagonal-Gaussian
pair (every built-in encoder and prior) is computed here with torch's own
formula, operation for operation, so eager results are bit for bit those of
``kl_divergence``; every other pair is left to it.
"""

from __future__ import annotations

import torch
from torch import distributions as D


def diagonal_normal_kl(q: D.Distribution, p: D.Distribution) -> torch.Tensor | None:
    """KL(q || p) when both are ``Independent(Normal)`` over the same event dimensions; None otherwise."""
    if not (isinstance(q, D.Independent) and isinstance(p, D.Independent)):
        return None
    if type(q.base_dist) is not D.Normal or type(p.base_dist) is not D.Normal:
        return None  # a subclass may have its own registered KL
    dims = q.reinterpreted_batch_ndims
    if dims != p.reinterpreted_batch_ndims:
        return None
    qn, pn = q.base_dist, p.base_dist
    # torch.distributions.kl._kl_normal_normal, then Independent's sum over the event dimensions
    var_ratio = (qn.scale / pn.scale).pow(2)
    t1 = ((qn.loc - pn.loc) / pn.scale).pow(2)
    kl = 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    return kl.reshape(kl.shape[: kl.dim() - dims] + (-1,)).sum(-1) if dims else kl
