"""The shape of a recipe.

Component blocks (``{name: mlp, hidden: [512]}``) are kept as plain mappings
here: their options belong to the plugin that provides them, and are checked
against its config model once the registry is known (see ``resolve``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Block(Strict):
    """A component block: the plugin's name plus options the plugin validates."""

    model_config = ConfigDict(extra="allow")
    name: str


class DataBlock(Block):
    """The dataset block: ``validation`` is condgen's own key, every other option the plugin's."""

    #: examples (an integer) or a fraction (0 < f < 1) held out of the training split for per-epoch scores,
    #: model selection and early stopping; the same examples for every seed and on resume
    validation: PositiveInt | Annotated[float, Field(gt=0, lt=1)] | None = None


class ModelSection(Strict):
    conditioner: Block
    encoder: Block
    decoder: Block
    prior: Block = Field(default_factory=lambda: Block(name="standard_normal"))
    #: Auxiliary networks with their own losses and optimisers, by the name
    #: ``trainer.update_order`` calls them (``{classifier: {name: classifier}}``).
    heads: dict[str, Block] = Field(default_factory=dict)

    @field_validator("heads")
    @classmethod
    def _head_names_are_free(cls, value: dict[str, Block]) -> dict[str, Block]:
        for name in value:
            if name in ("model", "encoder", "decoder") or not name.isidentifier():
                raise ValueError(f"{name!r} cannot name a head: use an identifier other than model, encoder, decoder")
        return value


class OptimizerSection(Strict):
    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: PositiveFloat = 1e-3
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = Field(0.0, ge=0)
    #: One kernel for the whole update where torch has one for the device and dtype (else torch's
    #: multi-tensor ``foreach`` path); false: torch's per-parameter loop. Equal within float rounding.
    fused: bool = True


class SchedulerSection(Strict):
    """The learning rate of the model's and every head's optimiser, as a factor of its own rate, per step."""

    #: after the warm-up: ``constant``; ``cosine`` down to ``min_factor`` at the last step; ``step``: times
    #: ``gamma`` every ``step_size`` steps
    name: Literal["constant", "cosine", "step"] = "constant"
    #: linear warm-up from 1/warmup_steps to 1 before the schedule starts
    warmup_steps: int = Field(0, ge=0, le=10**9)
    min_factor: float = Field(0.0, ge=0, le=1)
    step_size: int = Field(1000, ge=1, le=10**9)
    gamma: float = Field(0.1, gt=0, le=1)


class KlScheduleSection(Strict):
    """KL annealing: the KL weight rises linearly from ~0 to ``kl_weight`` over the first ``warmup_steps``;
    free bits: each latent dimension's batch-mean KL counts as at least ``free_bits`` nats in the objective
    (Kingma et al. 2016), so the optimiser gains nothing by squeezing it below that."""

    warmup_steps: int = Field(0, ge=0, le=10**9)
    free_bits: float = Field(0.0, ge=0, le=1000)


class EarlyStoppingSection(Strict):
    """Stop when the validation score has not improved by ``min_delta`` for ``patience`` epochs."""

    patience: PositiveInt = 5
    metric: Literal["val_elbo"] = "val_elbo"
    min_delta: float = Field(0.0, ge=0, le=1e6)


class EmaSection(Strict):
    """An exponential moving average of the model's weights, used for sampling, evaluation and best.pt."""

    decay: float = Field(0.999, gt=0, lt=1)


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
    #: learning-rate schedule for every optimiser (off: the optimiser's rate throughout)
    scheduler: SchedulerSection | None = None
    #: KL annealing (off: ``kl_weight`` from the first step)
    kl_schedule: KlScheduleSection | None = None
    #: clip each update's gradients to this global L2 norm (off: no clipping)
    grad_clip: PositiveFloat | None = None
    ema: EmaSection | None = None
    #: needs ``data.validation`` (or a dataset with its own validation split)
    early_stopping: EarlyStoppingSection | None = None


class OutputSection(Strict):
    dir: Path = Path("runs")


class Recipe(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    seed: int = Field(0, ge=0, lt=2**63)
    plugins: list[str] = Field(default_factory=list)
    data: DataBlock
    model: ModelSection
    trainer: TrainerSection = Field(default_factory=TrainerSection)
    output: OutputSection = Field(default_factory=OutputSection)
    #: Where metrics and sample grids go besides the run folder's metrics.jsonl (which the
    #: ``jsonl`` logger always writes): ``[{name: tensorboard}, {name: mlflow}]``.
    loggers: list[Block] = Field(default_factory=list)

    @field_validator("plugins")
    @classmethod
    def _plugins_are_names(cls, value: list[str]) -> list[str]:
        for spec in value:
            if not spec.strip():
                raise ValueError("plugin entries must be module names or .py paths")
        return value

    def component_blocks(self) -> dict[tuple[str | int, ...], tuple[str, Block]]:
        """Every component block, by its path in the recipe, with its kind."""
        blocks: dict[tuple[str, ...], tuple[str, Block]] = {("data",): ("dataset", self.data)}
        for kind in ("conditioner", "encoder", "decoder", "prior"):
            blocks[("model", kind)] = (kind, getattr(self.model, kind))
        for name, block in self.model.heads.items():
            blocks[("model", "heads", name)] = ("head", block)
        for index, block in enumerate(self.loggers):
            blocks[("loggers", index)] = ("logger", block)
        return blocks


def block_options(block: Block) -> dict[str, Any]:
    return dict(block.model_extra or {})
