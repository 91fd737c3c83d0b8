"""YAML reading that remembers the line of every key."""

from __future__ import annotations

import pytest

from condgen.errors import RecipeError
from condgen.recipe.yaml_lines import SourceMap, load_yaml, read_yaml_file

TEXT = """\
# a comment
name: demo
model:
  encoder:
    name: mlp
    hidden:
      - 64
      - 32
defaults: &base {lr: 0.1}
optimizer:
  <<: *base
  name: sgd
"""


def test_data_and_lines_of_nested_keys_and_list_items() -> None:
    data, source_map = load_yaml(TEXT, "r.yaml")
    assert data["model"]["encoder"] == {"name": "mlp", "hidden": [64, 32]}
    assert source_map.line(("name",)) == 2
    assert source_map.line(("model", "encoder")) == 4
    assert source_map.line(("model", "encoder", "hidden")) == 6
    assert source_map.line(("model", "encoder", "hidden", 1)) == 8
    assert source_map.where(("model", "encoder", "name")) == "r.yaml:5"


def test_unknown_paths_fall_back_to_the_nearest_written_parent() -> None:
    _, source_map = load_yaml(TEXT, "r.yaml")
    assert source_map.where(("model", "encoder", "latent_dim")) == "r.yaml:4"
    assert source_map.where(("trainer", "epochs")) == "r.yaml"  # nothing written at all


def test_anchors_and_merge_keys_work() -> None:
    data, source_map = load_yaml(TEXT, "r.yaml")
    assert data["optimizer"] == {"lr": 0.1, "name": "sgd"}
    assert source_map.line(("optimizer", "name")) == 12


def test_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(RecipeError) as caught:
        load_yaml("name: x\nmodel:\n  encoder: {name: mlp\n  decoder: 1\n", "broken.yaml")
    message = caught.value.message
    assert message.startswith("broken.yaml:4:")
    assert "invalid YAML" in message


def test_tab_indentation_error_points_at_its_line() -> None:
    with pytest.raises(RecipeError, match=r"^tabs.yaml:3:\d+: invalid YAML"):
        load_yaml("name: x\nmodel:\n\tencoder: 1\n", "tabs.yaml")


def test_python_object_tags_are_refused_not_executed() -> None:
    with pytest.raises(RecipeError, match="invalid YAML"):
        load_yaml("name: !!python/object/apply:os.system ['echo hi']\n", "evil.yaml")


def test_empty_document_is_none_with_an_empty_map() -> None:
    data, source_map = load_yaml("# nothing\n", "empty.yaml")
    assert data is None and source_map.where(("name",)) == "empty.yaml"


def test_missing_file_and_folder_are_recipe_errors(tmp_path) -> None:
    with pytest.raises(RecipeError, match="does not exist"):
        read_yaml_file(tmp_path / "nope.yaml")
    with pytest.raises(RecipeError, match="is a folder"):
        read_yaml_file(tmp_path)


def test_missing_file_suggests_the_yaml_file_beside_it(tmp_path) -> None:
    (tmp_path / "mnist_cvae.yaml").write_text("name: x\n")
    (tmp_path / "other.yaml").write_text("name: y\n")
    for typed in ("mnist_cvae.yml", "mnist_cvea.yaml"):
        with pytest.raises(RecipeError) as caught:
            read_yaml_file(tmp_path / typed)
        assert caught.value.hint == f"Did you mean {str(tmp_path / 'mnist_cvae.yaml')!r}?"
    with pytest.raises(RecipeError) as caught:
        read_yaml_file(tmp_path / "zzz.yaml")
    assert caught.value.hint is None  # nothing close: no guess


def test_non_utf8_file_is_a_recipe_error(tmp_path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(RecipeError, match="cannot be read"):
        read_yaml_file(path)


def test_source_map_where_without_lines() -> None:
    assert SourceMap("x.yaml").where(("a", "b")) == "x.yaml"
