"""Start-up: listing plugins, validating a recipe and asking for help import neither torch nor torchvision.

The plugins register their factories by path, the CLI imports a command's heavy modules inside the
command, and ``import condgen`` loads its public names on first use; any one slip shows up here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from condgen.cli import main
code = main({args!r})
heavy = sorted(name for name in ("torch", "torchvision", "matplotlib") if name in sys.modules)
print("HEAVY", heavy)
sys.exit(code)
"""


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["plugins", "-v"], ["validate", "RECIPE"]])
def test_listing_validating_and_help_never_import_torch(args, tiny_recipe) -> None:
    args = [str(tiny_recipe) if arg == "RECIPE" else arg for arg in args]
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout, done.stdout[-500:]
