"""The closed-form KL the training step uses: torch's numbers, bit for bit, in a form torch.compile traces."""

from __future__ import annotations

import torch
from torch import distributions as D

from condgen.closed_form import diagonal_normal_kl


def _diagonal(loc: torch.Tensor, scale: torch.Tensor) -> D.Distribution:
    return D.Independent(D.Normal(loc, scale, validate_args=False), 1, validate_args=False)


def test_the_diagonal_gaussian_kl_is_torchs_bit_for_bit() -> None:
    torch.manual_seed(0)
    q = _diagonal(torch.randn(7, 5), torch.rand(7, 5) + 0.1)
    p = _diagonal(torch.randn(7, 5), torch.rand(7, 5) + 0.1)
    assert torch.equal(diagonal_normal_kl(q, p), D.kl_divergence(q, p))


def test_other_pairs_are_left_to_torch() -> None:
    loc, scale = torch.zeros(3, 2), torch.ones(3, 2)
    plain = D.Normal(loc, scale)  # not a product over z's dimensions
    other_dims = D.Independent(D.Normal(loc.unsqueeze(-1), scale.unsqueeze(-1)), 2)
    laplace = D.Independent(D.Laplace(loc, scale), 1)
    assert diagonal_normal_kl(plain, plain) is None
    assert diagonal_normal_kl(_diagonal(loc, scale), laplace) is None
    assert diagonal_normal_kl(_diagonal(loc.unsqueeze(-1), scale.unsqueeze(-1)), other_dims) is None


def test_the_kl_compiles_into_one_graph() -> None:
    # kl_divergence's registry lookup breaks a compiled graph in two; this must not.
    def kl(loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        prior = _diagonal(torch.zeros_like(loc), torch.ones_like(scale))
        return diagonal_normal_kl(_diagonal(loc, scale), prior).mean()

    explained = torch._dynamo.explain(kl)(torch.randn(4, 2), torch.rand(4, 2) + 0.5)
    assert (explained.graph_count, explained.graph_break_count) == (1, 0)
