"""Which image files a folder holds, in which class and which split.

Layouts, told apart by the folder's top level:

- ``ROOT/train/CLASS/*`` and ``ROOT/test/CLASS/*``: the splits as given;
- ``ROOT/CLASS/*``: one pool, a seeded ``test_fraction`` of each class held out;
- images directly in ``ROOT`` (or in ``train/``, ``test/``): no classes, for a
  dataset conditioned on a table of attributes only.

Files inside a class folder are found recursively, symbolic links followed
once (a link back to a folder already being walked is a loop and is refused).
Hidden entries (``.name``) are skipped, which keeps condgen's own cache out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


import condgen

IMAGE_SUFFIXES = frozenset(
    ".png .jpg .jpeg .bmp .gif .tif .tiff .webp .ppm .pgm .pbm .pnm .tga .ico .jfif".split()
)
SPLIT_NAMES = ("train", "test")


@dataclass(frozen=True)
class FileEntry:
    """One image file: its path relative to the root (POSIX), its class (``""`` unlabelled) and stat key."""

    relative: str
    label: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Listing:
    """Every image of the folder, per split, in a fixed order (class, then relative path)."""

    classes: tuple[str, ...]
    splits: dict[str, tuple[FileEntry, ...]]
    given_splits: bool


def _visible(entry: os.DirEntry) -> bool:
    return not entry.name.startswith(".")


def _walk_images(folder: str, prefix: str, label: str, seen: frozenset[tuple[int, int]]) -> list[FileEntry]:
    """Image files under ``folder`` (relative paths start with ``prefix``), recursively.

    ``seen`` holds the (device, inode) of the folders being walked, to catch
    link loops. Plain strings, not ``Path``: pathlib costs seconds on 70,000 files.
    """
    identity = os.stat(folder)
    key = (identity.st_dev, identity.st_ino)
    if key in seen:
        raise condgen.DataError(
            f"The image folder has a symbolic link loop at {folder!r}: it leads back to a folder above it.",
            hint="Remove or retarget the link; condgen follows links but not loops.",
        )
    seen = seen | {key}
    found: list[FileEntry] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda item: item.name)
    except OSError as error:
        raise condgen.DataError(f"The folder {folder!r} cannot be listed: {error.strerror or error}.") from None
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        relative = prefix + name
        try:
            if entry.is_dir():
                found.extend(_walk_images(entry.path, relative + "/", label, seen))
            elif "." + name.rpartition(".")[2].lower() in IMAGE_SUFFIXES:
                stat = entry.stat()
                found.append(FileEntry(relative, label, stat.st_size, stat.st_mtime_ns))
        except OSError:  # a dangling link, a file removed while listing: reported when it fails to decode
            found.append(FileEntry(relative, label, -1, 0))
    return found


def _class_folders(folder: Path) -> list[str]:
    return sorted(entry.name for entry in os.scandir(folder) if _visible(entry) and entry.is_dir())


def _loose_images(folder: Path) -> bool:
    return any(
        _visible(entry) and not entry.is_dir() and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES
        for entry in os.scandir(folder)
    )


def _pool(folder: Path, root: Path, classes: list[str]) -> list[FileEntry]:
    prefix = "" if folder == root else folder.relative_to(root).as_posix() + "/"
    top = os.stat(folder)
    seen = frozenset({(top.st_dev, top.st_ino)})
    if not classes:
        return _walk_images(str(folder), prefix, "", frozenset())
    files: list[FileEntry] = []
    for name in classes:
        files.extend(_walk_images(str(folder / name), f"{prefix}{name}/", name, seen))
    return files


def list_folder(root: Path, classes: list[str] | None, test_fraction: float, split_seed: int) -> Listing:
    """List ``root`` into train and test files (no image is opened).

    ``classes`` restricts and orders the class folders (a recipe may name a
    subset); ``None`` takes every class folder found, sorted by name.
    """
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise condgen.DataError(f"The image folder {str(root)!r} {what}.", hint="Set data.root to a folder of images.")
    top = _class_folders(root)
    given = all(name in top for name in SPLIT_NAMES)
    base = {name: root / name for name in SPLIT_NAMES} if given else {"pool": root}
    found = _class_folders(base["train"]) if given else [name for name in top if name not in SPLIT_NAMES]
    if given and _loose_images(base["train"]):
        found = []
    elif not given and _loose_images(root) and not found:
        found = []
    chosen = _choose_classes(found, classes, root)
    if given:
        splits = {name: tuple(_pool(base[name], root, chosen)) for name in SPLIT_NAMES}
        missing = [name for name in chosen if not (base["test"] / name).is_dir()]
        if missing:
            raise condgen.DataError(
                f"The image folder {str(root)!r} has class folders under train/ that test/ lacks: {', '.join(missing)}.",
                hint="Give test/ the same class folders as train/, or drop test/ to hold out a seeded fraction.",
            )
    else:
        splits = _hold_out(_pool(root, root, chosen), test_fraction, split_seed)
    for name, files in splits.items():
        if not files:
            where = f"{root / name}" if given else str(root)
            raise condgen.DataError(
                f"The image folder {where!r} holds no images for the {name} split"
                f" (looked for {', '.join(sorted(IMAGE_SUFFIXES)[:6])}, ... files"
                + (f" in the class folders {', '.join(chosen)})." if chosen else ")."),
                hint="Put images in class sub-folders (ROOT/CLASS/*.png), or in ROOT/train/CLASS and ROOT/test/CLASS.",
            )
    return Listing(tuple(chosen), splits, given)


def _choose_classes(found: list[str], wanted: list[str] | None, root: Path) -> list[str]:
    if wanted is None:
        return found
    missing = [name for name in wanted if name not in found]
    if missing:
        raise condgen.DataError(
            f"The classes {', '.join(missing)} (data.classes, or a resumed run's) have no folder in {str(root)!r}"
            f" (it has: {', '.join(found) or 'none'}).",
            hint="Restore those folders, or set data.classes to the classes you want.",
        )
    return list(wanted)


def _hold_out(files: list[FileEntry], fraction: float, seed: int) -> dict[str, tuple[FileEntry, ...]]:
    """A seeded ``fraction`` of each class (at least one file when it has two) goes to test; order kept."""
    import torch  # here: listing a folder for `condgen validate` should not load torch before it must

    generator = torch.Generator().manual_seed(seed)
    test_index: set[int] = set()
    by_class: dict[str, list[int]] = {}
    for index, entry in enumerate(files):
        by_class.setdefault(entry.label, []).append(index)
    for members in by_class.values():
        count = min(len(members) - 1, max(1, round(fraction * len(members)))) if len(members) > 1 else 0
        order = torch.randperm(len(members), generator=generator)[:count].tolist()
        test_index.update(members[i] for i in order)
    return {
        "train": tuple(entry for i, entry in enumerate(files) if i not in test_index),
        "test": tuple(entry for i, entry in enumerate(files) if i in test_index),
    }
