"""Where generated thickness goes wrong: the decoder's mean against the digits, for a trained morpho run.

Measured with the same code as the data (``condgen_morpho.measure``), on the first 2,000 test digits:

- ``reconstruction``: the decoder's mean at each digit's own posterior mean z (no prior involved);
- ``prior sample``: the decoder's mean at z ~ p(z|c) for each digit's own condition;
- ``Bernoulli sample``: a binary draw of the decoder instead of its mean;
- per requested thickness: ``attribute_control``'s procedure (10 values over the test 5th-95th percentile,
  every label, the rest at the median, seed 0), mean and sd of the measured thickness;
- ``--control``: ``attribute_control`` and ``cond_accuracy`` alone, by the calls ``condgen eval`` makes
  (seed 0, 1,000 images per class), without its likelihoods and FID;
- ``--neighbours``: each of 400 test digits' k nearest training digits of its class (pixel distance)
  averaged, measured, against the mean of their own thickness: what averaging does to real digits.

Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/morpho_bias.py RUN [--control] [--neighbours]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import condgen


def thickness(images: torch.Tensor) -> np.ndarray:
    from condgen_morpho.measure import measure

    return measure(images[:, 0].clamp(0, 1).numpy(), 1)["thickness"]


def main() -> None:
    from condgen.engine.loaded_run import load_run

    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--control", action="store_true")
    parser.add_argument("--neighbours", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = load_run(args.run)
    model, dataset = run.model, run.dataset
    test = dataset.load("test")
    if args.control:
        control(model, dataset, test)
    column = dataset.attributes.index("thickness")
    x, c = test.batch(torch.arange(2000))
    real = test.measured[:2000, column]
    sd = float(np.nanstd(test.measured[:, column]))
    with torch.no_grad():
        mu = model.posterior(x, c).mean
        torch.manual_seed(0)
        z = model.prior_for(c).sample()
        shown = {
            "reconstruction": model.likelihood(mu, c).mean,
            "prior sample": model.likelihood(z, c).mean,
            "Bernoulli sample": model.likelihood(z, c).sample(),
        }
    for name, images in shown.items():
        got = thickness(images)
        error = got - real
        thirds = np.nanpercentile(real, [100 / 3, 200 / 3])
        parts = [np.nanmean(error[part]) for part in (real < thirds[0], (real >= thirds[0]) & (real < thirds[1]),
                                                      real >= thirds[1])]
        grey = ((images > 0.1) & (images < 0.9)).float().mean().item() / ((x > 0.1) & (x < 0.9)).float().mean().item()
        print(f"{name:17s} bias {np.nanmean(error):+.3f} px (thin / medium / thick third {parts[0]:+.2f} / "
              f"{parts[1]:+.2f} / {parts[2]:+.2f}), MAE {np.nanmean(np.abs(error)) / sd:.3f} sd, "
              f"grey pixels x{grey:.2f} of the digits'")
    low, high = np.nanpercentile(test.measured[:, column], [5, 95])
    torch.manual_seed(0)
    for value in np.linspace(low, high, 10):
        batch = dataset.conditions_for_request(condgen.ConditionRequest(attributes={"thickness": float(value)}, copies=10))
        with torch.no_grad():
            got = thickness(model.sample(batch.conditions))
        print(f"asked {value:.2f} px: measured {np.nanmean(got):.2f} (bias {np.nanmean(got) - value:+.2f}, "
              f"sd {np.nanstd(got):.2f})")
    if args.neighbours:
        neighbours(dataset, x[:400], test.labels[:400])


def control(model, dataset, test) -> None:
    from condgen.evaluation import apply_in_batches, generate_for_labels

    torch.manual_seed(0)  # as condgen eval seeds each part (settings.seed)
    images, labels = generate_for_labels(model, dataset, 1000)
    accuracy = (apply_in_batches(dataset.metric_network(), images).argmax(1) == labels).float().mean().item()
    print(f"cond_accuracy {accuracy:.4f}")
    torch.manual_seed(0)
    for name, figures in dataset.control_metrics(model.sample, test, 1000)["attribute_control"].items():
        print(f"{name}: Spearman {figures['spearman']:.3f}, MAE {figures['mae']:.3f} {figures['unit']}, "
              f"{figures['mae_over_sd']:.3f} sd, {figures['missing']} missing")


def neighbours(dataset, digits: torch.Tensor, labels: torch.Tensor) -> None:
    train = dataset.load("train")
    column = dataset.attributes.index("thickness")
    pixels, _ = train.batch(torch.arange(len(train)))
    pixels = pixels.flatten(1)
    for k in (4, 8, 16):
        averages, own = [], []
        for digit, label in zip(digits.flatten(1), labels):
            pool = (train.labels == label).nonzero()[:, 0]
            nearest = pool[((pixels[pool] - digit) ** 2).sum(1).topk(k, largest=False).indices]
            averages.append(pixels[nearest].mean(0).view(1, 28, 28))
            own.append(np.nanmean(train.measured[nearest.numpy(), column]))
        got = thickness(torch.stack(averages))
        print(f"average of {k:2d} nearest training digits: {np.nanmean(got - np.array(own)):+.3f} px over their own "
              "mean thickness")


if __name__ == "__main__":
    main()
