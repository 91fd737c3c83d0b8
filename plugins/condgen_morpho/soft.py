"""Differentiable stand-ins for the measurements, so a loss can ask generated images to measure right.

``measure`` binarises, skeletonises and runs a distance transform: exact, but
with no gradient. Here each image is upsampled x2 (bilinear) and passed through
a soft threshold at half intensity, sigmoid((x - 0.5) * sharpness), and then:

- ``area`` (px^2): the soft foreground's sum, in original pixels;
- ``thickness`` (px): 2 * area / perimeter, the perimeter being the soft
  foreground's total variation; a stroke w wide and L long has area wL and
  perimeter about 2L, hence w (skeleton-free, so short strokes read a little thin);
- ``slant`` (rad): ``measure``'s own definition, arctan(-cov(row, col) / var(row)),
  on the soft foreground.

On the first 3,000 MNIST test digits these track ``measure`` with Pearson
correlations of 0.98 (thickness) and 1.00 (slant), and they see the decoder's
mean of a trained morpho run read thicker by about as much as ``measure`` does
(+0.19 px against +0.155 px on reconstructions).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

def soft_measure(images: torch.Tensor, sharpness: float = 16.0, upsample: int = 2) -> dict[str, torch.Tensor]:
    """``{attribute: (n,)}`` for images (n, 1, H, W) in [0, 1]; an empty image gives area 0 and finite values."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"expected grayscale images (n, 1, H, W), got shape {tuple(images.shape)}")
    x = images.float()
    if upsample > 1:
        x = F.interpolate(x, scale_factor=upsample, mode="bilinear", align_corners=False)
    soft = torch.sigmoid((x - 0.5) * sharpness)[:, 0]
    area = soft.sum((1, 2))
    dy = soft[:, 1:, :-1] - soft[:, :-1, :-1]
    dx = soft[:, :-1, 1:] - soft[:, :-1, :-1]
    perimeter = torch.sqrt(dx * dx + dy * dy + 1e-6).sum((1, 2))
    h, w = soft.shape[-2:]
    rows = torch.arange(h, dtype=soft.dtype, device=soft.device)[:, None]
    cols = torch.arange(w, dtype=soft.dtype, device=soft.device)[None, :]
    mass = area.clamp(min=1e-6)
    row_mean = (soft * rows).sum((1, 2)) / mass
    col_mean = (soft * cols).sum((1, 2)) / mass
    r = rows - row_mean[:, None, None]
    c = cols - col_mean[:, None, None]
    covariance = (soft * r * c).sum((1, 2)) / mass
    row_variance = (soft * r * r).sum((1, 2)) / mass
    scale = float(upsample)
    return {
        "thickness": 2 * area / perimeter.clamp(min=1e-6) / scale,
        "slant": torch.atan(-covariance / row_variance.clamp(min=1e-6)),
        "area": area / scale**2,
    }
