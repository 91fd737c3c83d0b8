"""Arrays cached in an .npz file: computed once, read back while the file is for this key and version and passes
the caller's check, computed again and rewritten otherwise, never unpickled, and never a reason for the caller
to fail."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from condgen.engine.array_cache import cached_arrays
from helpers import locked_folder, needs_permissions

KEY = "a" * 64
VERSION = 3


class Computation:
    """A real compute function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        return {"mean": np.arange(4.0), "counts": np.array([[1, 2], [3, 4]], dtype=np.int64)}


def shaped_right(arrays: dict[str, np.ndarray]) -> bool:
    return set(arrays) == {"mean", "counts"} and arrays["mean"].shape == (4,) and arrays["counts"].shape == (2, 2)


def cached(path, computation, key=KEY, version=VERSION):
    return cached_arrays(path, key, version, computation, shaped_right, "the test arrays")


def assert_computed_values(arrays) -> None:
    expected = Computation()()
    assert set(arrays) == set(expected)
    for name, value in expected.items():
        assert arrays[name].dtype == value.dtype
        np.testing.assert_array_equal(arrays[name], value)


def assert_stored_under(path, key=KEY, version=VERSION) -> None:
    with np.load(path, allow_pickle=False) as stored:
        assert int(stored["version"]) == version and str(stored["key"]) == key
        assert sorted(stored.files) == ["counts", "key", "mean", "version"]


def test_the_first_call_computes_and_stores_and_later_calls_read_without_computing(tmp_path) -> None:
    path = tmp_path / "cache" / "arrays.npz"  # the folder is created on the first write
    computation = Computation()
    first = cached(path, computation)
    second = cached(path, computation)
    third = cached(path, computation)
    assert computation.calls == 1
    for arrays in (first, second, third):
        assert_computed_values(arrays)
    assert_stored_under(path)
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_what_the_file_holds_is_what_is_returned(tmp_path) -> None:
    # Proof that a valid file is read, not recomputed: other values under the right key and version come back.
    path = tmp_path / "arrays.npz"
    np.savez(path, version=VERSION, key=KEY, mean=np.full(4, 7.0), counts=np.zeros((2, 2), np.int64))
    computation = Computation()
    got = cached(path, computation)
    assert computation.calls == 0
    np.testing.assert_array_equal(got["mean"], np.full(4, 7.0))


@pytest.mark.parametrize(
    ("key", "version"), [("b" * 64, VERSION), (KEY, VERSION - 1)], ids=["other key", "old version"]
)
def test_a_file_for_another_key_or_version_is_computed_again_and_rewritten(tmp_path, key, version) -> None:
    path = tmp_path / "arrays.npz"
    cached(path, Computation(), key=key, version=version)
    assert_stored_under(path, key=key, version=version)
    computation = Computation()
    assert_computed_values(cached(path, computation))
    assert_computed_values(cached(path, computation))
    assert computation.calls == 1  # the rewritten file is read the second time
    assert_stored_under(path)
    assert list(tmp_path.iterdir()) == [path]


def truncated(path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def garbage(path) -> None:
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def empty(path) -> None:
    path.write_bytes(b"")


def a_bare_array(path) -> None:
    with open(path, "wb") as handle:  # .npy content under the .npz name
        np.save(handle, np.arange(3))


def no_key(path) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, version=VERSION, mean=np.arange(4.0), counts=np.zeros((2, 2), np.int64))


@pytest.mark.parametrize("damage", [truncated, garbage, empty, a_bare_array, no_key])
def test_a_damaged_file_is_computed_again_and_rewritten(tmp_path, damage) -> None:
    path = tmp_path / "arrays.npz"
    cached(path, Computation())
    damage(path)
    computation = Computation()
    assert_computed_values(cached(path, computation))
    assert_computed_values(cached(path, computation))
    assert computation.calls == 1
    assert_stored_under(path)
    assert list(tmp_path.iterdir()) == [path]


def test_a_file_the_check_refuses_is_computed_again_and_rewritten(tmp_path) -> None:
    path = tmp_path / "arrays.npz"
    np.savez(path, version=VERSION, key=KEY, mean=np.arange(3.0), counts=np.zeros((2, 2), np.int64))  # mean (3,)
    computation = Computation()
    assert_computed_values(cached(path, computation))
    assert computation.calls == 1
    assert_stored_under(path)
    with np.load(path, allow_pickle=False) as stored:
        assert stored["mean"].shape == (4,)


class RunsCodeWhenUnpickled:
    """Unpickling this makes a folder: the trace that loading ran code."""

    def __init__(self, trace) -> None:
        self.trace = trace

    def __reduce__(self):
        return os.mkdir, (str(self.trace),)


def test_a_pickled_object_array_is_never_unpickled_and_counts_as_not_cached(tmp_path) -> None:
    path = tmp_path / "arrays.npz"
    trace = tmp_path / "unpickled"
    objects = np.array([RunsCodeWhenUnpickled(trace)] * 4, dtype=object)
    with open(path, "wb") as handle:
        np.savez(handle, version=VERSION, key=KEY, mean=objects, counts=np.zeros((2, 2), np.int64))
    computation = Computation()
    got = cached(path, computation)
    assert not trace.exists()
    assert_computed_values(got)
    assert computation.calls == 1
    assert_stored_under(path)


def test_a_folder_that_is_a_file_warns_and_still_returns_the_arrays(tmp_path) -> None:
    # Works as root too: nothing can be created under a file.
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    expected = re.escape(f"could not cache the test arrays in '{blocker / 'cache'}'") + ".*computed again next time"
    with pytest.warns(UserWarning, match=expected):
        got = cached(blocker / "cache" / "arrays.npz", Computation())
    assert_computed_values(got)
    assert blocker.read_text() == "not a folder"


@needs_permissions(covered_by=test_a_folder_that_is_a_file_warns_and_still_returns_the_arrays)
def test_a_read_only_folder_warns_and_still_returns_the_arrays(tmp_path) -> None:
    computation = Computation()
    with locked_folder(tmp_path / "cache") as folder:
        expected = re.escape(f"could not cache the test arrays in '{folder}'") + ".*computed again next time"
        with pytest.warns(UserWarning, match=expected):
            got = cached(folder / "arrays.npz", computation)
        with pytest.warns(UserWarning, match="could not cache"):
            cached(folder / "arrays.npz", computation)
    assert_computed_values(got)
    assert computation.calls == 2  # nothing was stored, so nothing could be read
    assert list(folder.iterdir()) == []  # no temporary file either
