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

This is the only training step there is: one process or many. What differs
with several processes is injected as a :class:`GradientSync`: alone it has
nothing to agree on; ``distributed.GradientAverage`` all-reduces each
update's gradients just before its optimiser steps, and makes every process
stop together when one of them finds a fault.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import fields
from typing import Any, Callable

import torch
from torch import nn

from ..errors import NumericalError, UserError
from ..model import ConditionalVAE, InvalidParameters, forward_step
from ..optim import OptimizerConfig, make_optimizer
from ..recipe.update_order import Stage, plan_stages
from ..training_step import TrainingStep
from .compiled import Compiler

#: sees each update's values (0-dim tensors on the device) before its optimiser steps
Check = Callable[[dict[str, torch.Tensor]], None]
#: words the NumericalError for a fault found at this step (the trainer knows the epoch and step)
Stopped = Callable[[str], NumericalError]


class GradientSync:
    """How a step's processes agree: this base is one process, with nothing to agree on.

    ``distributed.GradientAverage`` overrides every method; the step calls them
    at the same points whatever the number of processes.
    """

    def begin(self, weight: float) -> None:
        """A new step; ``weight`` scales this process's share of the global batch's mean (1 alone)."""

    def check(self, failure: UserError | None) -> None:
        """A fault found before an optimiser step: alone, stop at once."""
        if failure is not None:
            raise failure

    def check_values(self, values: dict[str, torch.Tensor], stopped: Stopped) -> None:
        """An update's values before its optimiser steps. Alone, nothing to do: reading them here would make
        every step wait for the device; the trainer reads them every few steps and stops at the first
        non-finite one, before it saves (the checkpoint before it stays good)."""

    def agree(self) -> None:
        """A point where every process learns whether any has failed (after the forward pass)."""

    def reduce(self, params: list[nn.Parameter]) -> None:
        """Make the gradients of ``params`` the global batch's, just before their optimiser steps."""

    def average_buffers(self, modules: list[nn.Module]) -> None:
        """Make running statistics (class centres, batch-norm means) the same in every process."""


