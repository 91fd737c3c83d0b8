"""The ``deterministic`` encoder: no latent variable at all (``latent_dim`` 0).

q(z | x, c) and p(z | c) are then distributions over zero numbers, the KL term
is exactly 0 and the decoder sees only the condition: the model becomes a
plain network from c to p(x | c), trained on its likelihood. That is the
deterministic baseline of Pyro's CVAE example (its ``NN``), and it runs
through the same recipes, trainer and ``condgen eval`` as any CVAE, where the
ELBO and the importance-weighted NLL both equal -log p(x | c) exactly.

Only the configs and the hook live here: the components are registered by path
(``condgen_deterministic.encoder``), so listing and validating never import torch.
"""

from __future__ import annotations

import condgen


class DeterministicConfig(condgen.ComponentConfig):
    pass


@condgen.hookimpl
def register_components(register):
    register("encoder", "deterministic", "condgen_deterministic.encoder:Deterministic", DeterministicConfig)
