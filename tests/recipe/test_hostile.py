"""Hostile recipes: whatever YAML or ``key=value`` text comes in, ``condgen validate``
answers with exit code 0 or 2 and one message, never a traceback, never runs code
and never imports a module the recipe's ``plugins:`` list does not name."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

VALID = {
    "name": "tiny",
    "seed": 0,
    "data": {"name": "mnist", "root": "data", "download": False},
    "model": {
        "conditioner": {"name": "concat"},
        "encoder": {"name": "mlp", "hidden": [32], "latent_dim": 2},
        "decoder": {"name": "mlp", "hidden": [32]},
        "prior": {"name": "standard_normal"},
    },
    "trainer": {"epochs": 2, "batch_size": 20, "optimizer": {"name": "adam", "lr": 1e-3}},
    "output": {"dir": "runs"},
}


def key_paths(node: dict, prefix: tuple = ()) -> list[tuple]:
    paths = []
    for key, value in node.items():
        paths.append(prefix + (key,))
        if isinstance(value, dict):
            paths += key_paths(value, prefix + (key,))
    return paths


PATHS = key_paths(VALID) + [("plugins",), ("trainer", "checkpoint_every_steps"), ("model", "encoder", "activation")]
KEYS = sorted({part for path in PATHS for part in path})

# YAML that has broken parsers and loaders before: tags that build Python
# objects, anchors, merge keys, self-reference, deep nesting, odd scalars.
FRAGMENTS = [
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object/new:subprocess.Popen [['true']]",
    "!custom {a: 1}",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!!timestamp 2001-12-14",
    "!!timestamp not-a-date",
    "!!timestamp 2001-13-45",
    "!!int abc",
    "!!float x",
    "!!bool maybe",
    "1" * 5000,
    "&a [*a]",
    "&b {k: *b}",
    "{<<: {name: mlp}, hidden: [8]}",
    "{<<: [{name: mlp}, {latent_dim: 3}]}",
    "{<<: 5}",
    "*undefined",
    "[" * 300 + "]" * 300,
    "{a: " * 200 + "1" + "}" * 200,
    ".nan",
    "-.inf",
    "0x1F",
    "0o17",
    "1_000",
    "2001-01-01",
    "~",
    "''",
    "'\\x00'",
    "\"\\ud800\"",
    "|\n  block\n",
    "? [1, 2]\n: 3",
    "[1, 2",
    "{a: 1, a: 2}",
    "@reserved",
    "`backtick",
    "%YAML 1.1",
    "---\n---",
]

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | text, children, max_size=4),
    max_leaves=10,
)


def set_path(data: dict, path: tuple, value) -> None:
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def delete_path(data: dict, path: tuple) -> None:
    node = data
    for key in path[:-1]:
        node = node.get(key)
        if not isinstance(node, dict):
            return
    node.pop(path[-1], None)


@st.composite
def mutated_recipes(draw) -> str:
    """The valid recipe with a few keys set to anything, removed, or replaced by a nasty fragment."""
    data = yaml.safe_load(yaml.safe_dump(VALID))
    raw_lines = []
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS) | st.lists(st.sampled_from(KEYS) | text, min_size=1, max_size=3).map(tuple))
        action = draw(st.sampled_from(["set", "delete", "fragment"]))
        if action == "set":
            set_path(data, path, draw(values))
        elif action == "delete":
            delete_path(data, path)
        elif len(path) == 1 and path[0] in data:
            del data[path[0]]
            raw_lines.append(f"{path[0]}: {draw(st.sampled_from(FRAGMENTS))}")
    document = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return document + "".join(line + "\n" for line in raw_lines)


documents = st.one_of(
    mutated_recipes(),
    text,
    st.lists(st.sampled_from(FRAGMENTS) | text, min_size=1, max_size=4).map("\n".join),
    st.lists(st.tuples(st.sampled_from(KEYS) | text, st.sampled_from(FRAGMENTS) | text), max_size=4).map(
        lambda pairs: "".join(f"{k}: {v}\n" for k, v in pairs)
    ),
)

override_keys = st.sampled_from([".".join(p) for p in PATHS]) | st.lists(
    st.sampled_from(KEYS) | text, min_size=1, max_size=3
).map(".".join)
override_values = st.sampled_from(FRAGMENTS) | text | values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip())
overrides = st.lists(st.builds("{}={}".format, override_keys, override_values) | text, max_size=3)


def assert_clean_outcome(code: int, out: str, err: str) -> None:
    assert code in (0, 2), (code, out, err)
    assert "Traceback" not in out + err
    if code == 0:
        assert "is valid" in out or out.startswith("Usage:")  # an override that happens to be -h
    else:
        starts = [line for line in err.splitlines() if line.startswith("Error:")]
        assert len(starts) == 1, err  # one message, not a cascade


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.slow
@given(document=documents, extra=overrides)
@example(document=yaml.safe_dump(VALID), extra=[])
@example(document=yaml.safe_dump(VALID), extra=["trainer.epochs=&a [*a]", "model.encoder.hidden=[[[]]]"])
@example(document="name: &a [*a]\n", extra=[])
@example(document="!!timestamp 2001-12-14\n!!python/object/apply:os.system ['echo pwned']", extra=[])
@example(document="seed: !!int abc\n", extra=["seed=!!bool maybe", "trainer.epochs=" + "9" * 5000])
@example(document='plugins: ["\\0.py", ".rel", "a..b", "' + "x" * 5000 + '.py"]\n', extra=[])
def test_no_yaml_document_or_override_produces_a_traceback(tmp_path_factory, cli, document, extra):
    recipe = tmp_path_factory.getbasetemp() / "hostile.yaml"
    recipe.write_text(document, encoding="utf-8")
    code, out, err = cli("validate", recipe, *extra)
    assert_clean_outcome(code, out, err)


def test_the_unmutated_recipe_is_valid(tmp_path, cli):
    """Guards the property test: its starting point must pass, or every example is an error."""
    recipe = tmp_path / "valid.yaml"
    recipe.write_text(yaml.safe_dump(VALID))
    assert cli("validate", recipe)[0] == 0


def billion_laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "document",
    [
        billion_laughs(),
        billion_laughs(8) + "name: *a7\n",  # inside a typed field, whose error quotes the value
        "name: &a [*a]\n",
        "data: &d {name: mnist, root: *d}\n",
        "model: &m {encoder: *m}\n",
        "trainer: {epochs: " + "[" * 2000 + "]" * 2000 + "}\n",
    ],
    ids=["billion-laughs", "billion-laughs-in-a-field", "self-list", "self-map", "self-section", "deep-nesting"],
)
@pytest.mark.slow
def test_alias_bombs_and_self_reference_are_answered_quickly(tmp_path, cli, document):
    recipe = tmp_path / "bomb.yaml"
    recipe.write_text(document)
    started = time.monotonic()
    code, out, err = cli("validate", recipe)
    assert time.monotonic() - started < 5
    assert code == 2
    assert_clean_outcome(code, out, err)


def valid_text() -> str:
    return yaml.safe_dump(VALID, sort_keys=False)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/apply:subprocess.check_call [['touch', '{marker}']]",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/module:os",
    ],
)
def test_python_tags_are_refused_not_executed(tmp_path, cli, tag):
    marker = tmp_path / "pwned"
    tagged = tag.format(marker=marker)
    recipe = tmp_path / "tagged.yaml"
    recipe.write_text(valid_text().replace("name: tiny", f"name: {tagged}"))

    code, _, err = cli("validate", recipe)
    assert code == 2 and "invalid YAML" in err and "python/" in err
    assert not marker.exists()

    plain = tmp_path / "plain.yaml"
    plain.write_text(valid_text())
    code, _, err = cli("validate", plain, f"name={tagged}")
    assert code == 2 and "not valid YAML" in err
    assert not marker.exists()


def test_a_tag_that_would_execute_really_would(tmp_path):
    """The payloads above are live: an unsafe loader runs them."""
    marker = tmp_path / "pwned"
    yaml.unsafe_load(f"!!python/object/apply:os.system ['touch {marker}']")
    assert marker.exists()


def test_anchors_and_merge_keys_work_through_the_safe_loader(tmp_path, cli):
    recipe = tmp_path / "merge.yaml"
    recipe.write_text(
        textwrap.dedent(
            """\
            name: merged
            data: {name: mnist, root: data, download: false}
            model:
              conditioner: {name: concat}
              encoder: &net {name: mlp, hidden: [64, 32], activation: tanh}
              decoder:
                <<: *net
                likelihood: continuous_bernoulli
            trainer: {epochs: &n 3, batch_size: *n}
            """
        )
    )
    code, out, err = cli("validate", recipe, "--show")
    assert code == 0, err
    shown = yaml.safe_load(out.split("\n", 1)[1])
    assert shown["model"]["decoder"]["hidden"] == [64, 32]
    assert shown["model"]["decoder"]["activation"] == "tanh"
    assert shown["model"]["decoder"]["likelihood"] == "continuous_bernoulli"
    assert shown["trainer"]["batch_size"] == 3


MARKER_MODULE = """
from pathlib import Path
Path({marker!r}).write_text("imported")
"""


@pytest.fixture
def marker_module(tmp_path, monkeypatch):
    """An importable module that leaves a file behind when imported."""
    site = tmp_path / "site"
    site.mkdir()
    marker = tmp_path / "imported"
    (site / "condgen_marker_mod.py").write_text(MARKER_MODULE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(site))
    yield marker
    sys.modules.pop("condgen_marker_mod", None)


@pytest.mark.parametrize(
    "place",
    [
        "name: condgen_marker_mod",
        "data: {name: condgen_marker_mod}",
        "data: {name: mnist, root: condgen_marker_mod}",
        "model: {conditioner: {name: condgen_marker_mod.Concat}, encoder: {name: mlp}, decoder: {name: mlp}}",
        "model: {conditioner: !!python/name:condgen_marker_mod.x '', encoder: {name: mlp}, decoder: {name: mlp}}",
        "trainer: {optimizer: {name: condgen_marker_mod}}",
        "output: {dir: !!python/module:condgen_marker_mod ''}",
    ],
)
def test_a_recipe_imports_nothing_outside_its_plugins_key(tmp_path, cli, marker_module, place):
    section = place.split(":", 1)[0]
    data = {k: v for k, v in VALID.items() if k != section}
    recipe = tmp_path / "sneaky.yaml"
    recipe.write_text(yaml.safe_dump(data) + place + "\n")

    code, _, err = cli("validate", recipe)
    assert code in (0, 2) and "Traceback" not in err
    assert not marker_module.exists()
    assert "condgen_marker_mod" not in sys.modules


def test_the_plugins_key_is_the_one_documented_way_in(tmp_path, cli, marker_module):
    recipe = tmp_path / "honest.yaml"
    recipe.write_text(yaml.safe_dump({**VALID, "plugins": ["condgen_marker_mod"]}))
    code, _, err = cli("validate", recipe)
    assert code == 0, err
    assert marker_module.exists()


def test_a_recipe_plugin_module_that_raises_on_import_is_a_recipe_problem(tmp_path, cli, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "condgen_raises_on_import.py").write_text("raise RuntimeError('no GPU driver found')\n")
    monkeypatch.syspath_prepend(str(site))
    recipe = tmp_path / "plugins.yaml"
    recipe.write_text(yaml.safe_dump({**VALID, "plugins": ["condgen_raises_on_import"]}))

    code, out, err = cli("validate", recipe)

    assert_clean_outcome(code, out, err)
    assert code == 2
    assert "'condgen_raises_on_import'" in err and "RuntimeError: no GPU driver found" in err
    sys.modules.pop("condgen_raises_on_import", None)


@pytest.mark.parametrize(
    "spec, expected",
    [
        (".relative", "neither a module name"),
        ("a..b", "neither a module name"),
        ("os.system('x')", "neither a module name"),
        ("nul\0byte.py", "does not exist"),
        ("x" * 5000 + ".py", "cannot be used"),
        ("missing_file.py", "does not exist"),
        ("condgen_no_such_module", "cannot be imported"),
    ],
)
def test_bad_plugin_entries_are_recipe_problems(tmp_path, cli, spec, expected):
    recipe = tmp_path / "plugins.yaml"
    recipe.write_text(yaml.safe_dump({**VALID, "plugins": [spec]}))
    code, _, err = cli("validate", recipe)
    assert code == 2 and expected in err
    assert_clean_outcome(code, "", err)
