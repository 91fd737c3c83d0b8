"""What each component kind must provide.

The model composes these parts without knowing any of them concretely; a
plugin that satisfies the protocol of its kind works in any recipe. Networks
are ``torch.nn.Module``s; distributions are ``torch.distributions`` objects,
so the ELBO, importance-weighted bounds and sampling work for any combination.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, runtime_checkable

import torch
from torch import distributions as D
from torch import nn

from .blocks import ComponentBlock
from .errors import PluginError
from .registry import Part
from .training_step import ModelLoss, TrainingStep

Modulation = Callable[[int], Optional[nn.Module]]
#: Turns a nested block that no recipe resolved (a config made in Python) into a part; the composer passes it in.
Resolver = Callable[[ComponentBlock], Part]


@dataclass(frozen=True)
class BuildContext:
    """What the composer knows when it builds a component.

    ``input_shape`` is the shape (without the batch dimension) of what the
    component's ``forward`` receives; ``output_shape`` what it must describe.
    Fields that do not apply to a kind are ``None``.

    ``resolve`` is how the composer lets a component build the blocks nested
    in its config (:meth:`build`) without this layer knowing any plugin.

    ``modulation`` is how a conditioner reaches *inside* a network (FiLM and
    the like): an encoder or decoder calls :meth:`modulator` once per hidden
    layer it wants to expose and applies what it gets back.
    """

    x_shape: tuple[int, ...] | None = None
    condition_shape: tuple[int, ...] | None = None
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    latent_dim: int | None = None
    modulation: Modulation | None = None
    resolve: Resolver | None = None

    def modulator(self, features: int) -> nn.Module | None:
        """A module ``m(h, condition) -> h`` for a hidden layer of ``features`` channels, or ``None``.

        ``features`` is the size of dimension 1 of the hidden tensor (units of
        a linear layer, channels of a convolution). The network owns the
        returned module, so its parameters train and checkpoint with it.
        """
        return None if self.modulation is None else self.modulation(features)

    def build(self, block: ComponentBlock, **changes: Any) -> Any:
        """Build a component block nested in this component's config (see :class:`condgen.ComponentBlock`).

        The inner component gets this context, with ``changes`` applied (the
        shapes it must handle, when they differ from the outer one's).
        """
        if not isinstance(block, ComponentBlock):
            raise PluginError(f"context.build() takes a condgen.ComponentBlock, got {type(block).__name__}.")
        part = block.resolved
        if part is None:
            if self.resolve is None:
                raise PluginError(
                    f"The component block {block.name!r} was not resolved, and this context has no resolver.",
                    hint="Build components through condgen.compose (recipes and the test kit do).",
                )
            part = self.resolve(block)
            block.attach(part)
        return part.build(dataclasses.replace(self, **changes) if changes else self)


@runtime_checkable
class Split(Protocol):
    """One split of a dataset, addressed by index so batches are cheap."""

    def __len__(self) -> int: ...

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(x, condition)`` as float tensors for these example indices."""
        ...


@runtime_checkable
class Dataset(Protocol):
    """Turns a config into train/test data of ``(x, condition)`` pairs.

    Shapes must be known without reading data, so a checkpoint can be sampled
    on a machine that does not have the dataset.
    """

    x_shape: tuple[int, ...]
    condition_shape: tuple[int, ...]

    def load(self, split: str) -> Split:
        """Load ``"train"`` or ``"test"``; raise :class:`condgen.DataError` if unavailable."""
        ...

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        """Conditions for a preview grid: one row per class or example, ``per_row`` columns."""
        ...


@runtime_checkable
class LabelledDataset(Dataset, Protocol):
    """A dataset whose conditions are built from class labels (``condgen sample --label``)."""

    num_classes: int

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class MetricDataset(LabelledDataset, Protocol):
    """A labelled dataset that ships a frozen classifier for ``condgen eval``.

    ``metric_network()`` returns a module whose ``forward(x)`` gives class
    logits and whose ``features(x)`` gives the features FID compares. It must
    be fixed (shipped, hash-checked), never trained by the evaluated model, so
    numbers from different runs and users are comparable.
    """

    def metric_network(self) -> nn.Module: ...


@runtime_checkable
class MaskedDataset(Dataset, Protocol):
    """A dataset whose condition reveals part of x (inpainting and the like).

    The model then scores its likelihood on ``likelihood_mask`` only and pastes
    the revealed entries back into what it generates; ``condgen inpaint``
    builds conditions from a user's own image and mask with ``condition_for``.
    Masks are boolean tensors that broadcast against a batch of x.
    """

    def condition_for(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """The condition that reveals ``x`` where ``observed`` is true."""
        ...

    def observed_mask(self, condition: torch.Tensor) -> torch.Tensor:
        """Which entries of x these conditions reveal."""
        ...

    def paste(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """``x`` with the entries the condition reveals replaced by their revealed values."""
        ...

    def likelihood_mask(self, condition: torch.Tensor) -> torch.Tensor | None:
        """The entries of x the likelihood scores (true), or ``None`` for all of them."""
        ...


@runtime_checkable
class Conditioner(Protocol):
    """Joins the condition with what the encoder and decoder consume.

    A conditioner may also define ``modulator(role, features)`` (``role`` is
    ``"encoder"`` or ``"decoder"``) returning a module ``m(h, condition)``
    that the networks apply to their hidden layers; see
    :meth:`BuildContext.modulator`.
    """

    def encoder_input_shape(self, x_shape: tuple[int, ...], condition_shape: tuple[int, ...]) -> tuple[int, ...]: ...

    def decoder_input_shape(self, latent_dim: int, condition_shape: tuple[int, ...]) -> tuple[int, ...]: ...

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor: ...

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Encoder(Protocol):
    """Maps the joined ``(x, c)`` to q(z | x, c), a distribution over ``latent_dim`` values.

    ``condition`` is the raw condition, for the modulators the network got
    from its :class:`BuildContext`; a network with none may ignore it.
    """

    latent_dim: int

    def __call__(self, joined: torch.Tensor, condition: torch.Tensor) -> D.Distribution: ...


@runtime_checkable
class Decoder(Protocol):
    """Maps the joined ``(z, c)`` to p(x | z, c), a distribution with event shape ``output_shape``.

    ``output_shape`` is the shape of one x it describes (its context's
    ``output_shape``): the member that tells a decoder from any other module.
    """

    output_shape: tuple[int, ...]

    def __call__(self, joined: torch.Tensor, condition: torch.Tensor) -> D.Distribution: ...


@runtime_checkable
class Prior(Protocol):
    """Maps the condition to p(z | c), a distribution over ``latent_dim`` values (its context's ``latent_dim``)."""

    latent_dim: int

    def __call__(self, condition: torch.Tensor) -> D.Distribution: ...


@runtime_checkable
class Head(Protocol):
    """An auxiliary network with its own optimiser and losses (a classifier, a discriminator, ...).

    Each step the engine builds one :class:`condgen.TrainingStep` (real x, the
    condition, q(z|x,c) and z, the reconstruction ``x_f`` and a prior sample
    ``x_p``) and, in ``trainer.update_order``:

    - calls ``head_losses`` on a *detached* copy and steps ``optimizer()`` on
      its ``"loss"`` (other entries are logged);
    - for the model's update, adds the terms of ``model_losses`` (each a
      :class:`condgen.ModelLoss` naming the encoder/decoder it trains);
      gradients then flow through the head's networks without updating them.

    It is an ``nn.Module``, so its weights and buffers are checkpointed.
    """

    def parameters(self): ...

    def optimizer(self) -> torch.optim.Optimizer: ...

    def head_losses(self, step: TrainingStep) -> dict[str, torch.Tensor]: ...

    def model_losses(self, step: TrainingStep) -> list[ModelLoss]: ...
