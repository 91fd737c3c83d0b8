"""``tensorboard``: scalars and sample grids as TensorBoard event files in the run folder.

``tensorboard --logdir runs`` then shows every run. A resumed run purges the
events logged after its checkpoint, so the curves have no doubled steps.
"""

from __future__ import annotations

import torch

import condgen

from .config import TensorboardConfig

#: row keys that are bookkeeping, not curves
NOT_CURVES = frozenset({"epoch", "step", "wall_time"})




class TensorboardLogger:
    def __init__(self, config: TensorboardConfig, context: condgen.BuildContext) -> None:
        self.config = config
        self.writer = None

    def start(self, run: condgen.RunInfo) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise condgen.PluginError(
                f"The tensorboard logger needs the tensorboard package ({error}).",
                hint="pip install 'condgen[tensorboard]'",
            ) from None
        self.writer = SummaryWriter(
            log_dir=str(run.path / self.config.dir),
            purge_step=run.step + 1 if run.step else None,  # events after the checkpoint are dropped
            flush_secs=self.config.flush_secs,
        )

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for key, value in metrics.items():
            if key not in NOT_CURVES and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def log_images(self, tag: str, images: torch.Tensor, step: int) -> None:
        self.writer.add_images(tag, images.clamp(0, 1), step)

    def finish(self, status: str) -> None:
        if self.writer is not None:
            self.writer.add_text("status", status)
            self.writer.close()
