"""Priors p(z | c): ``standard_normal`` ignores the condition (the seed's eq. 3);
``conditional`` is a Gaussian from a network on the condition (the seed's eq. 2).

Only the configs and the hook live here: the priors are registered by path, so
listing and validating never import torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import condgen

Activation = Literal["relu", "tanh", "elu", "silu"]


class StandardNormalConfig(condgen.ComponentConfig):
    pass


class ConditionalPriorConfig(condgen.ComponentConfig):
    hidden: list[condgen.Width] = Field(default_factory=lambda: [500, 500], max_length=64, description="hidden layers of the prior network")
    activation: Activation = "relu"


@condgen.hookimpl
def register_components(register):
    register("prior", "standard_normal", "condgen_priors.standard:StandardNormal", StandardNormalConfig)
    register("prior", "conditional", "condgen_priors.conditional:ConditionalPrior", ConditionalPriorConfig)
