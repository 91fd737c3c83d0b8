"""The shape of a recipe.

Component blocks (``{name: mlp, hidden: [512]}``) are :class:`condgen.ComponentBlock`s
here, the type a plugin's config nests: their options belong to the plugin that
provides them, and are checked against its config model once the registry is
known (see ``resolve``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..fields import Seed, UsablePath

#: more threads than this many per core only thrash (torch.set_num_threads itself accepts any int)
THREADS_PER_CORE = 4
MAX_THREADS = THREADS_PER_CORE * (os.cpu_count() or 1)
#: the sample grid is a PNG of samples_per_row columns: 256 of 28-pixel digits is a 7,700-pixel-wide image
MAX_SAMPLES_PER_ROW = 256
#: counts and batch sizes beyond these are typos, not experiments
MAX_COUNT = 10**9
MAX_BATCH = 10**7

from ..blocks import ComponentBlock
from ..registry import MODEL_PARTS, MODEL_UPDATES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataBlock(ComponentBlock):
    """The dataset block: ``validation`` is condgen's own key, every other option the plugin's."""

    #: examples (an integer) or a fraction (0 < f < 1) held out of the training split for per-epoch scores,
    #: model selection and early stopping; the same examples for every seed and on resume
    validation: Annotated[int, Field(ge=1, le=MAX_COUNT)] | Annotated[float, Field(gt=0, lt=1)] | None = None
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
    lr: float = Field(1e-3, gt=0, le=1e6)
    weight_decay: float = Field(0.0, ge=0, le=1)
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (0.9, 0.999)
    momentum: float = Field(0.0, ge=0, lt=1)
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

    patience: int = Field(5, ge=1, le=MAX_COUNT)
    metric: Literal["val_elbo"] = "val_elbo"
    min_delta: float = Field(0.0, ge=0, le=1e6)


class EmaSection(Strict):
    """An exponential moving average of the model's weights, used for sampling, evaluation and best.pt."""

    decay: float = Field(0.999, gt=0, lt=1)


class TrainerSection(Strict):
    epochs: int = Field(20, ge=1, le=MAX_COUNT)
    batch_size: int = Field(50, ge=1, le=MAX_BATCH)
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection)
    eval_batch_size: int = Field(1000, ge=1, le=MAX_BATCH)
    checkpoint_every_steps: int | None = Field(None, ge=1, le=MAX_COUNT)
    samples_per_row: int = Field(10, ge=1, le=MAX_SAMPLES_PER_ROW)
    threads: int | None = Field(None, ge=1, le=MAX_THREADS)
    #: Weight of the KL term in the encoder's loss (CVAE-GAN's lambda1; 1 is the ELBO).
    kl_weight: float = Field(1.0, gt=0, le=1e6)
    #: The order networks update in each step; default: heads in recipe order, then
    #: ``encoder`` and ``decoder`` (or one ``model`` update when there are no heads).
    update_order: list[str] | None = None
    #: ``auto``: CUDA when torch sees a GPU, else the CPU. Under DDP, CPU ranks talk
    #: over gloo and CUDA ranks over NCCL (see docs/distributed.md).
    device: Literal["auto", "cpu", "cuda"] = "auto"
    #: The training step's forward pass (model and heads) under torch.compile: ``auto`` compiles on CUDA, and
    #: on CPUs for head-less runs of 10,000+ steps (condgen/engine/compiled.py: the measured rule); a failed compile
    #: falls back to eager.
    compile: Literal["off", "on", "auto"] = "auto"
    #: ``bf16``: the training step's forward computations (model and heads) under autocast to bfloat16 (weights,
    #: gradients, optimiser state and checkpoints stay float32; the test -ELBO is computed in float32). ``auto``:
    #: bf16 on CPUs with native bfloat16 instructions, else fp32 (condgen/engine/precision.py: the measured rule).
    precision: Literal["auto", "fp32", "bf16"] = "auto"

    @field_validator("compile", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        """YAML reads a bare ``on`` / ``off`` as true / false."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return value

    #: learning-rate schedule for every optimiser (off: the optimiser's rate throughout)
    scheduler: SchedulerSection | None = None
    #: KL annealing (off: ``kl_weight`` from the first step)
    kl_schedule: KlScheduleSection | None = None
    #: clip each update's gradients to this global L2 norm (off: no clipping)
    grad_clip: float | None = Field(None, gt=0, le=1e9)
    ema: EmaSection | None = None
    #: needs ``data.validation`` (or a dataset with its own validation split)
    early_stopping: EarlyStoppingSection | None = None


class OutputSection(Strict):
    dir: UsablePath = Path("runs")


class Recipe(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    seed: Seed = 0
    plugins: list[str] = Field(default_factory=list)
    data: DataBlock
    model: ModelSection
    trainer: TrainerSection = Field(default_factory=TrainerSection)
    output: OutputSection = Field(default_factory=OutputSection)
    #: Where metrics and sample grids go besides the run folder's metrics.jsonl (which the
    #: ``jsonl`` logger always writes): ``[{name: tensorboard}, {name: mlflow}]``.
    loggers: list[ComponentBlock] = Field(default_factory=list)

    @field_validator("plugins")
    @classmethod
    def _plugins_are_names(cls, value: list[str]) -> list[str]:
        for spec in value:
            if not spec.strip():
                raise ValueError("plugin entries must be module names or .py paths")
        return value

    def component_blocks(self) -> dict[tuple[str | int, ...], tuple[str, ComponentBlock]]:
        """Every component block, by its path in the recipe, with its kind."""
        return block_layout(self.data, dict(self.model), self.loggers)


def block_layout(data: Any, model: dict[str, Any], loggers: Any = ()) -> dict[tuple[str | int, ...], tuple[str, Any]]:
    """Where a recipe's component blocks sit, with their kinds: ``data`` is the data block, ``model`` the model
    section and ``loggers`` the loggers list (validated, or raw as read from YAML)."""
    blocks: dict[tuple[str | int, ...], tuple[str, Any]] = {("data",): ("dataset", data)}
    for kind in MODEL_PARTS:
        blocks[("model", kind)] = (kind, model.get(kind))
    heads = model.get("heads")
    for name, block in (heads.items() if isinstance(heads, dict) else ()):
        blocks[("model", "heads", name)] = ("head", block)
    for index, block in enumerate(loggers if isinstance(loggers, list) else ()):
        blocks[("loggers", index)] = ("logger", block)
    return blocks


def raw_component_blocks(data: dict[str, Any]) -> dict[tuple[str | int, ...], tuple[str, ComponentBlock]]:
    """The component blocks of a recipe whose other sections may be invalid: each one that has the form
    ``{name: ..., option: ...}`` (the others are reported by the recipe's own validation), so that
    ``condgen validate`` checks their options in the same pass."""
    model = data.get("model")
    blocks = {}
    layout = block_layout(data.get("data"), model if isinstance(model, dict) else {}, data.get("loggers"))
    for path, (kind, raw) in layout.items():
        try:
            blocks[path] = (kind, (DataBlock if path == ("data",) else ComponentBlock).model_validate(raw))
        except ValidationError:
            continue
    return blocks

