"""The measurement cache: trusted only when valid for exactly these images and this measurement version."""

from __future__ import annotations

import os
import stat

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
    np.savez(path, version=version, digest=key, **{name: np.full(count, value) for name in M.ATTRIBUTES})


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


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage", "stale version", "other images", "wrong length", "pickled object"],
)
def test_a_corrupt_or_stale_cache_is_measured_again_and_rewritten(images, tmp_path, damage) -> None:
    key = cache.digest(images)
    path = cache.cache_path(tmp_path, key)
    if damage == "truncated":
        planted(path, key, len(images))
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif damage == "stale version":
        planted(path, key, len(images), version=M.VERSION - 1)
    elif damage == "other images":
        planted(path, "0" * 64, len(images))
    elif damage == "wrong length":
        planted(path, key, len(images) - 1)
    else:
        np.savez(path, version=M.VERSION, digest=key, **{n: np.array([{"x": 1}] * len(images), dtype=object) for n in M.ATTRIBUTES})
    result = cache.measure_cached(images, tmp_path)
    expected = M.measure(images, workers=1)
    for name in M.ATTRIBUTES:
        np.testing.assert_array_equal(result[name], expected[name])
    assert cache.read(path, key, len(images)) is not None  # rewritten, valid now


def test_one_changed_pixel_changes_the_key(images) -> None:
    changed = images.copy()
    changed[0, 0, 0] ^= 1
    assert cache.digest(changed) != cache.digest(images)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_warns_and_still_measures(images, tmp_path) -> None:
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.warns(UserWarning, match="could not cache"):
            result = cache.measure_cached(images, tmp_path / "morpho")
    finally:
        tmp_path.chmod(stat.S_IRWXU)
    assert np.isfinite(result["area"][:5]).all()


def test_a_folder_that_is_a_file_warns_and_still_measures(images, tmp_path) -> None:
    blocker = tmp_path / "morpho"
    blocker.write_text("not a folder")
    with pytest.warns(UserWarning, match="could not cache"):
        result = cache.measure_cached(images, blocker)
    assert np.isfinite(result["area"][:5]).all()
