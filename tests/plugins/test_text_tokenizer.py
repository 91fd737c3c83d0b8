"""The WordPiece tokenizer of ``condgen_text``: deterministic, sub-word fallback, saved as data."""

from __future__ import annotations

import pytest

import condgen
from condgen_text.tokenizer import load_tokenizer, token_ids, train_tokenizer

CORPUS = [f"a {w} {d}" for w in ("thin", "thick", "bold", "upright") for d in ("seven", "7", "two", "2")] * 3


def test_training_twice_gives_the_same_tokenizer() -> None:
    assert train_tokenizer(CORPUS, 200).to_str() == train_tokenizer(list(reversed(CORPUS)), 200).to_str()


def test_known_words_are_single_tokens_and_unknown_words_fall_back_to_sub_words() -> None:
    tokenizer = train_tokenizer(CORPUS, 200)
    assert tokenizer.encode("A THICK seven", add_special_tokens=False).tokens == ["a", "thick", "seven"]
    assert tokenizer.encode("thicker", add_special_tokens=False).tokens == ["thick", "##e", "##r"]
    assert "[UNK]" not in tokenizer.encode("a quizzical zebra", add_special_tokens=False).tokens


def test_accents_are_stripped_and_other_scripts_become_unknown_tokens_not_errors() -> None:
    tokenizer = train_tokenizer(CORPUS, 200)
    assert tokenizer.encode("thîck", add_special_tokens=False).tokens == ["thick"]
    assert tokenizer.encode("数字", add_special_tokens=False).tokens == ["[UNK]", "[UNK]"]


def test_ids_are_padded_with_zero_truncated_and_an_empty_text_reads_as_unknown() -> None:
    tokenizer = train_tokenizer(CORPUS, 200)
    ids, mask = token_ids(tokenizer, ["a thick seven", "", "a " * 50], max_tokens=8)
    assert ids.shape == (3, 8)
    assert mask.sum(1).tolist() == [3, 1, 8]
    assert ids[1, 0] == tokenizer.token_to_id("[UNK]") and (ids[~mask] == 0).all()


def test_a_saved_tokenizer_loads_back_identical_and_garbage_is_a_checkpoint_error() -> None:
    tokenizer = train_tokenizer(CORPUS, 200)
    assert load_tokenizer(tokenizer.to_str()).to_str() == tokenizer.to_str()
    with pytest.raises(condgen.CheckpointError):
        load_tokenizer('{"not": "a tokenizer"}')


def test_a_vocabulary_too_small_for_any_word_is_a_recipe_error_naming_the_size_needed() -> None:
    with pytest.raises(condgen.RecipeError, match="vocabulary is empty.*Raise|vocab_size"):
        train_tokenizer(CORPUS, 20)
    with pytest.raises(condgen.RecipeError, match="empty"):
        train_tokenizer(CORPUS, 200, min_frequency=1000)
    with pytest.raises(condgen.RecipeError):
        train_tokenizer([], 200)
