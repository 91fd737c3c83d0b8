"""Which networks update in what order each step: checked when the recipe is read, used by the engine."""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import MODEL_UPDATES


@dataclass(frozen=True)
class Stage:
    kind: str  # "head" or "model"
    names: tuple[str, ...]  # the head's name, or the model updates computed together


def plan_stages(order: list[str] | None, heads: list[str]) -> list[Stage]:
    """Group the update order into stages, checking it names each network exactly once.

    Raises ``ValueError`` with a message about ``trainer.update_order``.
    """
    if order is None:
        order = default_order(heads)
    known = set(heads) | set(MODEL_UPDATES)
    unknown = [name for name in order if name not in known]
    if unknown:
        raise ValueError(
            f"names {', '.join(map(repr, unknown))}, which is neither a head of this recipe "
            f"nor one of model, encoder, decoder. Heads: {', '.join(heads) or 'none'}."
        )
    if len(set(order)) != len(order):
        raise ValueError("names a network twice")
    missing = [name for name in heads if name not in order]
    model_roles = [name for name in order if name in MODEL_UPDATES]
    if "model" in model_roles and len(model_roles) > 1:
        raise ValueError("use either 'model' or 'encoder' and 'decoder', not both.")
    if model_roles not in (["model"], ["encoder", "decoder"], ["decoder", "encoder"]):
        missing += [name for name in ("encoder", "decoder") if name not in model_roles] if model_roles else ["model"]
    if missing:
        raise ValueError(f"leaves out {', '.join(map(repr, missing))}: every network must update.")
    stages: list[Stage] = []
    for name in order:
        if name in MODEL_UPDATES:
            if stages and stages[-1].kind == "model":
                stages[-1] = Stage("model", stages[-1].names + (name,))
                continue
            if any(stage.kind == "model" for stage in stages):
                raise ValueError("the encoder and decoder updates must be next to each other.")
            stages.append(Stage("model", (name,)))
        else:
            stages.append(Stage("head", (name,)))
    return stages


def default_order(heads: list[str]) -> list[str]:
    """Heads first (they judge the current generator), then the model; CVAE-GAN's C -> D -> E -> G."""
    return [*heads, "encoder", "decoder"] if heads else ["model"]
