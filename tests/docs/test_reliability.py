"""docs/reliability.md names the test behind each promise: every test it names exists, and every table row
names at least one."""

from __future__ import annotations

import re

from helpers import REPO

DOC = REPO / "docs" / "reliability.md"


def test_every_promise_names_a_test_that_exists() -> None:
    missing: list[str] = []
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| ") and not line.startswith("| promise")]
    assert len(rows) > 40
    for row in rows:
        cell = row.rstrip(" |").rsplit(" | ", 1)[-1]
        named = re.findall(r"`(tests/[\w/]+\.py)?::(\w+)`", cell)
        assert named, f"no test named in: {row}"
        current = None
        for path, name in named:
            path = current = path or current  # `::name` is in the file named before it
            source = (REPO / path).read_text() if path else ""
            if not re.search(rf"^(async )?def {name}\(", source, re.MULTILINE):
                missing.append(f"{path}::{name}")
    assert missing == []
