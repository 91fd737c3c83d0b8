"""CVAE-GAN heads (Bao et al. 2017, arXiv 1703.10155): a classifier C and a discriminator D
that sharpen a conditional VAE's generator.

- ``classifier``: C learns the condition (class) from real images by
  cross-entropy. It gives the generator two terms: pairwise feature matching
  between x and its reconstruction x_f on C's features (encoder and decoder,
  weight lambda2), and mean feature matching of C's features of prior samples
  x_p to per-class centres of real features, kept as moving averages
  (decoder, lambda4).
- ``discriminator``: D tells real x from reconstructions x_f and prior samples
  x_p. It gives pairwise feature matching between x and x_f on D's features
  (encoder and decoder, lambda2) and mean feature matching between real and
  prior samples' features (decoder, lambda3).

The pixel-space pairwise term is the model's own reconstruction term and the
KL weight lambda1 is ``trainer.kl_weight``; the paper's defaults are
lambda1 = 3, lambda2 = 1, lambda3 = lambda4 = 1e-3. Neither head is ever
trained by the generator's losses: the engine steps each network only with its
own optimiser, on its own loss.

Only the configs and the hook live here: the components are registered by path
(``condgen_cvaegan.heads``), so listing and validating never import torch.
"""

from __future__ import annotations

from pydantic import Field

import condgen
from condgen import OptimizerConfig


def _gan_optimizer() -> OptimizerConfig:
    return OptimizerConfig(name="adam", lr=2e-4, betas=(0.5, 0.999))


class HeadConfig(condgen.ComponentConfig):
    channels: list[condgen.Width] = Field(default_factory=lambda: [32, 64], min_length=2, max_length=2)
    features: condgen.Width = Field(256, description="width of the feature layer used for feature matching")
    optimizer: OptimizerConfig = Field(default_factory=_gan_optimizer)
    lambda_pairwise: float = Field(1.0, ge=0, le=1e6, description="lambda2: x vs x_f on this head's features")
    lambda_mean: float = Field(1e-3, ge=0, le=1e6, description="lambda3 (D) / lambda4 (C): mean feature matching")


@condgen.hookimpl
def register_components(register):
    register("head", "classifier", "condgen_cvaegan.heads:Classifier", HeadConfig)
    register("head", "discriminator", "condgen_cvaegan.heads:Discriminator", HeadConfig)
