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

``match: bin`` is for conditions that name a bin (a caption's "thin",
"medium", "thick"): a prior sample is asked only to land in the bin its digit
lies in (equal-count bins of the data's soft measurement, edges a running
average of each batch's quantiles, kept in the checkpoint), ``margin`` inside
its edges, a squared hinge that is zero within. Inside the bin nothing pulls,
so the likelihood keeps the spread within it; what is pulled in is the tail a
Gaussian prior spills over the bin's edges, and the decoder's mean drifting
thick (README, text). Reconstructions are matched per example, as with
``example``.

It has no parameters (buffers only: the step count and the bin edges) and no
update of its own (``optimizer()`` is ``None``), and needs nothing from the
dataset: any grayscale image dataset can use it.
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
        if config.match == "bin":
            #: each attribute's inner bin edges in soft-measure units, set from the first training batch
            self.register_buffer("edges", torch.zeros(len(config.attributes), config.bins - 1))

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

        def outside_bin(images: torch.Tensor) -> torch.Tensor:
            generated = self._measure(images)
            low, high = self._bin_of(real)
            inset = c.margin * spread
            short = (low + inset - generated).clamp(min=0)
            over = (generated - high + inset).clamp(min=0)
            return ((short + over) / spread).pow(2).sum(1).mean()

        terms = []
        if c.lambda_reconstruction:
            value = ramp * c.lambda_reconstruction * mismatch(step.x_f)
            terms.append(ModelLoss("consistency_reconstruction", value, ENCODER_AND_DECODER))
        if c.lambda_prior:
            prior = outside_bin(step.x_p) if c.match == "bin" else mismatch(step.x_p)
            terms.append(ModelLoss("consistency_prior", ramp * c.lambda_prior * prior, DECODER_ONLY))
        return terms

    def _bin_of(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The lower and upper edge (n, attributes) of the bin each real digit lies in; training updates the edges."""
        bins = self.config.bins
        levels = torch.arange(1, bins, dtype=real.dtype, device=real.device) / bins
        batch = torch.quantile(real, levels, dim=0).T  # (attributes, bins - 1)
        if self.training:  # the step count is already this step's: 1 on the first batch
            keep = self.config.edge_momentum
            self.edges.copy_(torch.where(self.steps <= 1, batch, keep * self.edges + (1 - keep) * batch))
        edges = torch.where(self.steps == 0, batch, self.edges)  # never trained: this batch's own quantiles
        which = (real.unsqueeze(-1) >= edges).sum(-1)  # (n, attributes): 0 .. bins - 1
        infinite = torch.full_like(edges[:, :1], float("inf"))
        lower, upper = torch.cat([-infinite, edges], 1), torch.cat([edges, infinite], 1)  # (attributes, bins)
        attribute = torch.arange(len(edges), device=edges.device)
        return lower[attribute, which], upper[attribute, which]
