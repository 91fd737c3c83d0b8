"""The conditions table: one CSV row per image file, numeric attribute columns and/or a caption column.

The file column holds each image's path relative to the folder's root
(``train/daisy/001.jpg``) or, when that is unambiguous, its bare file name.
Problems are collected and reported together, with CSV line numbers.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import condgen

from .scan import FileEntry

SHOWN = 8  # paths listed in a message before "... and N more"


@dataclass
class Row:
    attributes: tuple[float, ...]
    caption: str | None
    line: int


@dataclass
class Table:
    """What the CSV says about each file it names, keyed by the file's relative path."""

    attributes: tuple[str, ...]
    caption: str | None
    rows: dict[str, Row]
    #: files of the folder the table has no (usable) row for, with why
    problems: dict[str, str] = field(default_factory=dict)


def listed(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f", ... and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def read_table(
    path: Path,
    files: list[FileEntry],
    *,
    file_column: str,
    attributes: list[str] | None,
    caption: str | None,
    skip: bool,
) -> Table:
    """Read and check the table against the folder's ``files``.

    Files without a row, rows for no file, empty cells: a :class:`condgen.DataError`
    listing them, unless ``skip`` (then such files are left out, and said so).
    A column that is not numeric is always an error.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            body = [(reader.line_num, record) for record in reader]
    except OSError as error:
        raise condgen.DataError(f"The conditions table {str(path)!r} cannot be read: {error.strerror or error}.") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise condgen.DataError(f"The conditions table {str(path)!r} is not a UTF-8 CSV file: {error}.") from None
    if not header:
        raise condgen.DataError(f"The conditions table {str(path)!r} is empty: it needs a header row.")
    header = [name.strip() for name in header]
    columns = _columns(path, header, file_column, attributes, caption)
    by_name = _by_bare_name(files)
    known = {entry.relative for entry in files}
    rows: dict[str, Row] = {}
    extra, empty, duplicate = [], [], []
    for line, record in body:
        if not any(cell.strip() for cell in record):
            continue
        record = record + [""] * (len(header) - len(record))
        name = record[columns[file_column]].strip().replace("\\", "/")
        relative = name if name in known else by_name.get(name, name)
        if relative not in known:
            extra.append(f"{name} (line {line})")
            continue
        if relative in rows:
            duplicate.append(f"{name} (lines {rows[relative].line} and {line})")
            continue
        values, blank = _numbers(path, header, columns, record, attributes_of(columns, file_column, caption), line)
        text = record[columns[caption]].strip() if caption is not None else None
        if blank or (caption is not None and not text):
            empty.append(f"{name} (line {line}: empty {', '.join(blank + ([caption] if caption and not text else []))})")
            continue
        rows[relative] = Row(values, text, line)
    if duplicate:
        raise condgen.DataError(f"The conditions table {str(path)!r} names a file twice: {listed(duplicate)}.")
    missing = [entry.relative for entry in files if entry.relative not in rows and not _in(entry.relative, empty)]
    problems = {name: "no row in the conditions table" for name in missing}
    problems.update({item.split(" (line")[0]: "an empty cell in the conditions table" for item in empty})
    messages = []
    if missing:
        messages.append(f"{len(missing)} image(s) have no row: {listed(missing)}")
    if extra:
        messages.append(f"{len(extra)} row(s) name no image in the folder: {listed(extra)}")
    if empty:
        messages.append(f"{len(empty)} row(s) have empty cells: {listed(empty)}")
    if messages and not skip:
        raise condgen.DataError(
            f"The conditions table {str(path)!r} does not match the folder:\n  " + "\n  ".join(messages),
            hint="Fix the table, or set data.on_error: skip to leave those images (and rows) out.",
        )
    if messages:
        condgen_say(f"conditions table {path.name}: " + "; ".join(messages) + " (on_error: skip, left out)")
    return Table(attributes_of(columns, file_column, caption), caption, rows, problems)


def _in(relative: str, empty: list[str]) -> bool:
    return any(item.startswith(relative + " (line") for item in empty)


def attributes_of(columns: dict[str, int], file_column: str, caption: str | None) -> tuple[str, ...]:
    return tuple(name for name in columns if name not in (file_column, caption))


def _columns(path: Path, header: list[str], file_column: str, attributes: list[str] | None, caption: str | None):
    """Column name -> index for the file column, the attributes (in order) and the caption."""
    index = {name: i for i, name in enumerate(header)}
    wanted = [file_column, *(attributes if attributes is not None else
                             [name for name in header if name not in (file_column, caption)])]
    if caption is not None:
        wanted.append(caption)
    absent = [name for name in wanted if name not in index]
    if absent:
        raise condgen.DataError(
            f"The conditions table {str(path)!r} has no column {', '.join(map(repr, absent))} "
            f"(its columns: {', '.join(header)}).",
            hint="Name its columns in data.file_column, data.attributes and data.caption.",
        )
    return {name: index[name] for name in wanted}


def _numbers(path, header, columns, record, names, line) -> tuple[tuple[float, ...], list[str]]:
    values, blank = [], []
    for name in names:
        cell = record[columns[name]].strip()
        if not cell:
            blank.append(name)
            values.append(math.nan)
            continue
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise condgen.DataError(
                f"The conditions table {str(path)!r}: column {name!r} is not numeric ({cell!r} on line {line}).",
                hint="Attributes must be numbers; name a text column in data.caption, or leave it out of data.attributes.",
            )
        values.append(value)
    return tuple(values), blank


def _by_bare_name(files: list[FileEntry]) -> dict[str, str]:
    """Bare file name -> relative path, for names that occur once in the folder."""
    counts: dict[str, list[str]] = {}
    for entry in files:
        counts.setdefault(entry.relative.rsplit("/", 1)[-1], []).append(entry.relative)
    return {name: paths[0] for name, paths in counts.items() if len(paths) == 1}


def condgen_say(message: str) -> None:
    """One line to the user on stderr (kept off stdout, which may be a pipe of results)."""
    import sys

    print(f"image_folder: {message}", file=sys.stderr)


@dataclass(frozen=True)
class AttributeStatistics:
    """An attribute's training-split statistics: standardisation, and the defaults and ranges sampling uses."""

    mean: float
    std: float
    median: float
    low: float
    high: float


def column_statistics(table: Table, train: tuple[FileEntry, ...]) -> dict[str, AttributeStatistics]:
    """Each attribute's statistics over the training files that have a row (plain Python: validation uses it).

    An attribute with one value for every training image conditions nothing: refused.
    """
    if not table.attributes:
        return {}
    rows = [table.rows[entry.relative].attributes for entry in train if entry.relative in table.rows]
    if not rows:
        raise condgen.DataError("The conditions table has no row for any training image.")
    result = {}
    for column, name in enumerate(table.attributes):
        values = sorted(row[column] for row in rows)
        mean = math.fsum(values) / len(values)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
        if std == 0:
            raise condgen.DataError(
                f"The attribute {name!r} has the same value for every training image: it cannot condition anything.",
                hint="Leave it out of data.attributes.",
            )
        middle = len(values) // 2
        median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
        result[name] = AttributeStatistics(mean, std, median, values[0], values[-1])
    return result
