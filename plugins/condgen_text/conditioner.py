"""The ``text`` conditioner: a text encoder's embedding joins x, z and the prior's input.

The condition is text as code points (:mod:`.codes`); the nested ``encoder``
block (kind ``text_encoder``) turns the decoded strings into a vector e that
trains with the model. The encoder then reads ``[x, e]``, the decoder
``[z, e]`` and the prior ``e`` (the seed's p(z | c), with c the text).

The model asks for the joined inputs three times per step with the same
condition tensor; the embedding is computed once and reused while the
condition, the autograd mode and the text encoder's weights are unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn

import condgen

from .codes import decode_texts
from .config import TextConditionerConfig


class TextConditioner(nn.Module):
    def __init__(self, config: TextConditionerConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        if context.condition_shape is not None and len(context.condition_shape) != 1:
            raise condgen.PluginError(
                f"The text conditioner reads text as one row of code points per example; this dataset's "
                f"condition has shape {tuple(context.condition_shape)}.",
                hint="Use a captions dataset.",
            )
        self.text_encoder = context.build(config.encoder)
        self.dim = int(self.text_encoder.dim)
        self._memo: tuple | None = None

    def embedding(self, condition: torch.Tensor) -> torch.Tensor:
        key = (torch.is_grad_enabled(), tuple(p._version for p in self.text_encoder.parameters()))
        if self._memo is not None and self._memo[0] is condition and self._memo[1] == key:
            return self._memo[2]
        embedded = self.text_encoder(decode_texts(condition))
        if tuple(embedded.shape) != (len(condition), self.dim):
            raise condgen.PluginError(
                f"The text encoder returned shape {tuple(embedded.shape)} for {len(condition)} texts; "
                f"expected ({len(condition)}, {self.dim})."
            )
        self._memo = (condition, key, embedded)
        return embedded

    def encoder_input_shape(self, x_shape, condition_shape):
        return (math.prod(x_shape) + self.dim,)

    def decoder_input_shape(self, latent_dim, condition_shape):
        return (latent_dim + self.dim,)

    def prior_input_shape(self, condition_shape):
        return (self.dim,)

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.flatten(1), self.embedding(condition)], dim=1)

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([z.flatten(1), self.embedding(condition)], dim=1)

    def prior_input(self, condition: torch.Tensor) -> torch.Tensor:
        return self.embedding(condition)
