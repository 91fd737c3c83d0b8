"""An exponential moving average of the model's weights (``trainer.ema``).

After every optimiser step: shadow = decay * shadow + (1 - decay) * weight,
with the bias correction of the first steps (the effective decay is
``min(decay, (1 + n) / (10 + n))``), so early averages are not dominated by the
initial weights. Sampling, evaluation and the best checkpoint use the average.
Buffers (running statistics) are copied, not averaged.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class WeightAverage:
    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for param in self.model.parameters():
            param.requires_grad_(False)
        self._pairs = list(zip(self.model.parameters(), model.parameters()))
        self._buffers = list(zip(self.model.buffers(), model.buffers()))

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        shadows = [shadow for shadow, _ in self._pairs]
        torch._foreach_lerp_(shadows, [live.detach() for _, live in self._pairs], 1 - decay)
        for shadow, live in self._buffers:
            shadow.copy_(live)

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "weights": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self.model.load_state_dict(state["weights"])
