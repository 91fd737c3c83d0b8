"""The README's Morpho-MNIST sweep figure (docs/morpho_sweep.png) from a trained morpho run.

Left, ``condgen sample RUN --sweep thickness=1.5:4.5:8``; right, ``condgen sample RUN --sweep
slant=-0.4:0.6:8`` (one row per digit, each row one latent, the other attribute at the training median),
pasted side by side with a white gap. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/morpho_figure.py RUN [-o docs/morpho_sweep.png]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

SWEEPS = ("thickness=1.5:4.5:8", "slant=-0.4:0.6:8")
GAP = 12


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/morpho_sweep.png"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        grids = []
        for i, sweep in enumerate(SWEEPS):
            path = Path(folder) / f"{i}.png"
            subprocess.run([sys.executable, "-m", "condgen", "sample", str(args.run), "--sweep", sweep, "-o", str(path)],
                           check=True)
            grids.append(Image.open(path).convert("L"))
        width = sum(grid.width for grid in grids) + GAP * (len(grids) - 1)
        figure = Image.new("L", (width, max(grid.height for grid in grids)), 255)
        left = 0
        for grid in grids:
            figure.paste(grid, (left, 0))
            left += grid.width + GAP
        figure.save(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
