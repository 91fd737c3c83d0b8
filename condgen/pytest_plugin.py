"""The pytest plugin (entry point ``pytest11``): the fixture ``condgen_check``.

pytest loads every installed ``pytest11`` plugin into every session, condgen or
not; this module therefore imports nothing heavy, and the test kit (with torch)
only when a test asks for the fixture.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest


@pytest.fixture
def condgen_check() -> Callable[..., Any]:
    """``condgen.testing.check_component`` as a fixture: ``condgen_check("encoder", "mine", {"width": 8})``."""
    from .testing import check_component

    return check_component
