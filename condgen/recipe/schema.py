"""The shape of a recipe.

Component blocks (``{name: mlp, hidden: [512]}``) are :class:`condgen.ComponentBlock`s
here, the type a plugin's config nests: their options belong to the plugin that
provides them, and are checked against its config model once the registry is
known (see ``resolve``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, field_validator

from ..blocks import ComponentBlock
from ..registry import MODEL_PARTS, MODEL_UPDATES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(Strict):
    conditioner: ComponentBlock
    encoder: ComponentBlock
    decoder: ComponentBlock
    prior: ComponentBlock = Field(default_factory=lambda: ComponentBlock(name="standard_normal"))
    #: Auxiliary networks with their own losses and optimisers, by the name
    #: ``trainer.update_order`` calls them (``{classifier: {name: classifier}}``).
    heads: dict[str, ComponentBlock] = Field(default_factory=dict)

    @field_validator("heads")
    @classmethod
    def _head_names_are_free(cls, value: dict[str, ComponentBlock]) -> dict[str, ComponentBlock]:
        for name in value:
            if name in MODEL_UPDATES or not name.isidentifier():
                raise ValueError(f"{name!r} cannot name a head: use an identifier other than {', '.join(MODEL_UPDATES)}")
        return value


class OptimizerSection(Strict):
    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: PositiveFloat = 1e-3
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = Field(0.0, ge=0)


class TrainerSection(Strict):
    epochs: PositiveInt = 20
    batch_size: PositiveInt = 50
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection)
    eval_batch_size: PositiveInt = 1000
    checkpoint_every_steps: PositiveInt | None = None
    samples_per_row: PositiveInt = 10
    threads: PositiveInt | None = None
    #: Weight of the KL term in the encoder's loss (CVAE-GAN's lambda1; 1 is the ELBO).
    kl_weight: PositiveFloat = 1.0
    #: The order networks update in each step; default: heads in recipe order, then
    #: ``encoder`` and ``decoder`` (or one ``model`` update when there are no heads).
    update_order: list[str] | None = None
    #: ``auto``: CUDA when torch sees a GPU, else the CPU. Under DDP, CPU ranks talk
    #: over gloo and CUDA ranks over NCCL (see docs/distributed.md).
    device: Literal["auto", "cpu", "cuda"] = "auto"


class OutputSection(Strict):
    dir: Path = Path("runs")


class Recipe(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    seed: int = Field(0, ge=0, lt=2**63)
    plugins: list[str] = Field(default_factory=list)
    data: ComponentBlock
    model: ModelSection
    trainer: TrainerSection = Field(default_factory=TrainerSection)
    output: OutputSection = Field(default_factory=OutputSection)

    @field_validator("plugins")
    @classmethod
    def _plugins_are_names(cls, value: list[str]) -> list[str]:
        for spec in value:
            if not spec.strip():
                raise ValueError("plugin entries must be module names or .py paths")
        return value

    def component_blocks(self) -> dict[tuple[str, ...], tuple[str, ComponentBlock]]:
        """Every component block, by its path in the recipe, with its kind."""
        blocks: dict[tuple[str, ...], tuple[str, ComponentBlock]] = {("data",): ("dataset", self.data)}
        for kind in MODEL_PARTS:
            blocks[("model", kind)] = (kind, getattr(self.model, kind))
        for name, block in self.model.heads.items():
            blocks[("model", "heads", name)] = ("head", block)
        return blocks

