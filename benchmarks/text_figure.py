"""The README's prompts -> grids figure (docs/text_prompts.png) from a trained text run, plus sampling time.

One row per prompt, ``-n`` images each (decoder means at z ~ p(z|text), seed 0),
the prompt written at the left; the first prompts are training phrasing, the
last ones held-out phrasing of the recipe's grammar. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/text_figure.py RUN [-o docs/text_prompts.png] [-n 8]

It also prints how long loading the run and sampling one prompt take in this
process (what ``condgen sample --text`` does after Python has imported torch).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

PROMPTS = [
    "a thick seven leaning right",
    "a thin upright 0",
    "a small thin two",
    "a bold 3 leaning left",
    "four",
    "a large thick 8",
    "draw the digit five, tilted to the left",  # held-out frame, noun form and phrase (grammar seed 0)
    "an image of a heavy upright nine",  # held-out frame and adjective (grammar seed 0)
]
HELD_OUT = 2  # the last prompts use phrasing the model never trained on


def main() -> None:
    from condgen.engine.loaded_run import load_run

    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/text_prompts.png"))
    parser.add_argument("-n", type=int, default=8)
    args = parser.parse_args()

    started = time.perf_counter()
    loaded = load_run(args.run)
    condition = loaded.dataset.conditions_for_text(PROMPTS[:1])
    torch.manual_seed(0)
    loaded.model.sample(condition.repeat_interleave(args.n, 0))
    print(f"load the run and sample one prompt x {args.n}: {time.perf_counter() - started:.2f} s (after imports)")

    grammar = loaded.dataset.grammar
    torch.manual_seed(0)
    conditions = loaded.dataset.conditions_for_text(PROMPTS).repeat_interleave(args.n, 0)
    images = loaded.model.sample(conditions).view(len(PROMPTS), args.n, 28, 28)
    label_width, strip_width = 2.6, 0.5 * args.n  # inches
    width = label_width + strip_width
    fig, axes = plt.subplots(len(PROMPTS), 1, figsize=(width, 0.52 * len(PROMPTS)))
    for row, (axis, prompt) in enumerate(zip(axes, PROMPTS)):
        strip = torch.cat(list(images[row]), dim=1).numpy()
        axis.imshow(strip, cmap="gray", vmin=0, vmax=1)
        axis.set_xticks([])
        axis.set_yticks([])
        assert not grammar.unseen_words(prompt), prompt
        held = row >= len(PROMPTS) - HELD_OUT
        axis.set_ylabel(f'"{prompt}"' + ("\n(held-out phrasing)" if held else ""), rotation=0, ha="right",
                        va="center", fontsize=8)
    fig.subplots_adjust(left=label_width / width, right=0.995, top=0.995, bottom=0.005, hspace=0.06)
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
