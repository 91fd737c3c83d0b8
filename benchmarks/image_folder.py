"""How long an image folder takes to become tensors: the first decode, then a cached start.

    python benchmarks/write_image_folder.py data/mnist_folder
    python benchmarks/image_folder.py data/mnist_folder --size 28 28 --mode L

Each measurement runs in a fresh process (so nothing is warm in Python) and
times what ``condgen run`` does with the data before its first step: resolve
the config (which lists the folder), then load both splits. Importing torch
and condgen is timed apart (``import_seconds``): the ``mnist`` plugin pays it
too. The first run starts with the cache folder removed; the second finds it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
before_imports = time.perf_counter()
from condgen_image_folder import ImageFolderConfig
from condgen_image_folder.dataset import build
started = time.perf_counter()
config = ImageFolderConfig(root=sys.argv[1], size=json.loads(sys.argv[2]), mode=sys.argv[3])
dataset = build(config, None)
sizes = {name: len(dataset.load(name)) for name in ("train", "test")}
print(json.dumps({"seconds": round(time.perf_counter() - started, 2), "images": sizes,
                  "import_seconds": round(started - before_imports, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def measure(root: Path, size: list[int], mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), json.dumps(size), mode], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--size", type=int, nargs=2, default=[28, 28])
    parser.add_argument("--mode", choices=["L", "RGB"], default="L")
    args = parser.parse_args(argv)
    shutil.rmtree(args.root / ".condgen_cache", ignore_errors=True)
    first = measure(args.root, args.size, args.mode)
    cached = measure(args.root, args.size, args.mode)
    print(json.dumps({"first_decode": first, "cached_start": cached}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
