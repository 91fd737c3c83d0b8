"""``trainer.precision``: which dtype the training step's forward computations run in under autocast.

``fp32`` never autocasts; ``bf16`` always does; ``auto`` (the default) autocasts
to bfloat16 on a CPU whose instruction set multiplies bfloat16 natively
(AVX-512 BF16 or AMX), and stays float32 elsewhere. The rule is measured on
this project's 2-core AVX-512 BF16 CPU (README, recipe section), one thread,
alternating the variants in one process under load: the seed MLP's compiled
step ran 1.37-1.51x faster in bf16 than in fp32; the conv CVAE's eager step
1.39x and the CVAE-GAN's 1.39x. Eager MLP steps neither gained nor lost
(earlier measurement, README), so ``auto`` does not ask whether the step is
compiled. What it keeps: weights, gradients, optimiser state and checkpoints
are float32 (autocast casts copies for the matrix products); the test -ELBO,
``eval`` and ``sample`` run in float32; the seed recipe's 20-epoch test -ELBO
stays within 0.3 nats of fp32 (README). On CUDA ``auto`` stays float32: not
measured there yet. Without native bf16, a CPU emulates it, slower than fp32.
The checkpoint records the precision ``auto`` chose, and a resume keeps it (``resumed_autocast``).
"""

from __future__ import annotations

from typing import Literal

import torch

PrecisionSetting = Literal["auto", "fp32", "bf16"]


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` is a CPU with bfloat16 dot-product instructions (AVX-512 BF16 or AMX tiles)."""
    if device.type != "cpu":
        return False
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, check, lambda: False)() for check in checks)


def autocast_dtype(setting: PrecisionSetting, device: torch.device) -> torch.dtype | None:
    """The dtype the step's forward computations autocast to under ``setting`` on ``device`` (None: float32)."""
    if setting == "bf16" or (setting == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


#: what a checkpoint records of the step's precision, and the autocast dtype each name stands for (None: no autocast)
RECORDED: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16}


def precision_name(dtype: torch.dtype | None) -> str:
    """What a checkpoint records of the step's autocast dtype (a key of :data:`RECORDED`)."""
    return next(name for name, recorded in RECORDED.items() if recorded == dtype)


def resumed_autocast(recorded: str | None, current: torch.dtype | None) -> tuple[torch.dtype | None, str | None]:
    """The autocast dtype a resumed run continues in, and a warning when that is not what this machine would pick.

    ``auto`` decides by the CPU, so a run resumed on another machine could switch precision half-way and no
    longer compute as it began; it keeps the precision its checkpoint records instead (a checkpoint from before
    the record keeps this machine's choice). Explicit ``fp32`` and ``bf16`` resolve the same everywhere.
    """
    if recorded is None or recorded == precision_name(current):
        return current, None
    kept = RECORDED[recorded]
    slower = " (this CPU has no native bf16 and emulates it, more slowly)" if kept is not None else ""
    return kept, (
        f"this run trained its steps in {recorded} (trainer.precision: auto); it continues in {recorded}{slower}, "
        f"not the {precision_name(current)} that auto picks on this machine, so the resumed run computes as it began"
    )
