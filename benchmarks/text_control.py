"""``text_control`` of a trained text run alone, without the rest of ``condgen eval`` (no NLL or FID).

The same function ``condgen eval`` calls (``condgen_text.control.text_control``):
prompts in training and held-out phrasing, one image each, digit accuracy by
the metric network and bin accuracy by the Morpho-MNIST measurement. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/text_control.py RUN [--prompts 500]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def main() -> None:
    from condgen.engine.loaded_run import load_run
    from condgen_text.control import text_control

    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--prompts", type=int, default=500, help="prompts per phrasing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    loaded = load_run(args.run)
    dataset = loaded.dataset
    result = text_control(loaded.model.sample, dataset, dataset.metric_network(), count=args.prompts)
    print(json.dumps(result, indent=1))
    print(f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
