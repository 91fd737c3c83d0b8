"""``condgen plugins``: every component with its plugin module, distribution and version."""

from __future__ import annotations

import re

import pytest

from condgen.plugins import ALLOW_LIST_ENV, DISABLE_AUTOLOAD_ENV

from helpers import prior_plugin


@pytest.fixture(autouse=True)
def wide_table(monkeypatch) -> None:
    """Room for one row per line, whatever terminal the tests run in (rich reads $COLUMNS)."""
    monkeypatch.setenv("COLUMNS", "200")


EXTRA = prior_plugin("flat")


def row(out: str, *cells: str) -> str:
    """The table line holding all these cells, in order."""
    pattern = r"\W+".join(re.escape(cell) for cell in cells)
    found = [line for line in out.splitlines() if re.search(pattern, line)]
    assert found, f"no row with {cells} in:\n{out}"
    return found[0]


def test_builtins_are_listed_with_the_condgen_distribution(cli) -> None:
    code, out, err = cli("plugins")
    assert code == 0, err
    row(out, "dataset", "mnist", "condgen_mnist", "condgen", "0.1.0")
    row(out, "conditioner", "concat", "condgen_concat", "condgen", "0.1.0")
    row(out, "encoder", "mlp", "condgen_mlp", "condgen", "0.1.0")
    row(out, "decoder", "mlp", "condgen_mlp", "condgen", "0.1.0")
    row(out, "prior", "standard_normal", "condgen_priors", "condgen", "0.1.0")
    assert "broken plugin" not in out


def test_third_party_plugin_is_listed_with_distribution_and_version(make_distribution, cli) -> None:
    make_distribution("cg-flat", "cg_flat", EXTRA, version="3.2.1")
    code, out, err = cli("plugins")
    assert code == 0, err
    row(out, "prior", "flat", "cg_flat", "cg-flat", "3.2.1")
    row(out, "dataset", "mnist", "condgen_mnist")


def test_disabled_autoload_hides_third_party_and_says_so(make_distribution, cli, monkeypatch) -> None:
    make_distribution("cg-flat", "cg_flat", EXTRA, version="3.2.1")
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    code, out, err = cli("plugins")
    assert code == 0, err
    assert "cg_flat" not in out and "cg-flat" not in out
    row(out, "dataset", "mnist", "condgen_mnist", "condgen")
    assert "autoloading is disabled" in out


def test_an_allow_list_hides_the_plugins_it_does_not_name_and_says_so(make_distribution, cli, monkeypatch) -> None:
    make_distribution("cg-flat", "cg_flat", EXTRA, version="3.2.1")
    monkeypatch.setenv(ALLOW_LIST_ENV, "cg-other")
    code, out, err = cli("plugins")
    assert code == 0, err
    assert "cg_flat" not in out
    row(out, "dataset", "mnist", "condgen_mnist", "condgen")
    assert f"Only the third-party plugins {ALLOW_LIST_ENV} names load: cg-other." in out


def test_name_clash_is_marked(make_distribution, cli) -> None:
    make_distribution("cg-a", "cg_a", EXTRA)
    make_distribution("cg-b", "cg_b", EXTRA)
    code, out, err = cli("plugins")
    assert code == 0, err
    assert row(out, "prior", "flat", "(name clash)", "cg_a", "cg-a")
    assert row(out, "prior", "flat", "(name clash)", "cg_b", "cg-b")
