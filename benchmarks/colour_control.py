"""Do samples of a colour-MNIST run follow the digit and the tint asked for?

    python benchmarks/colour_control.py RUN [--per-cell 20]

For each digit 0-9 and each of 12 evenly spaced hues, the run generates
``per-cell`` images (decoder means at z ~ p(z|c)) conditioned on the digit and
on the hue's saturated colour (the red, green, blue attributes). Measured:

- hue: the intensity-weighted circular mean hue of each image's bright pixels
  (``write_image_folder.mean_hue``), against the requested hue: mean absolute
  circular error (in turns; 0.5 is the largest possible, 0.25 what ignoring
  the request scores on average) and the fraction within 1/24 turn (15 degrees);
- digit: the shipped MNIST metric network on each image's intensity (the
  brightest channel, the 2-pixel padding cropped back to 28x28, scaled so its
  brightest pixel is 1: a decoder mean is dimmer than a sample), accuracy
  against the requested digit (chance 0.1).

Where the digit comes from (``--swap N``, N test images, 500 by default): each
test image is encoded with its own condition, z = the mean of q(z|x,c), and
decoded with another digit's one-hot (the colour kept). The classifier says
whether the decoded digit follows the new label (the decoder uses it) or the
source image (z carries the digit); ``active_latents`` counts the latent
dimensions whose mean KL to the prior exceeds 0.01 nats, and ``kl_nats`` is the
mean KL per image.
"""

from __future__ import annotations

import argparse
import colorsys
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from write_image_folder import hue_distance, mean_hue  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--per-cell", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--swap", type=int, default=500, help="test images for the label-swap check (0: none)")
    args = parser.parse_args(argv)

    from condgen.engine.loaded_run import load_run
    from condgen_mnist.metric_net import load_metric_net

    loaded = load_run(args.run)
    model, dataset = loaded.model, loaded.dataset
    hues = torch.arange(12) / 12
    torch.manual_seed(args.seed)
    requested_hue, requested_digit, images = [], [], []
    for digit in range(10):
        for hue in hues.tolist():
            red, green, blue = colorsys.hsv_to_rgb(hue, 1.0, 1.0)
            labels = torch.full((args.per_cell,), digit)
            condition = dataset.conditions_for(labels, {"red": red, "green": green, "blue": blue})
            images.append(model.sample(condition))
            requested_hue.append(torch.full((args.per_cell,), hue))
            requested_digit.append(labels)
    x = torch.cat(images)
    wanted_hue, wanted_digit = torch.cat(requested_hue), torch.cat(requested_digit)
    error = hue_distance(mean_hue(x), wanted_hue)
    classify = load_metric_net()
    predicted = digits(classify, x)
    result = {
        "images": len(x),
        "hue_mean_abs_error_turns": round(error.mean().item(), 4),
        "hue_within_15_degrees": round((error < 1 / 24).float().mean().item(), 4),
        "digit_accuracy": round((predicted == wanted_digit).float().mean().item(), 4),
        "checkpoint_epoch": loaded.epoch,
    }
    if args.swap:
        result.update(swap_check(model, dataset.load("test"), classify, args.swap, args.seed))
    print(json.dumps(result, indent=2))
    return 0


@torch.no_grad()
def digits(classify: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The metric network's digit for each image's intensity (see the module docstring)."""
    intensity = x.max(1, keepdim=True).values[:, :, 2:30, 2:30]
    intensity = intensity / intensity.amax((1, 2, 3), keepdim=True).clamp_min(1e-6)
    return classify(intensity).argmax(1)


@torch.no_grad()
def swap_check(model, test, classify: torch.nn.Module, count: int, seed: int) -> dict[str, float]:
    """Decode each test image's z with another digit's label: which digit comes out (module docstring)."""
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(test), generator=generator)[:count]
    x, condition = test.batch(index)
    source = condition[:, :10].argmax(1)
    target = (source + torch.randint(1, 10, source.shape, generator=generator)) % 10
    q = model.posterior(x, condition)
    kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(q.mean, q.stddev), torch.distributions.Normal(0.0, 1.0)
    ).mean(0)
    swapped = condition.clone()
    swapped[:, :10] = torch.nn.functional.one_hot(target, 10).float()
    decoded = digits(classify, model.likelihood(q.mean, swapped).mean)
    kept = digits(classify, model.likelihood(q.mean, condition).mean)
    return {
        "reconstruction_digit_accuracy": round((kept == source).float().mean().item(), 4),
        "swap_follows_label": round((decoded == target).float().mean().item(), 4),
        "swap_follows_source": round((decoded == source).float().mean().item(), 4),
        "kl_nats": round(kl.sum().item(), 2),
        "active_latents": int((kl > 0.01).sum()),
    }


if __name__ == "__main__":
    sys.exit(main())
