"""``condgen plugins --verbose`` and ``CONDGEN_TRACE_HOOKS=1``: what a plugin author debugs with."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from condgen.plugins import DISABLE_AUTOLOAD_ENV, TRACE_HOOKS_ENV

from helpers import prior_plugin

TWO_PARTS = prior_plugin("flat", 'register("head", "flat_head", lambda config, context: nn.Linear(2, 2), Config)')

NOTHING = """
import condgen

@condgen.hookimpl
def register_components(register):
    pass
"""

FAILING = """
import condgen

@condgen.hookimpl
def register_components(register):
    raise ValueError("no GPU found")
"""


def listing(out: str) -> dict[str, dict[str, str]]:
    """The verbose section: {module: {"source": ..., "hooks": ..., "components": ... | "failed to load": ...}}."""
    assert "condgen plugins (module, distribution, hooks, components):" in out, out
    section = out.split("condgen plugins (module, distribution, hooks, components):", 1)[1]
    modules: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in section.splitlines():
        if line.startswith("  ") and current is not None:
            key, _, value = line.strip().partition(": ")
            current[key] = value
        elif line.strip() and " (" in line and not line.startswith("Set "):
            module, _, source = line.partition(" (")
            current = modules.setdefault(module, {"source": source.rstrip(")")})
    return modules


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRACE_HOOKS_ENV, raising=False)
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)


def test_verbose_lists_each_plugin_module_with_its_hooks_and_components(make_distribution, cli) -> None:
    make_distribution("cg-two", "cg_two", TWO_PARTS, version="2.0")
    make_distribution("cg-nothing", "cg_nothing", NOTHING)
    code, out, err = cli("plugins", "--verbose")
    assert code == 0, err
    modules = listing(out)
    assert modules["condgen_mlp"] == {
        "source": "condgen 0.1.0",
        "hooks": "register_components",
        "components": "decoder mlp, encoder mlp",
    }
    assert modules["condgen_mnist"]["components"] == "dataset mnist"
    assert "prior standard_normal" in modules["condgen_priors"]["components"].split(", ")
    assert modules["cg_two"] == {
        "source": "cg-two 2.0",
        "hooks": "register_components",
        "components": "head flat_head, prior flat",
    }
    assert modules["cg_nothing"] == {"source": "cg-nothing 0.1", "hooks": "register_components", "components": "(none)"}
    assert f"Set {TRACE_HOOKS_ENV}=1" in out


def test_verbose_lists_a_plugin_that_failed_to_load_with_its_error(make_distribution, cli) -> None:
    make_distribution("cg-failing", "cg_failing", FAILING)
    code, out, err = cli("plugins", "-v")
    assert code == 0, err
    modules = listing(out)
    assert modules["cg_failing"] == {"source": "cg-failing", "failed to load": "ValueError: no GPU found"}
    assert "hooks" in modules["condgen_concat"]


def test_without_verbose_there_is_only_the_component_table(cli) -> None:
    code, out, err = cli("plugins")
    assert code == 0, err
    assert "hooks:" not in out and "condgen plugins (module" not in out
    assert "condgen_mlp" in out


def test_hook_calls_are_traced_on_stderr_only_when_asked(make_distribution, cli, monkeypatch) -> None:
    make_distribution("cg-failing", "cg_failing", FAILING)
    code, _, err = cli("plugins")
    assert code == 0 and "condgen hook" not in err
    monkeypatch.setenv(TRACE_HOOKS_ENV, "1")
    code, out, err = cli("plugins")
    assert code == 0
    assert "condgen hook register_components(register) -> condgen_mlp" in err
    assert "condgen hook register_components <- cg_failing: raised ValueError: no GPU found" in err
    assert "condgen hook" not in out  # the trace never mixes into the listing


@pytest.mark.slow
def test_trace_in_a_fresh_process_shows_every_plugin_module_called(make_distribution, tmp_path) -> None:
    site = make_distribution("cg-two", "cg_two", TWO_PARTS, version="2.0")
    env = {k: v for k, v in os.environ.items() if k != DISABLE_AUTOLOAD_ENV}
    env.update({TRACE_HOOKS_ENV: "1", "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"})
    done = subprocess.run(
        [sys.executable, "-m", "condgen", "plugins"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    called = [line for line in done.stderr.splitlines() if line.startswith("condgen hook register_components(")]
    reached = {line.rsplit("-> ", 1)[1] for line in called}
    assert {"condgen_concat", "condgen_mlp", "condgen_mnist", "condgen_priors", "cg_two"} <= reached
    assert "condgen hook register_components <- cg_two: done" in done.stderr
    assert "condgen hook" not in done.stdout and "cg_two" in done.stdout
