"""Recipe inheritance: ``extends: other.yaml`` plus the keys that differ."""

from __future__ import annotations

from pathlib import Path

import pytest

from condgen.errors import RecipeError
from condgen.recipe import load_recipe
from condgen.recipe.extends import read_recipe_file

REPO = Path(__file__).resolve().parents[2]

# Block style, so every key has its own line (line numbers are asserted below).
BASE = """\
name: base
data:
  name: mnist
  root: {root}
  download: false
model:
  conditioner:
    name: concat
  encoder:
    name: mlp
    hidden: [16]
    latent_dim: 3
  decoder:
    name: mlp
    hidden: [16]
trainer:
  epochs: 1
  optimizer:
    name: adam
    lr: 0.01
output:
  dir: {out}
"""


@pytest.fixture
def base(tmp_path, tiny_mnist) -> Path:
    path = tmp_path / "base.yaml"
    path.write_text(BASE.format(root=tiny_mnist, out=tmp_path / "runs"))
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems(path: Path, *overrides: str) -> str:
    with pytest.raises(RecipeError) as caught:
        load_recipe(path, list(overrides))
    return caught.value.message


def test_a_child_changes_only_the_keys_it_names_and_keeps_the_rest(base, tmp_path) -> None:
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nname: child\nmodel:\n  encoder:\n    latent_dim: 8\n")
    data = load_recipe(child).to_dict()
    assert data["name"] == "child"
    assert data["model"]["encoder"]["latent_dim"] == 8
    assert data["model"]["encoder"]["hidden"] == [16]  # merged, not replaced
    assert data["trainer"]["optimizer"] == load_recipe(base).to_dict()["trainer"]["optimizer"]


def test_lists_replace_the_parents_list_instead_of_appending(base, tmp_path) -> None:
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel:\n  decoder: {hidden: [8, 8]}\n")
    assert load_recipe(child).recipe.model.decoder.model_extra["hidden"] == [8, 8]


def test_a_block_that_names_another_plugin_replaces_the_parents_options(base, tmp_path) -> None:
    # The mlp's hidden and latent_dim belong to mlp: merged into the deterministic encoder they would be
    # unknown keys. The child's block stands alone instead.
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel:\n  encoder: {name: deterministic}\n")
    assert load_recipe(child).to_dict()["model"]["encoder"] == {"name": "deterministic"}


def test_the_parent_path_is_relative_to_the_recipe_that_names_it(base, tmp_path) -> None:
    child = write(tmp_path / "deeper" / "child.yaml", "extends: ../base.yaml\nname: deeper\n")
    assert load_recipe(child).recipe.name == "deeper"


def test_a_chain_of_three_merges_in_order(base, tmp_path) -> None:
    write(tmp_path / "middle.yaml", "extends: base.yaml\nname: middle\ntrainer: {epochs: 2, batch_size: 7}\n")
    last = write(tmp_path / "last.yaml", "extends: middle.yaml\nname: last\ntrainer: {epochs: 3}\n")
    trainer = load_recipe(last).recipe.trainer
    assert (trainer.epochs, trainer.batch_size, trainer.optimizer.lr) == (3, 7, 0.01)


def test_an_error_in_an_inherited_key_points_at_the_parents_file_and_line(base, tmp_path) -> None:
    write(tmp_path / "bad_base.yaml", base.read_text().replace("latent_dim: 3", "latent_dim: -3"))
    child = write(tmp_path / "child.yaml", "extends: bad_base.yaml\nname: child\n")
    message = problems(child)
    assert f"{tmp_path / 'bad_base.yaml'}:12: model.encoder.latent_dim" in message  # line 12 of BASE
    assert message.startswith(f"Recipe {child} has 1 problem")


def test_an_error_in_the_childs_own_key_points_at_the_childs_line(base, tmp_path) -> None:
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nname: child\ntrainer:\n  epochs: 0\n")
    assert f"{child}:4: trainer.epochs" in problems(child)


def test_a_key_the_child_overrides_no_longer_points_into_the_parent(base, tmp_path) -> None:
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nmodel:\n  encoder: {name: mlp, hiden: [4]}\n")
    message = problems(child)
    assert f"{child}:3: model.encoder.hiden: unknown key (did you mean 'hidden'?)" in message


def test_a_cycle_is_refused_with_the_chain(tmp_path) -> None:
    a = write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    message = problems(a)
    assert "makes a cycle" in message and "b.yaml:1: extends" in message


def test_a_recipe_extending_itself_is_a_cycle(tmp_path) -> None:
    a = write(tmp_path / "a.yaml", "extends: ./a.yaml\nname: a\n")
    assert f"{a}:1: extends: './a.yaml' makes a cycle" in problems(a)


def test_a_missing_parent_names_the_line_and_where_it_was_looked_for(tmp_path) -> None:
    child = write(tmp_path / "child.yaml", "name: child\nextends: nowhere.yaml\n")
    message = problems(child)
    assert f"{child}:2: extends: 'nowhere.yaml' does not exist" in message
    assert str(tmp_path / "nowhere.yaml") in message


def test_extends_must_be_a_path(tmp_path) -> None:
    child = write(tmp_path / "child.yaml", "extends: [a.yaml, b.yaml]\n")
    assert f"{child}:1: extends: must be the path of another recipe file" in problems(child)


def test_overrides_apply_after_the_merge(base, tmp_path) -> None:
    child = write(tmp_path / "child.yaml", "extends: base.yaml\ntrainer: {epochs: 4}\n")
    assert load_recipe(child, ["trainer.epochs=5"]).recipe.trainer.epochs == 5


def test_a_plugin_file_named_by_the_parent_is_found_beside_the_parent(tmp_path) -> None:
    write(tmp_path / "lib" / "local_plugin.py", "")
    write(tmp_path / "lib" / "base.yaml", "plugins: [local_plugin.py]\nname: b\n")
    write(tmp_path / "child.yaml", "extends: lib/base.yaml\n")
    data, _ = read_recipe_file(tmp_path / "child.yaml")
    assert data["plugins"] == [str((tmp_path / "lib" / "local_plugin.py").resolve())]


@pytest.mark.parametrize(
    ("child", "parent", "overrides"),
    [
        ("mnist_inpaint_q2.yaml", "mnist_inpaint_q1.yaml", ["name=mnist_inpaint_q2", "data.mask.observed=2"]),
        ("mnist_inpaint_q3.yaml", "mnist_inpaint_q1.yaml", ["name=mnist_inpaint_q3", "data.mask.observed=3"]),
        (
            "mnist_cvae_gan.yaml",
            "mnist_cvae_conv.yaml",
            [
                "name=mnist_cvae_gan",
                "model.heads={classifier: {name: classifier, channels: [16, 32], features: 128, "
                "lambda_pairwise: 1.0, lambda_mean: 1.0}, discriminator: {name: discriminator, channels: [16, 32], "
                "features: 128, lambda_pairwise: 1.0, lambda_mean: 1.0e-3}}",
                "trainer.kl_weight=3.0",
                "trainer.update_order=[classifier, discriminator, encoder, decoder]",
            ],
        ),
    ],
)
def test_the_shipped_recipes_that_extend_resolve_to_what_they_were_written_out_in_full(
    child: str, parent: str, overrides: list[str]
) -> None:
    # Before inheritance each child was a full copy of its parent with exactly these keys changed.
    expected = load_recipe(REPO / "recipes" / parent, overrides)
    resolved = load_recipe(REPO / "recipes" / child)
    assert resolved.to_dict() == expected.to_dict()
    assert resolved.digest() == expected.digest()
