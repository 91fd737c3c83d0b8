"""Where a text run's thickness control misses: per asked bin, and per digit, bin and source of variation.

- per bin (600 seeded ``text_control`` prompts per phrasing): mean and sd of the measured thickness and size of the
  images asked for each bin, and which bins they landed in;
- per digit (3 and 7) and bin, 100 held-out phrasings: thickness at the prior's mean (variation over phrasings
  alone), at z ~ p(z|text) (what ``text_control`` measures) with the share landing in the asked bin, and for one
  phrasing over 100 latents.

Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/text_bins.py RUN
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    from condgen_morpho.measure import measure
    from condgen_text.captions import Request
    from condgen_text.control import control_prompts

    from condgen.engine.loaded_run import load_run

    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = load_run(args.run)
    dataset, model = run.dataset, run.model

    def thickness(images: torch.Tensor) -> np.ndarray:
        return measure(images[:, 0].clamp(0, 1).numpy(), 1)["thickness"]

    print("bin edges:", {name: tuple(round(e, 3) for e in edges) for name, edges in dataset.bins.edges.items()})
    for phrasing in ("train", "heldout"):
        prompts, requests = control_prompts(dataset, phrasing, 600, 0)
        torch.manual_seed(0)
        with torch.no_grad():
            images = model.sample(dataset.conditions_for_text(prompts))
        measured = measure(images[:, 0].clamp(0, 1).numpy(), 1)
        for name, key in (("thickness", "thickness"), ("size", dataset.config.size)):
            print(f"{phrasing} {name}")
            for asked in range(3):
                index = [i for i, r in enumerate(requests) if r.bins.get(name) == asked]
                values = measured[key][index]
                landed = dataset.bins.of(name, values)
                print(f"  asked bin {asked}: {len(index)} prompts, mean {np.nanmean(values):.2f} sd {np.nanstd(values):.2f}, "
                      f"landed in bins {np.bincount(landed[landed >= 0], minlength=3).tolist()}")
    for digit in (3, 7):
        for asked, word in enumerate(("thin", "medium", "thick")):
            rng = random.Random(1)
            prompts = [dataset.grammar.caption(Request(digit, {"thickness": asked}), rng.randrange(2**31), "heldout")
                       for _ in range(100)]
            conditions = dataset.conditions_for_text(prompts)
            one = conditions[:1].expand(100, -1)
            torch.manual_seed(0)
            with torch.no_grad():
                prior = model.prior_for(conditions)
                at_mean = thickness(model.likelihood(prior.mean, conditions).mean)
                sampled = thickness(model.likelihood(prior.sample(), conditions).mean)
                one_phrasing = thickness(model.likelihood(model.prior_for(one).sample(), one).mean)
            right = (dataset.bins.of("thickness", sampled) == asked).mean()
            print(f"{digit} {word:6s} at the prior mean: {np.nanmean(at_mean):.2f} px (sd {np.nanstd(at_mean):.2f}); "
                  f"z sampled: {np.nanmean(sampled):.2f} (sd {np.nanstd(sampled):.2f}), {right:.2f} in the bin; "
                  f"one phrasing, z sampled: sd {np.nanstd(one_phrasing):.2f}")


if __name__ == "__main__":
    main()
