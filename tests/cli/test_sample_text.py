"""``condgen sample --text`` and ``condgen eval``'s text_control on a tiny captioned run."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

TEXT_RECIPE = """\
name: tiny_text
seed: 0
data: {{name: captions, base: {{name: mnist, root: {root}, download: false}}, captions_per_request: 2, max_chars: 48}}
model:
  conditioner: {{name: text, encoder: {{name: gru, dim: 8, embedding: 8, hidden: 8}}}}
  encoder: {{name: mlp, hidden: [32], latent_dim: 2}}
  decoder: {{name: mlp, hidden: [32]}}
  prior: {{name: conditional, hidden: [16]}}
  heads: {{consistency: {{name: attribute_consistency, match: bin, warmup_steps: 2}}}}  # as the shipped text recipe
trainer: {{epochs: 1, batch_size: 50, update_order: [consistency, model]}}
output: {{dir: {out}}}
"""


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.fixture
def text_run(tmp_path: Path, tiny_mnist: Path, cli) -> Path:
    recipe = tmp_path / "tiny_text.yaml"
    recipe.write_text(TEXT_RECIPE.format(root=tiny_mnist, out=tmp_path / "runs"))
    code, _, err = cli("run", recipe)
    assert code == 0, err
    (path,) = (tmp_path / "runs").iterdir()
    return path


def test_each_prompt_is_a_row_of_n_images_and_one_prompt_a_square_grid(text_run, cli, tmp_path) -> None:
    rows = tmp_path / "rows.png"
    code, out, err = cli("sample", text_run, "--text", "a thick seven", "--text", "a thin upright 0", "-n", "5", "-o", rows)
    assert code == 0, err
    assert "Wrote 10 images" in out and "Note:" not in out and err == ""
    assert png_size(rows) == (5 * 30 + 2, 2 * 30 + 2)  # 5 columns, 2 rows of 28px images, 2px padding
    square = tmp_path / "square.png"
    code, out, err = cli("sample", text_run, "--text", "seven", "-n", "100", "-o", square)
    assert code == 0 and png_size(square) == (10 * 30 + 2, 10 * 30 + 2)


def test_unseen_words_and_a_cut_prompt_are_notes_not_errors(text_run, cli, tmp_path) -> None:
    target = tmp_path / "warned.png"
    code, out, err = cli("sample", text_run, "--text", "a purple ünïcode 7 " + "x" * 10_000, "-n", "2", "-o", target)
    assert code == 0, err
    assert "never seen in training: purple, ünïcode" in out
    assert "10,019 characters; the model reads the first 48" in out
    assert target.is_file()


def test_an_empty_prompt_exits_2(text_run, cli) -> None:
    code, _, err = cli("sample", text_run, "--text", "  ")
    assert code == 2 and "Prompt 1 is empty" in err


def test_text_on_a_label_run_exits_2_naming_what_it_conditions_on(tiny_recipe, cli) -> None:
    code, _, err = cli("run", tiny_recipe, "trainer.epochs=1")
    assert code == 0, err
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    code, _, err = cli("sample", run, "--text", "a seven")
    assert code == 2
    assert "not text-conditioned" in err and "10 class labels (use --label)" in err


@pytest.mark.slow
def test_eval_adds_text_control_for_both_phrasings_with_chance_levels(text_run, cli) -> None:
    code, _, err = cli("eval", text_run, "--per-class", "10", "--k", "2")
    assert code == 0, err
    result = json.loads((text_run / "eval.json").read_text())
    control = result["text_control"]
    assert set(control) == {"train", "heldout"}
    assert set(result["text_bins"]) == {"thickness", "slant", "size", "size_measure"}
    for phrasing in ("train", "heldout"):
        figures = control[phrasing]
        assert figures["digit_chance"] == 0.1 and figures["bin_chance"] == 1 / 3
        assert 0 <= figures["digit_accuracy"] <= 1 and figures["digit_prompts"] == 100
        assert 0 <= figures["unmeasured"] <= 100
        for name in ("thickness", "slant", "size"):
            assert 0 < figures[f"{name}_prompts"] < 100
            assert 0 <= figures[f"{name}_accuracy"] <= 1
    assert control["train"]["example_prompts"] != control["heldout"]["example_prompts"]


def test_a_tokenizer_too_small_for_any_word_is_refused_at_validation_with_its_line(tmp_path, tiny_mnist, cli) -> None:
    recipe = tmp_path / "small_vocab.yaml"
    text = TEXT_RECIPE.format(root=tiny_mnist, out=tmp_path / "runs")
    recipe.write_text(text.replace("hidden: 8}", "hidden: 8, vocab_size: 20}"))
    code, _, err = cli("validate", recipe)
    assert code == 2
    assert "small_vocab.yaml:5" in err and "vocab_size" in err
