"""The ``captions`` dataset: measured, binned digits whose conditions are captions, and typed prompts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from condgen_text.codes import decode_texts
from condgen_text.dataset import Captions, CaptionsConfig
from helpers import installed_context

import condgen
from condgen import ConditionRequest, TextDataset, conditions_for

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def captions(root: Path, **options) -> Captions:
    config = CaptionsConfig.model_validate({"base": {"name": "mnist", "root": str(root), "download": False}, **options})
    return Captions(config, installed_context())


def test_is_a_text_dataset_whose_corpus_needs_no_data(tmp_path: Path) -> None:
    dataset = captions(tmp_path / "nowhere", captions_per_request=2)
    assert isinstance(dataset, TextDataset)
    assert dataset.condition_shape == (96,) and dataset.x_shape == (1, 28, 28)
    corpus = dataset.text_corpus()
    assert len(corpus) == 2 * (11 * 64 - 1) and all(corpus)


def test_training_captions_name_the_images_own_digit_and_bins(tiny_mnist: Path) -> None:
    dataset = captions(tiny_mnist, captions_per_request=4)
    train = dataset.load("train")
    torch.manual_seed(0)
    index = torch.arange(len(train))
    _, condition = train.batch(index)
    texts = decode_texts(condition)
    named = 0
    for text, label in zip(texts, train.labels[index].tolist()):
        mentioned = [d for d in range(10) if f" {d}" in f" {text} " or DIGIT_NAMES[d] in text.split()]
        assert mentioned in ([], [label]), (text, label)
        named += bool(mentioned)
    assert 0.8 < named / len(texts) <= 1.0  # p_digit 0.9 (and always when nothing else is named)


def test_bins_are_training_tertiles(tiny_mnist: Path) -> None:
    dataset = captions(tiny_mnist)
    train = dataset.load("train")
    for name in ("thickness", "slant", "size"):
        counts = np.bincount(train.bins[name][train.bins[name] >= 0].numpy(), minlength=3)
        assert counts.min() > 0.25 * counts.sum(), (name, counts)


@pytest.mark.slow
def test_training_draws_follow_the_global_seed_and_test_captions_are_fixed(tiny_mnist: Path) -> None:
    dataset = captions(tiny_mnist)
    train, test = dataset.load("train"), dataset.load("test")
    index = torch.arange(20)
    torch.manual_seed(1)
    first = train.batch(index)[1]
    torch.manual_seed(1)
    assert torch.equal(train.batch(index)[1], first)
    assert not torch.equal(train.batch(index)[1], first)  # a fresh caption each time an image is drawn
    assert torch.equal(test.batch(index)[1], test.batch(index)[1])


def test_an_empty_prompt_is_refused(tmp_path: Path) -> None:
    dataset = captions(tmp_path)
    with pytest.raises(condgen.UserError, match="Prompt 2 is empty"):
        dataset.conditions_for_text(["a seven", "   "])


def test_a_long_prompt_is_cut_to_the_models_length_with_a_note(tmp_path: Path) -> None:
    dataset = captions(tmp_path)
    batch = conditions_for(dataset, ConditionRequest(text=("seven " * 1666 + "abcd",), copies=2))
    assert batch.conditions.shape == (2, 96) and decode_texts(batch.conditions)[0] == ("seven " * 16)
    assert any("10,000 characters; the model reads the first 96" in note for note in batch.notes)


def test_words_never_trained_on_are_noted_and_non_ascii_is_kept(tmp_path: Path) -> None:
    dataset = captions(tmp_path)
    batch = conditions_for(dataset, ConditionRequest(text=("a purple ünïcode seven",)))
    assert decode_texts(batch.conditions) == ["a purple ünïcode seven"]
    assert batch.notes == ("prompt 1 has words never seen in training: purple, ünïcode; the model reads them as "
                           "sub-words it may not understand",)
    plain = conditions_for(dataset, ConditionRequest(text=("a thick seven leaning right", "a thin upright 0"), copies=3))
    assert plain.notes == () and plain.rows == ("a thick seven leaning right", "a thin upright 0")
    assert decode_texts(plain.conditions)[2:4] == ["a thick seven leaning right", "a thin upright 0"]


def test_labels_become_digit_prompts_and_attributes_are_refused(tmp_path: Path) -> None:
    dataset = captions(tmp_path)
    batch = conditions_for(dataset, ConditionRequest(labels=(7,), copies=2))
    assert decode_texts(batch.conditions) == ["seven", "seven"]
    with pytest.raises(condgen.UserError, match="takes no --attr"):
        conditions_for(dataset, ConditionRequest(attributes={"thickness": 3.0}))


def test_a_base_that_is_not_ten_classes_of_grayscale_digits_is_refused(tiny_mnist: Path) -> None:
    config = CaptionsConfig.model_validate(
        {"base": {"name": "inpainting", "base": {"name": "mnist", "root": str(tiny_mnist), "download": False}}}
    )
    with pytest.raises(condgen.PluginError, match="ten classes of grayscale digit images"):
        Captions(config, installed_context())
