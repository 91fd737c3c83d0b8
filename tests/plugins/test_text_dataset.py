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


def morpho_block(root: Path, **options) -> dict:
    return {"name": "morpho", "base": {"name": "mnist", "root": str(root), "download": False}, **options}


def test_a_morpho_base_lends_its_measurements_and_the_old_form_measures_the_same(tiny_mnist: Path) -> None:
    wrapped = captions(tiny_mnist)  # base: {name: mnist}: wrapped in morpho inside
    config = CaptionsConfig.model_validate({"base": morpho_block(tiny_mnist, attributes=["slant", "area", "thickness"])})
    on_morpho = Captions(config, installed_context())
    train = on_morpho.load("train")
    # the morpho split itself, its measured columns picked by name (slant, area, thickness -> thickness, slant, size)
    assert train.base is on_morpho.morpho.load("train")
    assert np.array_equal(train.measured["thickness"], train.base.measured[:, 2], equal_nan=True)
    assert np.array_equal(train.measured["size"], train.base.measured[:, 1], equal_nan=True)
    for name in ("thickness", "slant", "size"):
        assert np.array_equal(train.measured[name], wrapped.load("train").measured[name], equal_nan=True)
    assert on_morpho.bins == wrapped.bins
    x, condition = train.batch(torch.arange(4))
    assert x.shape == (4, 1, 28, 28) and condition.shape == (4, 96)


def test_a_morpho_base_without_the_size_measurement_or_the_label_is_refused_naming_the_fix(tiny_mnist: Path) -> None:
    for options, said in (({"attributes": ["thickness", "slant"]}, "attributes thickness, slant"),
                          ({"attributes": ["thickness", "slant", "area"], "label": False}, "label: False")):
        config = CaptionsConfig.model_validate({"base": morpho_block(tiny_mnist, **options)})
        with pytest.raises(condgen.PluginError, match=said) as raised:
            Captions(config, installed_context())
        assert "thickness, slant, area" in raised.value.hint


def test_the_cache_option_with_a_morpho_base_is_refused_pointing_at_the_morpho_block(tiny_mnist: Path) -> None:
    config = CaptionsConfig.model_validate(
        {"base": morpho_block(tiny_mnist, attributes=["thickness", "slant", "area"]), "cache": str(tiny_mnist)}
    )
    with pytest.raises(condgen.RecipeError, match="has its own") as raised:
        Captions(config, installed_context())
    assert "data.base.cache" in raised.value.hint


def test_bins_and_morpho_statistics_come_back_from_the_state_without_the_data(tiny_mnist: Path, tmp_path: Path) -> None:
    trained = captions(tiny_mnist)
    state = trained.state_dict()
    assert set(state) == {"bins", "morpho"}
    fresh = captions(tmp_path / "no-data-here")
    fresh.load_state_dict(state)
    assert fresh.bins == trained.bins  # nothing loaded or measured: the folder has no MNIST
    assert torch.equal(fresh.morpho.statistics["median"], trained.morpho.statistics["median"])
    with pytest.raises(condgen.CheckpointError, match="no bin edges"):
        fresh.load_state_dict({"morpho": state["morpho"]})
