"""The test images' FID statistics cached beside the data: used only when they are for these images and this
network and are a finite mean and covariance, recomputed otherwise. What every array cache does (unreadable,
stale or pickled files, read-only folders) is tested in test_array_cache.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import condgen_mnist.metric_net as metric_net
from condgen.evaluation import apply_in_batches, feature_statistics
from condgen.engine.fid_reference import VERSION, cache_key, cache_path, reference_statistics


@pytest.fixture
def network():
    return metric_net.load_metric_net()


@pytest.fixture
def images():
    return torch.rand(60, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def computed(network, images):
    return feature_statistics(apply_in_batches(network.features, images))


def assert_statistics_equal(got, expected):
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def only_file(folder):
    (path,) = folder.iterdir()
    return path


def test_the_first_call_computes_and_caches_and_the_second_reads_the_same_numbers(network, images, tmp_path):
    first = reference_statistics(network, images, tmp_path / "fid")
    assert_statistics_equal(first, computed(network, images))
    path = only_file(tmp_path / "fid")
    assert path == cache_path(tmp_path / "fid", cache_key(images, network))
    with np.load(path, allow_pickle=False) as stored:  # plain arrays: loading runs no code
        assert int(stored["version"]) == VERSION and stored["covariance"].shape == (64, 64)
    assert_statistics_equal(reference_statistics(network, images, tmp_path / "fid"), first)


def test_a_valid_cache_file_is_what_is_returned(network, images, tmp_path):
    # Proof that the second call reads the file rather than recomputing: a file written under the right key
    # with other values comes back as it is.
    folder = tmp_path / "fid"
    reference_statistics(network, images, folder)
    path = only_file(folder)
    key = cache_key(images, network)
    planted = np.full(64, 7.0), np.eye(64)
    with open(path, "wb") as handle:
        np.savez(handle, version=VERSION, key=key, mean=planted[0], covariance=planted[1])
    mean, covariance = reference_statistics(network, images, folder)
    assert torch.equal(mean, torch.full((64,), 7.0, dtype=torch.float64)) and torch.equal(covariance, torch.eye(64).double())


def damage_not_finite(path, key):
    with np.load(path) as stored:
        arrays = dict(stored)
    arrays["covariance"][3, 3] = np.nan
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def damage_wrong_shape(path, key):
    with np.load(path) as stored:
        arrays = dict(stored)
    with open(path, "wb") as handle:
        np.savez(handle, **{**arrays, "covariance": arrays["covariance"][:10, :10]})


def damage_single_precision(path, key):
    with np.load(path) as stored:
        arrays = dict(stored)
    with open(path, "wb") as handle:
        np.savez(handle, **{**arrays, "mean": arrays["mean"].astype(np.float32)})


# Files that are unreadable or for another key or version: tests/engine/test_array_cache.py.
@pytest.mark.parametrize("damage", [damage_not_finite, damage_wrong_shape, damage_single_precision])
def test_statistics_not_finite_or_misshapen_are_recomputed_never_trusted(network, images, tmp_path, damage):
    folder = tmp_path / "fid"
    expected = reference_statistics(network, images, folder)
    path = only_file(folder)
    damage(path, cache_key(images, network))
    assert_statistics_equal(reference_statistics(network, images, folder), expected)
    assert_statistics_equal(reference_statistics(network, images, folder), expected)  # the rewritten file is good
    with np.load(path, allow_pickle=False) as stored:
        assert str(stored["key"]) == cache_key(images, network)


def test_other_images_or_another_network_get_their_own_entry(network, images, tmp_path):
    folder = tmp_path / "fid"
    reference_statistics(network, images, folder)
    other_images = images.clone()
    other_images[0, 0, 0, 0] += 0.5  # one pixel
    assert_statistics_equal(reference_statistics(network, other_images, folder), computed(network, other_images))
    retrained = metric_net.load_metric_net()
    with torch.no_grad():
        retrained.classify.bias.add_(1.0)  # any weight: the features do not even use this one
    reference_statistics(retrained, images, folder)
    keys = {cache_key(images, network), cache_key(other_images, network), cache_key(images, retrained)}
    assert len(keys) == 3 and len(list(folder.iterdir())) == 3
