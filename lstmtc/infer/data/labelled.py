"""Labelled text data, for training and evaluation: AG News's original CSV, its header variants,
any CSV/TSV, JSON Lines and fastText's format.

Formats read without options:
- AG News original: no header, every row ``"class","title","description"``;
- a header row naming a label column (label, class, class_index, category, target) and a text
  column (text, description, content, body, sentence), with an optional ``title`` column that is
  joined in front of the text as torchtext did (``title + " " + description``);
- no header and two columns: ``label,text``;
- JSON Lines whose objects have such keys (``{"text": ..., "label": ...}``), and fastText's
  ``__label__CLASS text`` lines (``data.formats``).
Anything else is described with column names or 1-based column numbers. The file is read by the
one reader (``reader.records``, ``columns.open_table``): strict UTF-8, strict quoting, every row as
wide as the first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from ..errors import DataError
from ..labels import AG_NEWS_NAMES, LabelSet, normalize
from .columns import open_table
from .formats import CSV, FORMATS


@dataclass
class Dataset:
    texts: list[str]
    labels: list[int]
    labelset: LabelSet
    path: str
    # One-line observations about the file that did not stop the read (a probable header taken as
    # data, quote characters read as text); the caller decides whether to show them.
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


def _open(path, text_column, title_column, label_column, header, delimiter, quoting, encoding):
    table = open_table(path, header=header, text_column=text_column, title_column=title_column,
                       label_column=label_column, need_label=True, delimiter=delimiter, quoting=quoting,
                       encoding=encoding, formats=FORMATS)
    if table is None:
        raise DataError(f"{path}: the file is empty")
    return table


def _rows(table, path) -> Iterator[tuple[int, list[str], str]]:
    """(line, fields, label) of every data row; an empty label is an error (else a class named ""
    that every blank cell joins)."""
    for line, row in table.rows:
        label = normalize(row[table.columns.label])
        if not label:
            raise DataError(f"{path}:{line}: the label is empty; fill it in or drop the row")
        yield line, row, label


def _indexer(labelset: LabelSet, path) -> Callable[[str, int], int]:
    """label -> class index on ``labelset``; a label it does not have is an error naming the line."""
    index = labelset.index_map()

    def look_up(value: str, line: int) -> int:
        i = index.get(value)
        if i is None:
            raise DataError(
                f"{path}:{line}: unknown label {value!r}; the model's classes are "
                + ", ".join(f"{v} ({n})" if v != n else n for v, n in zip(labelset.values, labelset.names))
            )
        return i

    return look_up


def read_labelled(
    path: str | os.PathLike,
    labelset: LabelSet | None = None,
    *,
    text_column: str | int | None = None,
    title_column: str | int | None = None,
    label_column: str | int | None = None,
    header: bool | None = None,
    delimiter: str | None = None,
    quoting: str | None = None,
    label_names: Sequence[str] | None = None,
    encoding: str | None = None,
) -> Dataset:
    """Read a labelled file into memory (training). With ``labelset`` (a model's classes) labels are
    mapped onto it and an unknown label is an error; without one the classes are inferred from the
    file. ``labelled_batches`` reads one for evaluation in bounded memory."""
    table = _open(path, text_column, title_column, label_column, header, delimiter, quoting, encoding)
    quotes_are_text = table.format == CSV and table.quoting == "none"
    texts: list[str] = []
    raw: list[str] = []
    lines: list[int] = []
    quoted = 0
    # Only read when the classes come from the file: a model's classes are checked label by label.
    profile = _Profile() if labelset is None else None
    for line, row, label in _rows(table, path):
        if quotes_are_text and any('"' in f for f in row):
            quoted += 1
        if profile is not None:
            profile.add(row)
        texts.append(table.text(row))
        raw.append(label)
        lines.append(line)
    if not texts:
        raise DataError(f"{path}: no data rows")
    notes = []
    if table.header is None and len(raw) > 2 and raw.count(raw[0]) == 1:
        # A header the detector did not recognise ("category,message") would become one training
        # example of a class of its own.
        notes.append(
            f"{path}:{table.first_line}: the first row looks like a header (its label {raw[0]!r} appears nowhere "
            "else); if it is one, name the columns (--text-column NAME --label-column NAME)"
        )
    if quoted:
        notes.append(
            f"{path}: {quoted} rows hold quote characters, read as text (--quoting none, the default for TSV); "
            "if the file quotes its fields, pass --quoting csv"
        )

    if labelset is None:
        spread = _label_spread(table, raw, profile)
        if spread:
            notes.append(spread)
        try:
            labelset = LabelSet.infer(raw, label_names)
        except ValueError as e:
            raise DataError(f"{path}: {e}") from None
        if label_names is None and labelset.names == AG_NEWS_NAMES:
            # The reference task's convention; on other data with labels 1..4 these names would be wrong.
            notes.append(f"{path}: labels 1..4 are named as AG News's classes ({', '.join(AG_NEWS_NAMES)}); "
                         "for other data name them with --label-names (--label-names 1,2,3,4 keeps the numbers)")
    look_up = _indexer(labelset, path)
    labels = [look_up(value, line) for value, line in zip(raw, lines)]
    return Dataset(texts, labels, labelset, str(path), notes)


def labelled_batches(path: str | os.PathLike, labelset: LabelSet, batch_size: int, *,
                     text_column: str | int | None = None, title_column: str | int | None = None,
                     label_column: str | int | None = None, header: bool | None = None,
                     delimiter: str | None = None, quoting: str | None = None,
                     encoding: str | None = None) -> Iterator[tuple[list[str], list[int]]]:
    """(texts, class indices on ``labelset``) of a labelled file, ``batch_size`` rows at a time:
    evaluation of a file of any size in bounded memory, with ``read_labelled``'s rules and errors."""
    table = _open(path, text_column, title_column, label_column, header, delimiter, quoting, encoding)
    look_up = _indexer(labelset, path)
    rows = _rows(table, path)
    empty = True
    while chunk := list(islice(rows, batch_size)):
        empty = False
        yield [table.text(row) for _, row, _ in chunk], [look_up(label, line) for line, _, label in chunk]
    if empty:
        raise DataError(f"{path}: no data rows")


class _Profile:
    """Per column of a file: its different values (while there are at most CAP) and its characters, to
    name the column that looks like the label when the one read as the label does not."""

    CAP = 1000

    def __init__(self) -> None:
        self.values: list[set[str] | None] = []
        self.chars: list[int] = []

    def add(self, row: list[str]) -> None:
        if not self.values:
            self.values, self.chars = [set() for _ in row], [0] * len(row)
        for i, value in enumerate(row):
            seen = self.values[i]
            if seen is not None:
                seen.add(value)
                if len(seen) > self.CAP:
                    self.values[i] = None
            self.chars[i] += len(value)


def _label_spread(table, raw: list[str], profile: _Profile) -> str | None:
    """More different labels than half the rows: the label column is probably not the label (an id,
    the text of a ``text,label`` file read as ``label,text``, or a headerless ``text,label,...`` file
    read as AG News's ``label,title,text``). Another column with few values is an error that names
    the flags to give; otherwise a note."""
    n, distinct = len(raw), len(set(raw))
    if n < 20 or distinct * 2 <= n:
        return None
    cols = table.columns

    def name(i: int) -> str:
        return table.header[i] if table.header is not None else str(i + 1)

    few = max(2, n // 20)
    like = [i for i, seen in enumerate(profile.values) if i != cols.label and seen and 2 <= len(seen) <= few]
    if like:
        label = min(like, key=lambda i: (len(profile.values[i]), i))
        text = max((i for i in range(len(profile.chars)) if i != label), key=lambda i: profile.chars[i])
        values = sorted(profile.values[label])
        if label == cols.text and text == cols.label and cols.title is None:
            raise DataError(f"{table.path}: the label column ({name(cols.label)}) has {distinct:,} different values "
                            f"in {n:,} rows and the text column ({name(cols.text)}) only {len(values):,}: the "
                            f"columns look swapped; give --label-column {name(label)} --text-column {name(text)}")
        shown = ", ".join(values[:4]) + (", ..." if len(values) > 4 else "")
        raise DataError(f"{table.path}: the label column ({name(cols.label)}) has {distinct:,} different values in "
                        f"{n:,} rows, column {name(label)} only {len(values):,} ({shown}): give --label-column "
                        f"{name(label)} --text-column {name(text)}")
    return (f"{table.path}: {distinct:,} different labels in {n:,} rows, so most classes have one row: check that "
            f"the label column ({name(cols.label)}) holds the label")
