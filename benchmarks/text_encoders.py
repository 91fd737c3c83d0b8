"""Text encoders for the ``text`` conditioner: training step time of the whole CVAE, ``gru`` vs ``transformer``.

Both variants train recipes/mnist_text_cvae.yaml's networks on the same captioned
MNIST batches (torch's global RNG seeded alike), one thread; beside them, the
same MLPs and prior with the one-hot ``concat`` conditioner on the labels, the
cost of conditioning on a label instead of a caption. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/text_encoders.py [--steps 60] [--cache DIR]

Prints milliseconds per step (median of three blocks) for each.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from condgen.compose import build_model
from condgen.recipe import load_recipe

VARIANTS = {
    "gru": ["model.conditioner.encoder.name=gru"],
    "transformer": [
        "model.conditioner.encoder={name: transformer, dim: 64, embedding: 64, layers: 2, heads: 4, feedforward: 128}"
    ],
}


def step_times(overrides: list[str], steps: int, label_baseline: bool = False) -> float:
    resolved = load_recipe("recipes/mnist_text_cvae.yaml", overrides)
    composed = build_model(resolved)
    model, dataset = composed.model, composed.dataset
    train = dataset.load("train")
    if label_baseline:
        from condgen_concat.conditioners import Concat
        from condgen.compose import assemble

        base = dataset.morpho.base  # the labelled digits under the captions (and morpho) wrappers
        parts = {role: resolved.part("model", role) for role in ("encoder", "decoder", "prior")}
        model = assemble(
            lambda role, context: Concat() if role == "conditioner" else parts[role].build(context),
            base.x_shape,
            base.condition_shape,
        )
        train = base.load("train")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    torch.manual_seed(0)
    blocks = []
    for _ in range(4):
        started = time.perf_counter()
        for _ in range(steps // 3):
            index = torch.randint(len(train), (128,))
            x, condition = train.batch(index)
            optimizer.zero_grad()
            model.losses(x, condition).loss.backward()
            optimizer.step()
        blocks.append((time.perf_counter() - started) / (steps // 3) * 1000)
    return statistics.median(blocks[1:])  # the first block warms the token cache up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--cache", default=None, help="the morpho measurement cache folder (data.cache)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    extra = [f"data.cache={args.cache}"] if args.cache else []
    print(f"labels (concat, no text): {step_times(extra, args.steps, label_baseline=True):.1f} ms/step")
    for name, overrides in VARIANTS.items():
        print(f"text, {name}: {step_times(overrides + extra, args.steps):.1f} ms/step")


if __name__ == "__main__":
    main()
