"""condgen.compat: torchvision usable whether or not its C++ ops match torch.

Each case runs in a fresh interpreter: the fix is about what happens on the
*first* import of torchvision in a process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USE_TORCHVISION = """
import json, struct, sys, tempfile
from pathlib import Path
import torch
import condgen.compat as compat
tv = compat.torchvision
folder = Path(tempfile.mkdtemp())
# datasets: torchvision's MNIST reader on genuine IDX files
raw = folder / "MNIST" / "raw"; raw.mkdir(parents=True)
for prefix, n in (("train", 3), ("t10k", 2)):
    (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(range(n)) * 784)
    (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + bytes(range(n)))
data = tv.datasets.MNIST(str(folder), train=True, download=False)
# transforms and image utilities
tensor = tv.transforms.ToTensor()(data[1][0])
tv.utils.save_image(torch.rand(4, 1, 8, 8), folder / "grid.png", nrow=2)
png = (folder / "grid.png").read_bytes()
print(json.dumps({
    "stubbed": compat.ops_were_stubbed(),
    "has_ops": bool(sys.modules["torchvision.extension"]._has_ops()),
    "same_module": compat.torchvision is sys.modules["torchvision"],
    "labels": data.targets.tolist(),
    "tensor_shape": list(tensor.shape),
    "png_magic": png[:8] == b"\\x89PNG\\r\\n\\x1a\\n",
}))
"""

PLAIN_IMPORT = """
import json
try:
    import torchvision
    print(json.dumps({"ok": True, "error": ""}))
except RuntimeError as error:
    print(json.dumps({"ok": False, "error": str(error)}))
"""

DEFINE_SCHEMAS_FIRST = """
import torch
_keep = torch.library.Library("torchvision", "FRAGMENT")
_keep.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_keep.define("qnms(Tensor qdets, Tensor qscores, float iou_threshold) -> Tensor")
"""


def python(code: str, tmp_path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def plain_import(tmp_path_factory) -> dict:
    """What a bare ``import torchvision`` does in this environment."""
    return python(PLAIN_IMPORT, tmp_path_factory.mktemp("plain"))


@pytest.mark.slow
def test_compat_gives_a_working_torchvision_and_says_whether_it_stubbed(tmp_path, plain_import) -> None:
    result = python(USE_TORCHVISION, tmp_path)
    assert result["same_module"]
    assert result["labels"] == [0, 1, 2]
    assert result["tensor_shape"] == [1, 28, 28]
    assert result["png_magic"]
    # The stand-ins are defined exactly when the C++ ops did not load ...
    assert result["stubbed"] == (not result["has_ops"])
    # ... which is exactly when a bare import fails with the missing-operator error.
    assert result["stubbed"] == (not plain_import["ok"])
    if not plain_import["ok"]:
        assert "operator torchvision::" in plain_import["error"] and "does not exist" in plain_import["error"]


@pytest.mark.slow
def test_importing_condgen_compat_first_makes_a_plain_torchvision_import_work(tmp_path, plain_import) -> None:
    # The one-line remedy the README and docs/writing-plugins.md give for a user's notebook or a plugin's script.
    result = python("import condgen.compat\n" + PLAIN_IMPORT, tmp_path)
    assert result == {"ok": True, "error": ""}


@pytest.mark.slow
def test_compat_leaves_an_install_whose_op_schemas_exist_alone(tmp_path, plain_import) -> None:
    # On a matched install the ops load by themselves; elsewhere simulate one by
    # defining the schemas before anything imports torchvision.
    prelude = "" if plain_import["ok"] else DEFINE_SCHEMAS_FIRST
    result = python(prelude + USE_TORCHVISION, tmp_path)
    assert result["stubbed"] is False
    assert result["labels"] == [0, 1, 2] and result["png_magic"]


@pytest.mark.slow
def test_compat_reraises_import_errors_it_does_not_know(tmp_path) -> None:
    # A torchvision that is broken some other way is not papered over.
    fake = tmp_path / "fake"
    (fake / "torchvision").mkdir(parents=True)
    (fake / "torchvision" / "__init__.py").write_text('raise RuntimeError("something else entirely")\n')
    code = f"""
    import json, sys
    sys.path.insert(0, {str(fake)!r})
    try:
        import condgen.compat
        print(json.dumps({{"raised": ""}}))
    except RuntimeError as error:
        print(json.dumps({{"raised": str(error)}}))
    """
    assert python(code, tmp_path)["raised"] == "something else entirely"
