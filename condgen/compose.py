"""Composition: a resolved recipe and its loaded plugins become a dataset, a model and heads.

The only module that holds both a recipe and built networks. It builds the
model's parts in dependency order, each told the shapes it must handle, and
hands every :class:`~condgen.BuildContext` a resolver, so a component that nests
another (``context.build(config.base)``) reaches the plugins without the
protocols or the model knowing they exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import ValidationError
from torch import nn

from .blocks import ComponentBlock, nested_blocks
from .conditions import restore_dataset_state
from .errors import PluginError, RecipeError
from .memory import check_fits
from .model import ConditionalVAE
from .plugins import Plugins
from .protocols import BuildContext, MaskedDataset, Modulation, Resolver, check_built
from .recipe import ResolvedRecipe
from .registry import MODEL_PARTS, Part


@dataclass
class BuiltRecipe:
    """What a recipe builds: the dataset component, the model and its heads.

    Heads stay outside the model: they have their own optimisers, and the
    model's parameters must be exactly the encoder's, decoder's, conditioner's
    and prior's.
    """

    model: ConditionalVAE
    dataset: object
    heads: nn.ModuleDict = field(default_factory=nn.ModuleDict)


def resolver(plugins: Plugins) -> Resolver:
    """Resolve a nested block that no recipe resolved (a config made in Python) against ``plugins``."""

    def resolve(block: ComponentBlock) -> Part:
        if block.kind is None:
            raise PluginError(
                f"The component block {block.name!r} does not say which kind of component it names.",
                hint='Declare its field as Annotated[condgen.ComponentBlock, condgen.BlockKind("dataset")] '
                "(or another kind).",
            )
        component = plugins.registry.get(block.kind, block.name)
        try:
            config = component.config.model_validate(block.options)
        except ValidationError as error:
            raise RecipeError(f"The options of {block.kind} {block.name!r} are invalid: {error}") from None
        for _, inner in nested_blocks(config):
            inner.attach(resolve(inner))
        return Part(component, config)

    return resolve


def _modulation(conditioner: object, role: str) -> Modulation | None:
    make = getattr(conditioner, "modulator", None)
    return None if make is None else functools.partial(make, role)


Builder = Callable[[str, BuildContext], Any]


def assemble(
    build: Builder,
    x_shape: tuple[int, ...],
    condition_shape: tuple[int, ...],
    resolve: Resolver | None = None,
    dataset: Any = None,
) -> ConditionalVAE:
    """Build the four model parts in dependency order, each told the shapes it must handle.

    ``build(role, context)`` makes the part for ``role`` (``conditioner``,
    ``encoder``, ``decoder``, ``prior``); recipes and the plugin test kit both
    assemble through here, so a part that passes the kit fits a recipe.
    """
    x_shape, c_shape = tuple(x_shape), tuple(condition_shape)
    shapes = dict(x_shape=x_shape, condition_shape=c_shape, resolve=resolve, dataset=dataset)
    conditioner = build("conditioner", BuildContext(**shapes))
    encoder = build(
        "encoder",
        BuildContext(
            **shapes,
            input_shape=tuple(conditioner.encoder_input_shape(x_shape, c_shape)),
            modulation=_modulation(conditioner, "encoder"),
        ),
    )
    latent_dim = int(encoder.latent_dim)
    decoder = build(
        "decoder",
        BuildContext(
            **shapes,
            input_shape=tuple(conditioner.decoder_input_shape(latent_dim, c_shape)),
            output_shape=x_shape,
            latent_dim=latent_dim,
            modulation=_modulation(conditioner, "decoder"),
        ),
    )
    prior_shape = getattr(conditioner, "prior_input_shape", None)
    prior_input = c_shape if prior_shape is None else tuple(prior_shape(c_shape))
    prior = build("prior", BuildContext(**shapes, input_shape=prior_input, latent_dim=latent_dim))
    return ConditionalVAE(conditioner, encoder, decoder, prior)


def build_model(
    resolved: ResolvedRecipe, dataset_state: dict[str, Any] | None = None, *, check_memory: bool = True
) -> BuiltRecipe:
    """Build the recipe's dataset description, then the model for its shapes (once it is known to fit), then its heads.

    ``dataset_state`` (a checkpoint's, when a run is opened or resumed) is given
    back to the dataset before its shapes are read: a dataset whose condition
    comes from its data (an image folder's classes) knows it from there, without the data.
    ``check_memory`` is the estimate of what training needs, which a run opened
    only to sample or evaluate (its weights already saved and loaded) skips: the
    meta-device build it takes was a third of ``condgen sample``'s time.
    """
    resolve = resolver(resolved.plugins)
    dataset = _build_part(resolved, ("data",), BuildContext(resolve=resolve), dataset_state)

    def labelled() -> list[tuple[str, nn.Module]]:
        model, heads = _networks(resolved, dataset, resolve)
        return [*model.named_children(), *((f"head {name}", head) for name, head in heads.items())]

    if check_memory:
        check_fits(labelled)
    model, heads = _networks(resolved, dataset, resolve)
    model.masking = dataset if isinstance(dataset, MaskedDataset) else None
    return BuiltRecipe(model, dataset, heads)


def _networks(resolved: ResolvedRecipe, dataset: Any, resolve: Resolver) -> tuple[ConditionalVAE, nn.ModuleDict]:
    model = assemble(
        lambda role, context: _build_part(resolved, ("model", role), context),
        dataset.x_shape,
        dataset.condition_shape,
        resolve,
        dataset,
    )
    model.origins = {role: _origin(resolved.part("model", role)) for role in MODEL_PARTS}
    context = BuildContext(
        x_shape=tuple(dataset.x_shape),
        condition_shape=tuple(dataset.condition_shape),
        latent_dim=model.latent_dim,
        resolve=resolve,
        dataset=dataset,
    )
    heads = nn.ModuleDict(
        {name: _build_part(resolved, ("model", "heads", name), context) for name in resolved.recipe.model.heads}
    )
    return model, heads


def _build_part(
    resolved: ResolvedRecipe, path: tuple[str, ...], context: BuildContext, state: dict[str, Any] | None = None
) -> Any:
    """Build one part (a dataset given back its checkpoint ``state`` first: checking its protocol reads its
    shapes) and check that it is what its kind must be, naming its plugin if not."""
    part = resolved.part(*path)
    built = part.build(context)
    restore_dataset_state(built, state)
    check_built(part.kind, built, part.component.label)
    return built


def _origin(part: Part) -> str:
    source = part.component.source
    return f"{part.component.name!r} (plugin {source.module}, distribution {source.distribution} {source.version})"
