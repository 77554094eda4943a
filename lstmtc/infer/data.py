"""Labelled text data: AG News's original CSV, its header variants, and any CSV/TSV.

Formats read without options:
- AG News original: no header, every row ``"class","title","description"``;
- a header row naming a label column (label, class, class_index, category, target) and a text
  column (text, description, content, body, sentence), with an optional ``title`` column that is
  joined in front of the text as torchtext did (``title + " " + description``);
- no header and two columns: ``label,text``.
Anything else is described with column names or 1-based column numbers.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError, reading
from .labels import LabelSet, normalize

LABEL_NAMES = ("label", "class", "class_index", "category", "target")
TEXT_NAMES = ("text", "description", "content", "body", "sentence")
TITLE_NAMES = ("title",)
KNOWN_NAMES = frozenset(LABEL_NAMES + TEXT_NAMES + TITLE_NAMES)

csv.field_size_limit(2**31 - 1)


@dataclass
class Columns:
    """Resolved 0-based column positions."""

    label: int | None
    text: int
    title: int | None
    width: int


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


QUOTINGS = ("csv", "none")


def quoting_for(path: str | os.PathLike, quoting: str | None = None) -> str:
    """TSV files rarely quote: a stray quote in ``"text`` would merge every line up to the next one
    into one field, so quotes are text in .tsv/.tab unless asked otherwise; CSV keeps CSV quoting."""
    if quoting:
        if quoting not in QUOTINGS:
            raise DataError(f"quoting must be one of {', '.join(QUOTINGS)}, not {quoting!r}")
        return quoting
    return "none" if str(path).lower().endswith((".tsv", ".tab")) else "csv"


def delimiter_for(path: str | os.PathLike, delimiter: str | None = None) -> str:
    if delimiter:
        return delimiter
    return "\t" if str(path).lower().endswith((".tsv", ".tab")) else ","


def _pick(header: list[str], wanted: str | int | None, candidates: Sequence[str], role: str, path) -> int | None:
    lowered = [h.strip().lower() for h in header]
    if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.isdigit()):
        n = int(wanted)
        if not 1 <= n <= len(header):
            raise DataError(f"{path}: {role} column {n} does not exist (the file has {len(header)} columns)")
        return n - 1
    if wanted is not None:
        if wanted in header:
            return header.index(wanted)
        if wanted.lower() in lowered:
            return lowered.index(wanted.lower())
        raise DataError(
            f"{path}: no {role} column {wanted!r}; the columns are: {', '.join(header)}"
        )
    for name in candidates:
        if name in lowered:
            return lowered.index(name)
    return None


def resolve_columns(
    first_row: list[str],
    path,
    header: bool | None = None,
    text_column: str | int | None = None,
    title_column: str | int | None = None,
    label_column: str | int | None = None,
    need_label: bool = True,
) -> tuple[Columns, bool]:
    """Find the label/text/title columns from the first row; returns (columns, has_header)."""
    if header is None:
        header = any(f.strip().lower() in KNOWN_NAMES for f in first_row) or any(
            isinstance(c, str) and not c.isdigit() for c in (text_column, title_column, label_column)
        )
    width = len(first_row)
    if header:
        label = _pick(first_row, label_column, LABEL_NAMES if need_label else (), "label", path)
        text = _pick(first_row, text_column, TEXT_NAMES, "text", path)
        if text is None:
            raise DataError(
                f"{path}: cannot tell which column holds the text; the columns are: {', '.join(first_row)} "
                "(name it with --text-column)"
            )
        # A "title" column is joined in front of the text only when the text column was found by
        # name too (AG News's class_index,title,description); a user who names the text column
        # gets exactly that column unless they also name a title column.
        auto_title = title_column is None and text_column is None
        title = _pick(first_row, title_column, TITLE_NAMES if auto_title else (), "title", path)
        if need_label and label is None:
            raise DataError(
                f"{path}: cannot tell which column holds the label; the columns are: {', '.join(first_row)} "
                "(name it with --label-column)"
            )
    else:
        names = [str(i + 1) for i in range(width)]
        if text_column is None and label_column is None and title_column is None:
            # AG News original ("class","title","description") or a bare "label,text".
            if need_label and width == 3:
                return Columns(0, 2, 1, width), False
            if need_label and width == 2:
                return Columns(0, 1, None, width), False
            if not need_label and width == 1:
                return Columns(None, 0, None, width), False
            raise DataError(
                f"{path}: a headerless file with {width} columns needs --text-column"
                + (" and --label-column numbers" if need_label else " (a 1-based column number)")
            )
        label = _pick(names, label_column, (), "label", path)
        text = _pick(names, text_column, (), "text", path)
        title = _pick(names, title_column, (), "title", path)
        if text is None or (need_label and label is None):
            raise DataError(f"{path}: give --text-column" + (" and --label-column" if need_label else "")
                            + " as 1-based column numbers")
    if title == text:
        title = None
    return Columns(label, text, title, width), header


def join_text(row: list[str], cols: Columns) -> str:
    if cols.title is None:
        return row[cols.text]
    return row[cols.title] + " " + row[cols.text]


def _decode(path: Path) -> str:
    with reading(path, "a CSV or TSV file"):
        raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # utf-8-sig reports positions within the input after its BOM (e.object), not within raw.
        line = e.object.count(b"\n", 0, e.start) + 1
        byte = e.start + len(raw) - len(e.object)
        raise DataError(
            f"{path}:{line}: not valid UTF-8 ({e.reason} at byte {byte}); re-encode the file as UTF-8"
        ) from None


def read_rows(path: str | os.PathLike, delimiter: str | None = None, quoting: str | None = None):
    """Yield (line_number, fields) for each record; line numbers are 1-based physical lines
    where the record starts, so quoted newlines do not shift them. ``quoting`` "none" reads quote
    characters as text (default for .tsv, see ``quoting_for``)."""
    path = Path(path)
    mode = csv.QUOTE_NONE if quoting_for(path, quoting) == "none" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(_decode(path), newline=""), delimiter=delimiter_for(path, delimiter),
                        quoting=mode)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as e:
        raise DataError(f"{path}:{start}: malformed CSV ({e})") from None


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
) -> Dataset:
    """Read a labelled file. With ``labelset`` (a model's classes) labels are mapped onto it and an
    unknown label is an error; without one the classes are inferred from the file."""
    rows = read_rows(path, delimiter, quoting)
    first_line, first = 0, []
    while not first:  # blank lines before the first record carry nothing, not even a header
        try:
            first_line, first = next(rows)
        except StopIteration:
            raise DataError(f"{path}: the file is empty") from None
    cols, has_header = resolve_columns(first, path, header, text_column, title_column, label_column)
    texts: list[str] = []
    raw: list[str] = []
    lines: list[int] = []
    quoted = 0
    quotes_are_text = quoting_for(path, quoting) == "none"

    def take(line: int, row: list[str]):
        if len(row) != cols.width:
            if not row:
                return  # a blank line between records carries no data
            raise DataError(
                f"{path}:{line}: expected {cols.width} fields, found {len(row)}; check quoting and the delimiter"
            )
        nonlocal quoted
        if quotes_are_text and any('"' in f for f in row):
            quoted += 1
        texts.append(join_text(row, cols))
        raw.append(normalize(row[cols.label]))
        lines.append(line)

    if not has_header:
        take(first_line, first)
    for line, row in rows:
        take(line, row)
    if not texts:
        raise DataError(f"{path}: no data rows")
    notes = []
    if not has_header and len(raw) > 2 and raw.count(raw[0]) == 1:
        # A header the detector did not recognise ("category,message") would become one training
        # example of a class of its own.
        notes.append(
            f"{path}:{first_line}: the first row looks like a header (its label {raw[0]!r} appears nowhere else); "
            "if it is one, name the columns (--text-column NAME --label-column NAME)"
        )
    if quoted:
        notes.append(
            f"{path}: {quoted} rows hold quote characters, read as text (--quoting none, the default for TSV); "
            "if the file quotes its fields, pass --quoting csv"
        )

    if labelset is None:
        try:
            labelset = LabelSet.infer(raw, label_names)
        except ValueError as e:
            raise DataError(f"{path}: {e}") from None
    index = labelset.index_map()
    labels = []
    for value, line in zip(raw, lines):
        i = index.get(value)
        if i is None:
            raise DataError(
                f"{path}:{line}: unknown label {value!r}; the model's classes are "
                + ", ".join(f"{v} ({n})" if v != n else n for v, n in zip(labelset.values, labelset.names))
            )
        labels.append(i)
    return Dataset(texts, labels, labelset, str(path), notes)
