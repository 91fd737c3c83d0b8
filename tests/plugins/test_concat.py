"""The built-in ``concat`` conditioner: [x, c] for the encoder, [z, c] for the decoder."""

from __future__ import annotations

import torch

from condgen import BuildContext, Conditioner
from condgen_concat import ConcatConfig
from condgen_concat.conditioners import Concat, build


def test_input_shapes_add_the_flattened_condition() -> None:
    concat = build(ConcatConfig(), BuildContext())
    assert isinstance(concat, Conditioner)
    assert concat.encoder_input_shape((1, 28, 28), (10,)) == (794,)
    assert concat.decoder_input_shape(2, (10,)) == (12,)
    assert concat.encoder_input_shape((3, 4), (2, 5)) == (22,)


def test_inputs_are_x_or_z_followed_by_the_condition() -> None:
    concat = Concat()
    x = torch.arange(2 * 1 * 2 * 2, dtype=torch.float32).view(2, 1, 2, 2)
    c = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    joined = concat.encoder_input(x, c)
    assert joined.shape == (2, 4 + 3)
    assert joined[0].tolist() == [0, 1, 2, 3, 1, 0, 0]
    assert joined[1].tolist() == [4, 5, 6, 7, 0, 0, 1]
    z = torch.tensor([[0.5, -0.5], [2.0, 3.0]])
    assert concat.decoder_input(z, c).tolist() == [[0.5, -0.5, 1, 0, 0], [2.0, 3.0, 0, 0, 1]]


def test_shapes_match_what_the_model_feeds_the_networks() -> None:
    concat = Concat()
    x, c, z = torch.rand(5, 1, 28, 28), torch.rand(5, 10), torch.rand(5, 2)
    assert concat.encoder_input(x, c).shape[1:] == concat.encoder_input_shape((1, 28, 28), (10,))
    assert concat.decoder_input(z, c).shape[1:] == concat.decoder_input_shape(2, (10,))


def test_concat_has_no_parameters_and_only_a_layout_option() -> None:
    assert list(Concat().parameters()) == []
    assert set(ConcatConfig.model_fields) == {"layout"}
    assert ConcatConfig().layout == "flat"  # the seed model's flat [x, c]


def test_channels_layout_tiles_a_vector_condition_and_stacks_an_image_condition() -> None:
    concat = Concat("channels")
    x, label = torch.rand(3, 1, 28, 28), torch.eye(10)[[2, 5, 7]]
    joined = concat.encoder_input(x, label)
    assert joined.shape[1:] == concat.encoder_input_shape((1, 28, 28), (10,)) == (11, 28, 28)
    assert torch.equal(joined[:, 0], x[:, 0])
    assert torch.equal(joined[:, 1:, 13, 4], label)  # every pixel carries the label
    image = torch.rand(3, 2, 28, 28)
    assert torch.equal(concat.encoder_input(x, image), torch.cat([x, image], 1))
    assert concat.encoder_input_shape((1, 28, 28), (2, 28, 28)) == (3, 28, 28)
