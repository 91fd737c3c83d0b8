"""The ``concat`` conditioner: append the flattened condition to x and to z.

The seed CVAE's conditioning: the encoder reads ``[x, c]`` and the decoder
``[z, c]``, both flat vectors.
"""

from __future__ import annotations

import math

import torch
from torch import nn

import condgen


class ConcatConfig(condgen.ComponentConfig):
    pass


class Concat(nn.Module):
    def encoder_input_shape(self, x_shape, condition_shape):
        return (math.prod(x_shape) + math.prod(condition_shape),)

    def decoder_input_shape(self, latent_dim, condition_shape):
        return (latent_dim + math.prod(condition_shape),)

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.flatten(1), condition.flatten(1)], dim=1)

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([z.flatten(1), condition.flatten(1)], dim=1)


def build(config: ConcatConfig, context: condgen.BuildContext) -> Concat:
    return Concat()


@condgen.hookimpl
def register_components(register):
    register("conditioner", "concat", build, ConcatConfig)
