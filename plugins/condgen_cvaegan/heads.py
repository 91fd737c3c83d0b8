"""The CVAE-GAN heads, imported when a recipe builds one."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import condgen
from condgen import DECODER_ONLY, ENCODER_AND_DECODER, ModelLoss, TrainingStep, make_optimizer
from . import HeadConfig


class FeatureNet(nn.Module):
    """Two stride-2 convolutions and a feature layer, DCGAN style, for (C, H, W) images with H, W divisible by 4."""

    def __init__(self, x_shape: tuple[int, ...], channels: list[int], features: int, outputs: int) -> None:
        super().__init__()
        if len(x_shape) != 3 or x_shape[1] % 4 or x_shape[2] % 4:
            raise condgen.PluginError(f"CVAE-GAN heads need (C, H, W) images with H, W divisible by 4, got {x_shape}.")
        c, h, w = x_shape
        c1, c2 = channels
        self.body = nn.Sequential(
            nn.Conv2d(c, c1, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(c1, c2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(c2 * (h // 4) * (w // 4), features), nn.LeakyReLU(0.2),
        )
        self.out = nn.Linear(features, outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.out(features)


def _pairwise(features_real: torch.Tensor, features_fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (features_real - features_fake).pow(2).sum(1).mean()


class Classifier(nn.Module):
    """C: predicts the condition (a class distribution, e.g. one-hot) from an image."""

    def __init__(self, config: HeadConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        if len(context.condition_shape) != 1:
            raise condgen.PluginError(
                f"The classifier head needs a class vector condition (one-hot), got shape {context.condition_shape}."
            )
        self.config = config
        classes = context.condition_shape[0]
        self.net = FeatureNet(tuple(context.x_shape), config.channels, config.features, classes)
        self.register_buffer("centres", torch.zeros(classes, config.features))
        self.register_buffer("centres_seen", torch.zeros(classes))

    def optimizer(self) -> torch.optim.Optimizer:
        return make_optimizer(self.parameters(), self.config.optimizer)

    def head_losses(self, step: TrainingStep) -> dict[str, torch.Tensor]:
        features, logits = self.net(step.x)
        loss = -(step.condition * F.log_softmax(logits, 1)).sum(1).mean()
        self._update_centres(features.detach(), step.condition)
        accuracy = (logits.argmax(1) == step.condition.argmax(1)).float().mean()
        return {"loss": loss, "accuracy": accuracy}

    @torch.no_grad()
    def _update_centres(self, features: torch.Tensor, condition: torch.Tensor, momentum: float = 0.9) -> None:
        """Per-class means of real features as moving averages (seeded from the first batch that shows a class)."""
        weight = condition.sum(0)
        present = weight > 0
        batch_means = (condition.T @ features)[present] / weight[present, None]
        fresh = self.centres_seen[present] == 0
        old = self.centres[present]
        self.centres[present] = torch.where(fresh[:, None], batch_means, momentum * old + (1 - momentum) * batch_means)
        self.centres_seen[present] = 1

    def model_losses(self, step: TrainingStep) -> list[ModelLoss]:
        real, _ = self.net(step.x)
        fake, _ = self.net(step.x_f)
        prior, _ = self.net(step.x_p)
        weight = step.condition.sum(0)
        present = (weight > 0) & (self.centres_seen > 0)
        if present.any():
            prior_means = (step.condition.T @ prior)[present] / weight[present, None]
            mean_matching = 0.5 * (self.centres[present] - prior_means).pow(2).sum(1).mean()
        else:  # no class centre yet (the classifier has not seen real images of these classes)
            mean_matching = prior.sum() * 0
        c = self.config
        return [
            ModelLoss("C_pairwise", c.lambda_pairwise * _pairwise(real.detach(), fake), ENCODER_AND_DECODER),
            ModelLoss("C_mean", c.lambda_mean * mean_matching, DECODER_ONLY),
        ]


class Discriminator(nn.Module):
    """D: real images against reconstructions and prior samples."""

    def __init__(self, config: HeadConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.config = config
        self.net = FeatureNet(tuple(context.x_shape), config.channels, config.features, 1)

    def optimizer(self) -> torch.optim.Optimizer:
        return make_optimizer(self.parameters(), self.config.optimizer)

    def head_losses(self, step: TrainingStep) -> dict[str, torch.Tensor]:
        n = len(step.x)
        _, logits = self.net(torch.cat([step.x, step.x_f, step.x_p]))
        real, fake = logits[:n], logits[n:]
        loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + 2 * F.binary_cross_entropy_with_logits(
            fake, torch.zeros_like(fake)
        )
        return {"loss": loss, "real_score": torch.sigmoid(real).mean(), "fake_score": torch.sigmoid(fake).mean()}

    def model_losses(self, step: TrainingStep) -> list[ModelLoss]:
        n = len(step.x)
        features, _ = self.net(torch.cat([step.x, step.x_f, step.x_p]))
        real, fake, prior = features[:n], features[n : 2 * n], features[2 * n :]
        mean_matching = 0.5 * (real.detach().mean(0) - prior.mean(0)).pow(2).sum()
        c = self.config
        return [
            ModelLoss("D_pairwise", c.lambda_pairwise * _pairwise(real.detach(), fake), ENCODER_AND_DECODER),
            ModelLoss("D_mean", c.lambda_mean * mean_matching, DECODER_ONLY),
        ]
