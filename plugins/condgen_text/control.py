"""``text_control``: does the generated digit do what the prompt says, for training and held-out phrasing?

For each phrasing (``train``, ``heldout``) a fixed, seeded set of prompts is
written by the grammar, each naming the digit and, independently with
probability one half, each of thickness, slant and size, balanced over
digits and bins. One image is generated per prompt (decoder mean at z ~
p(z|c)). Then:

- ``digit_accuracy``: the shipped metric network's class equals the digit the
  prompt names (chance 1/10);
- ``<attribute>_accuracy``: the image's Morpho-MNIST measurement falls in the
  bin the prompt names, bins being the training split's tertiles (chance 1/3:
  a third of real digits lie in each bin). An image with no pixel above one
  half (a faint, blurred digit) cannot be measured and counts as a miss;
  ``unmeasured`` says how many there were.

Each figure comes with the number of prompts it is over and its chance level.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from .captions import ATTRIBUTES, PHRASINGS, Request

CHANCE_DIGIT = 0.1
CHANCE_BIN = 1 / 3


def control_prompts(dataset: Any, phrasing: str, count: int, seed: int) -> tuple[list[str], list[Request]]:
    """``count`` prompts (and what each asks for) in ``phrasing``: digits cycle, bins and named attributes seeded."""
    rng = random.Random(f"text-control-{seed}-{phrasing}")
    prompts, requests = [], []
    for i in range(count):
        bins = {name: rng.randrange(3) for name in ATTRIBUTES if rng.random() < 0.5}
        request = Request(i % 10, bins)
        requests.append(request)
        prompts.append(dataset.grammar.caption(request, rng.randrange(2**31), phrasing))
    return prompts, requests


@torch.no_grad()
def text_control(generate: Any, dataset: Any, network: torch.nn.Module, count: int = 1000, seed: int = 0,
                 batch_size: int = 500) -> dict[str, Any]:
    """The figures above, one entry per phrasing (chance levels beside them); ``generate(conditions)`` gives images."""
    from condgen_morpho.measure import measure

    result: dict[str, Any] = {}
    for phrasing in PHRASINGS:
        prompts, requests = control_prompts(dataset, phrasing, count, seed)
        torch.manual_seed(seed)
        conditions = dataset.conditions_for_text(prompts)
        images = torch.cat(
            [
                generate(conditions[start : start + batch_size])
                for start in range(0, count, batch_size)
            ]
        )
        predicted = torch.cat([network(images[s : s + batch_size]).argmax(1) for s in range(0, count, batch_size)])
        digits = torch.tensor([r.digit for r in requests])
        measured = measure(images[:, 0].clamp(0, 1).numpy())
        measured = {"thickness": measured["thickness"], "slant": measured["slant"], "size": measured[dataset.config.size]}
        figures: dict[str, Any] = {
            "digit_accuracy": float((predicted == digits).float().mean()),
            "digit_chance": CHANCE_DIGIT,
            "bin_chance": CHANCE_BIN,
            "digit_prompts": count,
            "unmeasured": int(np.isnan(measured["thickness"]).sum()),
            "example_prompts": prompts[:5],
        }
        for name in ATTRIBUTES:
            asked = [(i, r.bins[name]) for i, r in enumerate(requests) if name in r.bins]
            index = np.array([i for i, _ in asked], dtype=np.int64)
            wanted = np.array([b for _, b in asked], dtype=np.int64)
            got = dataset.bins.of(name, measured[name][index])
            figures[f"{name}_accuracy"] = float((got == wanted).mean()) if len(asked) else None
            figures[f"{name}_prompts"] = len(asked)
        result[phrasing] = figures
    return result


def bin_edges(dataset: Any) -> dict[str, Any]:
    """The training tertiles the attribute accuracies are judged by, in natural units."""
    return {name: {"low": low, "high": high} for name, (low, high) in dataset.bins.edges.items()} | {
        "size_measure": dataset.config.size
    }
