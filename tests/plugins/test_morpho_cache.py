"""The measurement cache: trusted only when valid for exactly these images and this measurement version. What
every array cache does (unreadable, stale or pickled files, read-only folders) is tested in test_array_cache.py."""

from __future__ import annotations

import numpy as np
import pytest

from condgen_morpho import cache
from condgen_morpho import measure as M


@pytest.fixture
def images() -> np.ndarray:
    generator = np.random.default_rng(0)
    stack = np.zeros((6, 28, 28), np.uint8)
    for i in range(6):
        stack[i, 6:22, 12 - i // 2 : 15 + i // 2] = 255  # upright bars, 3 to 7 px wide
    stack[5] = 0  # one image without foreground
    return stack + generator.integers(0, 20, stack.shape).astype(np.uint8)


def planted(path, key: str, count: int, value: float = 7.0, version: int = M.VERSION) -> None:
    np.savez(path, version=version, key=key, **{name: np.full(count, value) for name in M.ATTRIBUTES})


def test_a_first_call_measures_and_writes_the_cache_a_second_reads_it(images, tmp_path) -> None:
    first = cache.measure_cached(images, tmp_path)
    path = cache.cache_path(tmp_path, cache.digest(images))
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind
    # a valid file planted under the same key is what the next call returns: it reads, it does not re-measure
    planted(path, cache.digest(images), len(images))
    assert all((value == 7.0).all() for value in cache.measure_cached(images, tmp_path).values())
    fresh = M.measure(images, workers=1)
    for name in M.ATTRIBUTES:
        np.testing.assert_array_equal(first[name], fresh[name])


def test_the_missing_measurements_of_a_blank_image_survive_the_round_trip(images, tmp_path) -> None:
    cache.measure_cached(images, tmp_path)
    again = cache.measure_cached(images, tmp_path)
    assert np.isnan(again["thickness"][5]) and np.isfinite(again["thickness"][:5]).all()


@pytest.mark.parametrize("damage", ["wrong length", "infinite", "single precision", "an attribute missing"])
def test_measurements_of_the_wrong_shape_or_kind_are_measured_again_and_rewritten(images, tmp_path, damage) -> None:
    key = cache.digest(images)
    path = cache.cache_path(tmp_path, key)
    if damage == "wrong length":
        planted(path, key, len(images) - 1)
    elif damage == "infinite":
        planted(path, key, len(images), value=np.inf)
    elif damage == "single precision":
        np.savez(path, version=M.VERSION, key=key, **{n: np.full(len(images), 7.0, np.float32) for n in M.ATTRIBUTES})
    else:
        np.savez(path, version=M.VERSION, key=key, **{n: np.full(len(images), 7.0) for n in M.ATTRIBUTES[1:]})
    result = cache.measure_cached(images, tmp_path)
    expected = M.measure(images, workers=1)
    for name in M.ATTRIBUTES:
        np.testing.assert_array_equal(result[name], expected[name])
    with np.load(path, allow_pickle=False) as stored:  # rewritten, with every attribute
        assert set(stored.files) == {"version", "key", *M.ATTRIBUTES} and stored["area"].shape == (len(images),)


def test_one_changed_pixel_changes_the_key(images) -> None:
    changed = images.copy()
    changed[0, 0, 0] ^= 1
    assert cache.digest(changed) != cache.digest(images)
