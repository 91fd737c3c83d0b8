"""Progress shown with rich: a live bar on a terminal, one line per epoch everywhere."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class RichReporter:
    refresh_every = 20  # steps between bar updates; cheap enough not to show in images/s

    def __init__(self, console: Console, *, live: bool = True, errors: Console | None = None) -> None:
        self.console = console
        self.errors = errors or Console(stderr=True, highlight=False, soft_wrap=True)
        self.live = live and console.is_terminal
        self.progress: Progress | None = None
        self.task = None

    def start(self, epoch: int, epochs: int, steps_per_epoch: int, step: int) -> None:
        self.epochs, self.steps_per_epoch, self.epoch = epochs, steps_per_epoch, epoch
        if not self.live:
            return
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.2f}"),
            TextColumn("{task.fields[ips]:,.0f} img/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            "train",
            total=epochs * steps_per_epoch,
            completed=epoch * steps_per_epoch + step,
            epoch=epoch + 1,
            epochs=epochs,
            loss=float("nan"),
            ips=0.0,
        )
        self._images = 0
        self._clock = self.progress.get_time()

    def step(self, step: int, loss: float, count: int) -> None:
        if self.progress is None:
            return
        self._images += count
        if step % self.refresh_every and step != self.steps_per_epoch:
            return
        now = self.progress.get_time()
        ips = self._images / max(now - self._clock, 1e-9)
        self._images, self._clock = 0, now
        self.progress.update(
            self.task,
            completed=self.epoch * self.steps_per_epoch + step,
            epoch=self.epoch + 1,
            loss=loss,
            ips=ips,
        )

    def note(self, text: str) -> None:
        """A line about the run as a whole (a resume), not about an epoch."""
        self.console.print(text, markup=False)

    def epoch_done(self, row: dict[str, Any]) -> None:
        self.epoch = row["epoch"]
        split = "val" if "val_elbo" in row else "test"
        self.console.print(
            f"epoch {row['epoch']:>3}/{self.epochs}  train -ELBO {row['train_loss']:8.2f}  "
            f"{split} -ELBO {row[f'{split}_elbo']:8.2f}  {row['images_per_s']:>9,.0f} img/s  "
            f"{row['train_seconds']:6.1f} s"
            + (f" + {row['compile_seconds']:.1f} s compiling" if row.get("compile_seconds") else "")
        )
        if self.progress is not None:
            self.progress.update(self.task, epoch=min(self.epoch + 1, self.epochs))
            self._clock = self.progress.get_time()
            self._images = 0

    def warn(self, message: str) -> None:
        """One line on stderr."""
        self.errors.print(f"[yellow]Warning:[/] {message}")

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class SilentReporter:
    """For tests and library use: no output at all."""

    def start(self, *args: Any) -> None: ...
    def step(self, *args: Any) -> None: ...
    def note(self, text: str) -> None: ...
    def epoch_done(self, row: dict[str, Any]) -> None: ...
    def warn(self, message: str) -> None: ...
    def finish(self) -> None: ...
