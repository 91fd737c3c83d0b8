"""The options of a decoder's observation model: what a decoder config inherits, without torch.

Kept apart from ``condgen.likelihoods`` (the distributions themselves) so a
plugin's config module, read by ``condgen validate`` and ``condgen plugins``,
can inherit them without importing torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .registry import ComponentConfig

Likelihood = Literal["bernoulli", "continuous_bernoulli", "gaussian", "logistic_mixture"]


class LikelihoodOptions(ComponentConfig):
    """The options of a decoder's observation model (a decoder config inherits them)."""

    likelihood: Likelihood = Field("bernoulli", description="the distribution p(x|z,c) over each entry of x")
    sigma: float | None = Field(
        None, gt=0, le=10, description="gaussian: a fixed standard deviation; null learns one per entry"
    )
    mixtures: int = Field(5, ge=1, le=32, description="logistic_mixture: logistic components per entry")


def values_per_entry(options: LikelihoodOptions) -> int:
    """How many numbers the network must produce for each entry of x."""
    if options.likelihood == "gaussian":
        return 1 if options.sigma is not None else 2
    if options.likelihood == "logistic_mixture":
        return 3 * options.mixtures
    return 1
