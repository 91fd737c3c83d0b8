"""The ``deterministic`` encoder: no latent, so the model is a network from c to p(x|c) (Pyro's NN baseline)."""

from __future__ import annotations

import torch

from condgen import BuildContext, Encoder
from condgen.evaluation import importance_weighted_nll, negative_elbo
from condgen.compose import assemble
from condgen.testing import REFERENCE_PARTS, check_component, reference_data
from condgen_deterministic import DeterministicConfig
from condgen_deterministic.encoder import Deterministic


def test_passes_the_plugin_test_kit() -> None:
    report = check_component("encoder", "deterministic")
    assert report.loss_after < report.loss_before


def test_q_is_a_distribution_over_no_numbers() -> None:
    encoder = Deterministic(DeterministicConfig(), BuildContext(input_shape=(12,)))
    assert isinstance(encoder, Encoder) and encoder.latent_dim == 0
    assert list(encoder.parameters()) == []
    q = encoder(torch.rand(5, 12), torch.rand(5, 2))
    assert q.batch_shape == (5,) and q.event_shape == (0,)
    assert q.rsample().shape == (5, 0)


class Split:
    def __init__(self, x, condition):
        self.x, self.condition = x, condition

    def __len__(self):
        return len(self.x)

    def batch(self, index):
        return self.x[index], self.condition[index]


def test_the_loss_is_the_likelihood_alone_and_every_bound_is_exact() -> None:
    parts = dict(REFERENCE_PARTS, encoder=lambda context: Deterministic(DeterministicConfig(), context))
    torch.manual_seed(0)
    model = assemble(lambda role, context: parts[role](context), (1, 6, 6), (4,))
    x, condition = reference_data((1, 6, 6), (4,), 40)
    losses = model.losses(x, condition)
    assert losses.kl.item() == 0.0
    nll_by_hand = -model.likelihood(torch.zeros(40, 0), condition).log_prob(x).mean()
    torch.testing.assert_close(losses.reconstruction, nll_by_hand)
    split = Split(x, condition)
    torch.testing.assert_close(negative_elbo(model, split, 10), nll_by_hand.item(), rtol=1e-6, atol=1e-4)
    torch.testing.assert_close(importance_weighted_nll(model, split, 20), nll_by_hand.item(), rtol=1e-6, atol=1e-4)
