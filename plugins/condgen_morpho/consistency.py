"""The ``attribute_consistency`` head: generated images should measure like the digits they stand for.

What a VAE shows is the decoder's mean, an average over the digits a latent
and a condition leave open; the average loses thin tails and joins, and its
outline measures thicker than the digits (README, Morpho-MNIST). This head
adds that measurement to the model's objective: the soft measurements
(``condgen_morpho.soft``) of each reconstruction ``x_f`` against its digit x
(encoder and decoder), and of each prior sample ``x_p``, drawn for x's
condition, against x (decoder). Each attribute's difference is divided by its
spread over the batch's real digits, so the weights do not depend on units.

``match: example`` compares each image with its own digit: right when the
condition fixes the attributes (morpho's). A caption names a bin at most, so a
text model cannot reproduce each digit's exact thickness, and asking it to
fights the likelihood; ``match: distribution`` compares the batch's sorted
values with the real digits' sorted values instead (one-dimensional optimal
transport), which removes a bias at every quantile without asking any one
image to copy its digit.

It has no parameters and no update of its own (``optimizer()`` is ``None``),
and needs nothing from the dataset: any grayscale image dataset can use it.
"""

from __future__ import annotations

import torch
from torch import nn

import condgen
from condgen import DECODER_ONLY, ENCODER_AND_DECODER, ModelLoss, TrainingStep

from .config import ConsistencyConfig
from .soft import soft_measure

class AttributeConsistency(nn.Module):
    def __init__(self, config: ConsistencyConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        x_shape = tuple(context.x_shape or ())
        if len(x_shape) != 3 or x_shape[0] != 1:
            raise condgen.PluginError(
                f"The attribute_consistency head measures grayscale images, x of shape (1, H, W); got {x_shape}."
            )
        self.config = config
        #: training steps taken with this head: the warm-up's clock, checkpointed with the model so a resume continues it
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def _measure(self, images: torch.Tensor) -> torch.Tensor:
        values = soft_measure(images, self.config.sharpness, self.config.upsample)
        return torch.stack([values[name] for name in self.config.attributes], dim=1)

    def optimizer(self) -> None:
        return None

    def head_losses(self, step: TrainingStep) -> dict[str, torch.Tensor]:
        return {}

    def model_losses(self, step: TrainingStep) -> list[ModelLoss]:
        c = self.config
        if self.training:
            self.steps += 1
        ramp = (self.steps.float() / c.warmup_steps).clamp(max=1.0) if c.warmup_steps else 1.0
        real = self._measure(step.x).detach()
        spread = real.std(0).clamp(min=1e-3) if len(real) > 1 else torch.ones_like(real[0])

        def mismatch(images: torch.Tensor) -> torch.Tensor:
            generated = self._measure(images)
            if c.match == "distribution":  # 1-D optimal transport per attribute: sorted against sorted
                return ((generated.sort(0).values - real.sort(0).values) / spread).pow(2).sum(1).mean()
            return ((generated - real) / spread).pow(2).sum(1).mean()

        terms = []
        if c.lambda_reconstruction:
            value = ramp * c.lambda_reconstruction * mismatch(step.x_f)
            terms.append(ModelLoss("consistency_reconstruction", value, ENCODER_AND_DECODER))
        if c.lambda_prior:
            terms.append(ModelLoss("consistency_prior", ramp * c.lambda_prior * mismatch(step.x_p), DECODER_ONLY))
        return terms
