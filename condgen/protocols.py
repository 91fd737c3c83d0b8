"""What each component kind must provide.

The model composes these parts without knowing any of them concretely; a
plugin that satisfies the protocol of its kind works in any recipe. Networks
are ``torch.nn.Module``s; distributions are ``torch.distributions`` objects,
so the ELBO, importance-weighted bounds and sampling work for any combination.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, runtime_checkable

import torch
from torch import distributions as D
from torch import nn

from .blocks import ComponentBlock
from .condition_request import ConditionBatch, ConditionRequest
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

    ``dataset`` is the dataset component the model is built for, when there is
    one: a part that needs more than shapes from it (a text encoder training
    its tokenizer on the dataset's ``text_corpus()``) asks it here.
    """

    x_shape: tuple[int, ...] | None = None
    condition_shape: tuple[int, ...] | None = None
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    latent_dim: int | None = None
    modulation: Modulation | None = None
    dataset: Any = None
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

    A dataset that ships its own validation split says so with an attribute
    ``splits = ("train", "validation", "test")``; the trainer then scores each
    epoch on ``load("validation")`` (a recipe's ``data.validation`` holds part
    of the training split out instead).
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
    """A dataset whose conditions are built from class labels (``condgen sample --label``).

    It may also have ``class_names`` (a sequence of ``num_classes`` strings),
    so a user can ask for a class by name as well as by index.
    """

    num_classes: int

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class TextDataset(Dataset, Protocol):
    """A dataset whose conditions are texts (``condgen sample --text``).

    ``conditions_for_text`` refuses an empty prompt (:class:`condgen.UserError`);
    ``condgen sample --text`` reaches it through ``conditions_for_request``
    (:mod:`condgen.conditions`), whose notes tell the user about prompts cut
    or words never trained on. ``text_corpus`` is what a text encoder's
    tokenizer learns from.
    """

    def conditions_for_text(self, prompts: list[str]) -> torch.Tensor: ...

    def text_corpus(self) -> list[str]: ...


@runtime_checkable
class MetricDataset(LabelledDataset, Protocol):
    """A labelled dataset that ships a frozen classifier for ``condgen eval``.

    ``metric_network()`` returns a module whose ``features(x)`` gives the
    features FID compares and whose ``classify(features)`` gives class logits
    from them (``forward(x)`` is the two in turn): eval runs the network once
    on the generated images for both numbers. It must
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
class RequestableDataset(Dataset, Protocol):
    """A dataset that builds conditions from what a user asks for (``--label``, ``--attr``, ``--text``).

    ``condgen sample``, ``condgen eval`` and the Python API go through
    :func:`condgen.conditions_for`, which calls this; see :mod:`condgen.conditions`.
    """

    def conditions_for_request(self, request: ConditionRequest) -> ConditionBatch:
        """The conditions for ``request``; raise :class:`condgen.UserError` naming what the dataset takes instead."""
        ...


@runtime_checkable
class StatefulDataset(Dataset, Protocol):
    """A dataset whose conditions depend on its training data (standardisation statistics, a vocabulary).

    The trainer stores ``state_dict()`` in every checkpoint and a loaded run
    calls ``load_state_dict`` before asking for conditions, so sampling needs
    no data. Plain tensors, numbers, strings and containers only: checkpoints
    load with ``weights_only``.
    """

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@runtime_checkable
class ControlledDataset(Dataset, Protocol):
    """A dataset that measures how well generated images follow the condition it controls, for ``condgen eval``.

    ``generate(conditions)`` returns the model's images for a condition batch
    (the caller seeds it); ``test`` is the dataset's test split; ``per_class``
    is the user's budget of generated images per class (``--per-class``).
    The returned entries (JSON-serialisable) are added to ``eval.json``.
    """

    def control_metrics(
        self, generate: Callable[[torch.Tensor], torch.Tensor], test: Split, per_class: int
    ) -> dict[str, Any]: ...


@runtime_checkable
class Conditioner(Protocol):
    """Joins the condition with what the encoder and decoder consume.

    A conditioner may also define ``modulator(role, features)`` (``role`` is
    ``"encoder"`` or ``"decoder"``) returning a module ``m(h, condition)``
    that the networks apply to their hidden layers; see
    :meth:`BuildContext.modulator`.

    It may also define ``prior_input(condition)`` and
    ``prior_input_shape(condition_shape)``: what the prior reads instead of
    the raw condition (a text's embedding rather than its characters).
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
class TextEncoder(Protocol):
    """Maps a batch of texts to one vector of ``dim`` values each, trained with the model (``text`` conditioner).

    It owns its tokenizer, whatever it is; anything it must keep (a trained
    vocabulary) belongs in its ``state_dict`` so a run folder carries it.
    """

    dim: int

    def __call__(self, texts: list[str]) -> torch.Tensor: ...


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

    It is an ``nn.Module``, so its weights and buffers are checkpointed. A head
    with nothing to learn (a fixed, differentiable measurement) returns ``None``
    from ``optimizer()``: it has no update of its own and only its
    ``model_losses`` count.
    """

    def parameters(self): ...

    def optimizer(self) -> torch.optim.Optimizer | None: ...

    def head_losses(self, step: TrainingStep) -> dict[str, torch.Tensor]: ...

    def model_losses(self, step: TrainingStep) -> list[ModelLoss]: ...


@dataclass(frozen=True)
class RunInfo:
    """What a logger is told when a run starts (or resumes).

    ``rows`` are the metric rows logged before this process started (a resume);
    ``step`` the global step training continues from (0 for a fresh run).
    """

    path: Path
    name: str
    recipe: dict[str, Any]
    rows: tuple[dict[str, Any], ...] = ()
    step: int = 0


@runtime_checkable
class Logger(Protocol):
    """Where a run's metrics and images go besides the run folder: a file, TensorBoard, MLflow, ...

    Built by ``factory(config, BuildContext())``. Called only in
    the process that writes the run folder (rank 0). A logger that raises is
    warned about once and dropped; the run goes on without it.
    """

    def start(self, run: RunInfo) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """One epoch's row (``epoch``, losses, scores, timings) at global step ``step``."""

    def log_images(self, tag: str, images: torch.Tensor, step: int) -> None:
        """A batch ``(N, C, H, W)`` in [0, 1] on the CPU, e.g. the epoch's sample grid (``samples``)."""

    def finish(self, status: str) -> None:
        """``finished``, ``interrupted`` or ``failed``: the run's status in run.json."""
#: what each kind's factory must return
KIND_PROTOCOLS: dict[str, type] = {
    "dataset": Dataset,
    "conditioner": Conditioner,
    "encoder": Encoder,
    "decoder": Decoder,
    "prior": Prior,
    "head": Head,
    "text_encoder": TextEncoder,
    "logger": Logger,
}


def check_built(kind: str, built: Any, label: str) -> None:
    """Refuse what a factory returned unless it has its kind's members (networks must be ``nn.Module`` objects too)."""
    protocol = KIND_PROTOCOLS[kind]
    network = kind not in ("dataset", "logger")
    if not isinstance(built, protocol) or (network and not isinstance(built, nn.Module)):
        needs = f"a torch.nn.Module with the members of condgen.{protocol.__name__}" if network else (
            f"an object with the members of condgen.{protocol.__name__}"
        )
        raise PluginError(
            f"{label}: its factory returned {type(built).__name__} ({_short(built)}), not {needs}.",
            hint="This is a bug in that plugin; condgen new-plugin shows the members each kind needs.",
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 50 else text[:47] + "..."
