"""The caption grammar of ``condgen_text``: reproducible, varied, with a held-out part of known words."""

from __future__ import annotations

import random

import pytest

from condgen_text.captions import (
    ATTRIBUTES,
    BEFORE,
    AFTER,
    DIGIT_WORDS,
    Grammar,
    Request,
    random_request,
    words,
)


def all_requests():
    rng = random.Random(5)
    for i in range(400):
        yield random_request(rng, digit=i % 10, bins={a: rng.randrange(3) for a in ATTRIBUTES})


def test_every_caption_is_a_pure_function_of_the_seeds() -> None:
    first, again = Grammar(3), Grammar(3)
    for i, request in enumerate(all_requests()):
        for phrasing in ("train", "heldout"):
            assert first.caption(request, i, phrasing) == again.caption(request, i, phrasing)


def test_the_grammar_seed_changes_what_is_held_out() -> None:
    assert Grammar(0).parts["heldout"] != Grammar(1).parts["heldout"]


def test_held_out_items_never_appear_in_training_and_use_only_known_words() -> None:
    grammar = Grammar(0)
    train, held = grammar.parts["train"], grammar.parts["heldout"]
    assert set(held.frames).isdisjoint(train.frames) and set(held.nouns).isdisjoint(train.nouns)
    new_phrases = 0
    for table in ("before", "after"):
        for name in ATTRIBUTES:
            for train_bin, held_bin in zip(getattr(train, table)[name], getattr(held, table)[name]):
                if set(held_bin) != set(train_bin):  # a bin with nothing to hold out falls back to training
                    assert set(held_bin).isdisjoint(train_bin)
                    new_phrases += 1
                for phrase in held_bin:
                    assert words(phrase) <= grammar.vocabulary, phrase
    assert new_phrases >= 12  # most of the 18 attribute lists lend a phrase to the held-out part


def test_captions_are_made_only_of_their_own_phrasings_items() -> None:
    grammar = Grammar(0)
    for phrasing in ("train", "heldout"):
        part = grammar.parts[phrasing]
        adjectives = {p for bins in part.before.values() for b in bins for p in b}
        phrases = {p for bins in part.after.values() for b in bins for p in b}
        for i, request in enumerate(all_requests()):
            choice = grammar.choose(request, i, phrasing)
            assert choice.frame in part.frames
            assert request.digit is None or choice.noun in part.nouns
            assert set(choice.adjectives) <= adjectives and set(choice.phrases) <= phrases
            assert choice.text == grammar.caption(request, i, phrasing)


def test_the_plain_forms_a_user_types_first_are_always_training_phrasing() -> None:
    for seed in range(20):
        train = Grammar(seed).parts["train"]
        assert "{np}{post}" in train.frames and "{d}" in train.nouns
        for name in ATTRIBUTES:
            for bin_ in range(3):
                assert BEFORE[name][bin_][0] in train.before[name][bin_]
                assert AFTER[name][bin_][0] in train.after[name][bin_]


def test_the_vocabulary_covers_digits_as_numerals_and_words_and_the_attribute_words() -> None:
    vocabulary = Grammar(0).vocabulary
    required = {*DIGIT_WORDS, *map(str, range(10)), "thin", "thick", "bold", "upright", "leaning", "left", "right"}
    assert required | {"small", "large"} <= vocabulary


def test_captions_name_what_the_request_says_and_vary_their_word_order() -> None:
    grammar = Grammar(0)
    request = Request(7, {"thickness": 2, "slant": 0})
    captions = {grammar.caption(request, seed) for seed in range(300)}
    assert len(captions) > 150
    for caption in captions:
        assert "7" in caption or "seven" in caption
    assert any(c.index("seven" if "seven" in c else "7") < c.find("left") for c in captions if "left" in c)
    assert any(c.find("left") < c.index("seven" if "seven" in c else "7") for c in captions if "left" in c)
    assert any("7" in c for c in captions) and any("seven" in c for c in captions)


def test_an_eight_gets_an_an() -> None:
    grammar = Grammar(0)
    captions = [grammar.caption(Request(8), seed) for seed in range(200)]
    assert not any(" a 8" in f" {c}" or " a eight" in f" {c}" for c in captions)


def test_a_caption_may_name_only_the_digit_or_only_attributes() -> None:
    rng = random.Random(0)
    requests = [random_request(rng, digit=3, bins={"thickness": 0, "slant": 1, "size": 2}) for _ in range(500)]
    assert any(r.bins == {} for r in requests)
    assert any(r.digit is None for r in requests)
    assert all(r.digit is not None or r.bins for r in requests)


def test_unseen_words_are_listed_once_in_order_and_non_ascii_is_a_word() -> None:
    grammar = Grammar(0)
    assert grammar.unseen_words("A thick SEVEN leaning right") == []
    assert grammar.unseen_words("a purple ünïcode purple 7") == ["purple", "ünïcode"]


def test_a_request_outside_the_bins_is_refused() -> None:
    with pytest.raises(ValueError):
        Request(10)
    with pytest.raises(ValueError):
        Request(1, {"colour": 0})
    with pytest.raises(ValueError):
        Request(None, {})
