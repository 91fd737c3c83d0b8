"""One training step over any number of networks, each with its own optimiser, in a set order.

A recipe without heads has one update, ``model``: the -ELBO, one optimiser,
exactly as a plain VAE loop. Heads add their own updates, and the model's
may split into ``encoder`` and ``decoder`` with separate optimisers and
losses. ``trainer.update_order`` says in what order they step, e.g.
``[classifier, discriminator, encoder, decoder]`` for CVAE-GAN.

The rules that keep the networks honest:

- a head's update sees generated images detached from the graph, so it never
  moves the model;
- the model's losses flow *through* heads' networks (feature matching) but
  gradients are taken only with respect to the model's parameters, so they
  never move a head;
- the encoder and decoder updates are computed together, before either steps,
  from one forward pass (their losses share it); so they must be adjacent in
  the order.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from ..model import ConditionalVAE, forward_step
from ..optim import OptimizerConfig, make_optimizer
from ..recipe.update_order import Stage, plan_stages
from ..training_step import TrainingStep

Check = Callable[[dict[str, float]], None]
#: called with an update's parameters after their gradients exist and before its optimiser steps
#: (under several processes: averages the gradients over the ranks)
Reduce = Callable[[list[nn.Parameter]], None]


def _no_reduce(params: list[nn.Parameter]) -> None:
    return None


class Updates:
    """The optimisers of a model and its heads, and the step that drives them."""

    def __init__(
        self,
        model: ConditionalVAE,
        heads: nn.ModuleDict,
        order: list[str],
        optimizer: OptimizerConfig,
        kl_weight: float = 1.0,
    ) -> None:
        self.model = model
        self.heads = heads
        self.kl_weight = kl_weight
        self.stages = plan_stages(order, list(heads))
        model_roles = next(stage.names for stage in self.stages if stage.kind == "model")
        decoder = set(map(id, model.decoder.parameters()))
        params = {
            "model": list(model.parameters()),
            "encoder": [p for p in model.parameters() if id(p) not in decoder],  # with conditioner and prior
            "decoder": list(model.decoder.parameters()),
        }
        self.model_params = {role: params[role] for role in model_roles}
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            role: make_optimizer(self.model_params[role], optimizer) for role in model_roles
        }
        for name, head in heads.items():
            self.optimizers[name] = head.optimizer()

    # -- checkpoints -------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {name: optimizer.state_dict() for name, optimizer in self.optimizers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state) != set(self.optimizers):
            raise KeyError(f"optimisers {sorted(state)} in the checkpoint, {sorted(self.optimizers)} in the recipe")
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state[name])

    # -- the step ----------------------------------------------------------
    def step(self, x: torch.Tensor, condition: torch.Tensor, check: Check) -> dict[str, float]:
        """One step of every update in order; ``check`` sees each update's values before it steps."""
        return self.apply(self.forward(x, condition), check)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> TrainingStep:
        """The one forward pass every update of the step shares."""
        return forward_step(self.model, x, condition, generate=bool(self.heads))

    def apply(self, shared: TrainingStep, check: Check, reduce: Reduce = _no_reduce) -> dict[str, float]:
        """Every update in order on ``shared``; ``reduce`` runs on each update's gradients before it steps."""
        values: dict[str, float] = {}
        for stage in self.stages:
            values.update(self.run_stage(stage, shared, check, reduce))
        return values

    def run_stage(self, stage: Stage, shared: TrainingStep, check: Check, reduce: Reduce = _no_reduce) -> dict[str, float]:
        if stage.kind == "head":
            return self._head_update(stage.names[0], shared, check, reduce)
        return self._model_update(stage.names, shared, check, reduce)

    def _head_update(self, name: str, shared: TrainingStep, check: Check, reduce: Reduce) -> dict[str, float]:
        head, optimizer = self.heads[name], self.optimizers[name]
        terms = head.head_losses(shared.detached())
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        values = {f"{name}_{key}": value.item() for key, value in terms.items()}
        check(values)
        reduce([param for group in optimizer.param_groups for param in group["params"]])
        optimizer.step()
        return values

    def _model_update(self, roles: tuple[str, ...], shared: TrainingStep, check: Check, reduce: Reduce) -> dict[str, float]:
        losses = shared.losses
        if not self.heads and self.kl_weight == 1.0:  # the plain VAE: its -ELBO, one backward pass
            optimizer = self.optimizers["model"]
            optimizer.zero_grad(set_to_none=True)
            losses.loss.backward()
            values = losses.as_floats()
            check(values)
            reduce(self.model_params["model"])
            optimizer.step()
            return values
        objective = {role: losses.reconstruction for role in roles}
        kl = self.kl_weight * losses.kl
        values = losses.as_floats()
        for role in roles:
            if role != "decoder":
                objective[role] = objective[role] + kl
        for head in self.heads.values():
            for term in head.model_losses(shared):
                values[term.name] = term.value.item()
                for role in roles:
                    if role == "model" or role in term.roles:
                        objective[role] = objective[role] + term.value
        for role in roles:
            values[f"{role}_loss"] = objective[role].item()
        check(values)
        for i, role in enumerate(roles):
            params = self.model_params[role]
            grads = torch.autograd.grad(objective[role], params, retain_graph=i < len(roles) - 1, allow_unused=True)
            for param, grad in zip(params, grads):
                param.grad = grad
        reduce([param for role in roles for param in self.model_params[role]])
        for role in roles:
            self.optimizers[role].step()
        return values