def non_finite(values: dict[str, float], stopped: Stopped) -> NumericalError | None:
    """The error naming the first non-finite value, if any."""
    # The terms first: the total is non-finite whenever one of them is, so it names nothing.
    for term in sorted(values, key=lambda key: key == "loss"):
        value = values[term]
        if not math.isfinite(value):
            what = "The loss" if term == "loss" else f"The {term} term of the loss"
            return stopped(f"{what} became {value}")
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
        sync: GradientSync | None = None,
        compiler: Compiler | None = None,
        autocast: torch.dtype | None = None,
        *,
        grad_clip: float | None = None,
        free_bits: float = 0.0,
    ) -> None:
        self.model = model
        self.heads = heads
        self.kl_weight = kl_weight
        #: each update's gradients are clipped to this global L2 norm (after averaging over processes)
        self.grad_clip = grad_clip
        #: nats per latent dimension below which the KL is not penalised (0: the plain KL)
        self.free_bits = free_bits
        #: report each role's objective beside the -ELBO terms even when it equals the -ELBO; set when the
        #: objective can differ at some step (free bits, a KL schedule), so every step logs the same columns
        self.reports_objective = free_bits > 0
        self.sync = sync or GradientSync()
        #: compiles (when asked) the shared forward pass and each head's two losses
        self.compiler = compiler or Compiler(False, print)
        self.forward_pass = self.compiler(forward_step)
        #: the lower precision the forward pass runs in (None: float32 throughout)
        self.autocast = autocast
        self.head_losses = {name: self.compiler(head.head_losses) for name, head in heads.items()}
        self.model_losses = {name: self.compiler(head.model_losses) for name, head in heads.items()}
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
            own = head.optimizer()
            if own is not None:  # a head without parameters (a fixed measurement) has no update of its own
                self.optimizers[name] = own

    # -- checkpoints -------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {name: optimizer.state_dict() for name, optimizer in self.optimizers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state) != set(self.optimizers):
            raise KeyError(f"optimisers {sorted(state)} in the checkpoint, {sorted(self.optimizers)} in the recipe")
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state[name])

    # -- the step ----------------------------------------------------------
    def step(
        self, x: torch.Tensor, condition: torch.Tensor, stopped: Stopped, weight: float = 1.0
    ) -> dict[str, torch.Tensor]:
        """One step of every update in order on this process's rows; the batch's mean values, on the device.

        ``weight`` is this process's share of the global batch (see
        ``distributed.shard``). Parameters a distribution rejects stop the step
        at once (on every process); non-finite values are the sync's to check
        (see :meth:`GradientSync.check_values`).
        """
        with self.compiler.first_step():
            self.sync.begin(weight)
            shared = None
            try:
                shared = self.forward(x, condition)
            except InvalidParameters as error:
                self.sync.check(stopped(error.message))
            self.sync.agree()
            values = self.apply(shared, check=lambda found: self.sync.check_values(found, stopped))
            self.sync.average_buffers([self.model, self.heads])
        return values

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> TrainingStep:
        """The one forward pass every update of the step shares."""
        with self.precision(x.device):
            return self.forward_pass(self.model, x, condition, generate=bool(self.heads))

    def precision(self, device: torch.device) -> AbstractContextManager[Any]:
        """The lower precision every forward computation of the step runs in: the model's pass and each head's
        losses (a head fed the bf16 images the decoder generated under autocast must run under it too)."""
        if self.autocast is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=self.autocast)

    def apply(self, shared: TrainingStep, check: Check) -> dict[str, torch.Tensor]:
        """Every update in order on ``shared``."""
        values: dict[str, torch.Tensor] = {}
        for stage in self.stages:
            values.update(self.run_stage(stage, shared, check))
        return values

    def run_stage(self, stage: Stage, shared: TrainingStep, check: Check) -> dict[str, torch.Tensor]:
        if stage.kind == "head":
            return self._head_update(stage.names[0], shared, check)
        return self._model_update(stage.names, shared, check)

    def _head_update(self, name: str, shared: TrainingStep, check: Check) -> dict[str, torch.Tensor]:
        optimizer = self.optimizers.get(name)
        if optimizer is None:
            return {}
        with self.precision(shared.x.device):
            terms = self.head_losses[name](shared.detached())
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        values = {f"{name}_{key}": value.detach() for key, value in terms.items()}
        check(values)
        params = [param for group in optimizer.param_groups for param in group["params"]]
        self.sync.reduce(params)
        self._clip(params)
        optimizer.step()
        return values

    def _free_bits_kl(self, shared: TrainingStep) -> torch.Tensor:
        """sum_j max(free_bits, mean over the batch of KL_j): needs KL per latent dimension in closed form."""
        q, p = _per_dimension(shared.posterior), _per_dimension(self.model.prior_for(shared.condition))
        try:
            per_dimension = torch.distributions.kl_divergence(q, p)
        except NotImplementedError:
            per_dimension = None
        if per_dimension is None or per_dimension.shape != shared.z.shape:
            raise UserError(
                "trainer.kl_schedule.free_bits needs the KL per latent dimension in closed form: a posterior and "
                f"prior that are products over z's dimensions (got {type(q).__name__} and {type(p).__name__}).",
                hint="Drop free_bits, or use encoders and priors that return torch.distributions.Independent.",
            )
        return per_dimension.mean(0).clamp(min=self.free_bits).sum()

    def _clip(self, params: list[nn.Parameter]) -> None:
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_([param for param in params if param.grad is not None], self.grad_clip)

    def _model_update(self, roles: tuple[str, ...], shared: TrainingStep, check: Check) -> dict[str, torch.Tensor]:
        """The -ELBO (its KL scaled by ``kl_weight``) plus the heads' terms, each role its own objective."""
        losses = shared.losses
        values = {term.name: getattr(losses, term.name).detach() for term in fields(losses)}
        # Unscaled, the model's objective is the -ELBO itself, to the last bit (reconstruction + kl).
        kl = losses.kl if not self.free_bits else self._free_bits_kl(shared)
        kl = kl if self.kl_weight == 1.0 else self.kl_weight * kl
        objective = {role: losses.reconstruction if role == "decoder" else losses.reconstruction + kl for role in roles}
        with self.precision(shared.x.device):
            terms = [term for name in self.heads for term in self.model_losses[name](shared)]
        for term in terms:
            values[term.name] = term.value.detach()
            for role in roles:
                if role == "model" or role in term.roles:
                    objective[role] = objective[role] + term.value
        if roles != ("model",) or self.heads or self.kl_weight != 1.0 or self.reports_objective:  # else the role's loss is the "loss" column
            for role in roles:
                values[f"{role}_loss"] = objective[role].detach()
        check(values)
        for i, role in enumerate(roles):
            params = self.model_params[role]
            grads = torch.autograd.grad(objective[role], params, retain_graph=i < len(roles) - 1, allow_unused=True)
            for param, grad in zip(params, grads):
                param.grad = _in_layout_of(param, grad)
        self.sync.reduce([param for role in roles for param in self.model_params[role]])
        for role in roles:
            self._clip(self.model_params[role])
            self.optimizers[role].step()
        return values


def _in_layout_of(param: nn.Parameter, grad: torch.Tensor | None) -> torch.Tensor | None:
    """``grad`` in ``param``'s memory layout.

    A compiled backward can return a weight's gradient in another layout (a transposed convolution's, in
    channels-last strides); ``backward()`` copies such a gradient into the parameter's layout, but
    ``torch.autograd.grad`` hands it over as it is, and torch's fused optimisers update parameter and gradient
    entry by entry in memory order: left as it was, it moved the wrong weights (the compiled Morpho-MNIST
    recipe's first epoch ended at a test -ELBO of 127.68 against the eager 120.23).
    """
    if grad is None or grad.stride() == param.stride():
        return grad
    return torch.empty_like(param).copy_(grad)


def _per_dimension(dist: torch.distributions.Distribution) -> torch.distributions.Distribution:
    """The per-dimension distributions inside an ``Independent`` (the distribution itself otherwise)."""
    return dist.base_dist if isinstance(dist, torch.distributions.Independent) else dist
