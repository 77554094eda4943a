"""Tables: which columns hold the text, the title and the label, and a CSV/TSV file opened as a
table (its header, its columns, and data rows that are all as wide as its first record).

Columns are found the same way by every verb: a header row naming a known column (or a column
named on the command line) is a header; columns are then taken by name (case-insensitively) or
by 1-based number, and a ``title`` column found by name is joined in front of the text as
torchtext built AG News (``title + " " + description``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass

from ..errors import DataError
from . import formats as file_formats
from .formats import delimiter_for, quoting_for
from .reader import records, source_name

LABEL_NAMES = ("label", "class", "class_index", "category", "target")
TEXT_NAMES = ("text", "description", "content", "body", "sentence")
TITLE_NAMES = ("title",)
KNOWN_NAMES = frozenset(LABEL_NAMES + TEXT_NAMES + TITLE_NAMES)
@dataclass
class Columns:
    """Resolved 0-based column positions."""

    label: int | None
    text: int
    title: int | None
    width: int


def join_text(row: Sequence[str], cols: Columns) -> str:
    if cols.title is None:
        return row[cols.text]
    return row[cols.title] + " " + row[cols.text]


def delimiter_hint(row: Sequence[str]) -> str:
    """For a first row that is one field holding another common delimiter (a semicolon-separated
    export from a spreadsheet set to a European locale, a pipe-separated dump): how to read it."""
    if len(row) != 1:
        return ""
    counts = {d: row[0].count(d) for d in (";", "|", "\t")}
    best = max(counts, key=counts.get)
    if not counts[best]:
        return ""
    shown = "\\t" if best == "\t" else best
    return f"; its first row is one field holding {counts[best]} '{shown}': give --delimiter '{shown}'"


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
        raise DataError(f"{path}: no {role} column {wanted!r}; the columns are: {', '.join(header)}"
                        + delimiter_hint(header))
    for name in candidates:
        if name in lowered:
            return lowered.index(name)
    return None


def resolve_columns(first_row: list[str], path, header: bool | None = None, text_column: str | int | None = None,
                    title_column: str | int | None = None, label_column: str | int | None = None,
                    need_label: bool = True) -> tuple[Columns, bool]:
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
            raise DataError(f"{path}: cannot tell which column holds the text; the columns are: "
                            f"{', '.join(first_row)} (name it with --text-column)" + delimiter_hint(first_row))
        # A "title" column is joined in front of the text only when the text column was found by
        # name too (AG News's class_index,title,description); a user who names the text column
        # gets exactly that column unless they also name a title column.
        auto_title = title_column is None and text_column is None
        title = _pick(first_row, title_column, TITLE_NAMES if auto_title else (), "title", path)
        if need_label and label is None:
            raise DataError(f"{path}: cannot tell which column holds the label; the columns are: "
                            f"{', '.join(first_row)} (name it with --label-column)")
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
            raise DataError(f"{path}: a headerless file with {width} column{'' if width == 1 else 's'} needs "
                            "--text-column" + (" and --label-column numbers" if need_label else
                                               " (a 1-based column number)") + delimiter_hint(first_row))
        label = _pick(names, label_column, (), "label", path)
        text = _pick(names, text_column, (), "text", path)
        title = _pick(names, title_column, (), "title", path)
        if text is None or (need_label and label is None):
            raise DataError(f"{path}: give --text-column" + (" and --label-column" if need_label else "")
                            + " as 1-based column numbers")
    if title == text:
        title = None
    if label is not None and label in (text, title):
        # Training would read the answer in the text: 100% validation accuracy and a useless model.
        names = first_row if header else [str(i + 1) for i in range(width)]
        role = "text" if label == text else "title"
        raise DataError(f"{path}: the label and the {role} are the same column ({names[label]}); name them apart "
                        f"with --label-column and --{role}-column")
    return Columns(label, text, title, width), header


def width_error(src: str, line: int, found: int, width: int, like: str = "the first row",
                row: Sequence[str] = ()) -> DataError:
    """The one message for a record with another number of fields than the table's; a record whose
    fields hold tabs (a tab-separated file read with commas) names --delimiter tab."""
    tabs = "; its fields hold tabs: a tab-separated file? give --delimiter tab" if any("\t" in f for f in row) else ""
    return DataError(f"{src}:{line}: {found} field{'' if found == 1 else 's'}, expected {width} as in {like}; "
                     "check the quoting and the delimiter" + tabs)


def rectangular(rows: Iterator[tuple[int, list[str]]], width: int, src: str,
                like: str = "the first row") -> Iterator[tuple[int, list[str]]]:
    for line, row in rows:
        if len(row) != width:
            raise width_error(src, line, len(row), width, like, row)
        yield line, row


@dataclass
class Table:
    """A CSV/TSV file opened as a table: ``rows`` yields (line, fields) of each data record (the first
    record too when there is no header), every one as wide as the first record. A JSON Lines or
    fastText file (``formats``) is a table too: its header is the first object's keys (``label``,
    ``text`` for fastText), and its rows hold text in the columns that are read."""

    path: str
    header: list[str] | None
    columns: Columns
    first_line: int
    rows: Generator[tuple[int, list[str]], None, None]
    format: str = file_formats.CSV
    delimiter: str = ","
    quoting: str = "csv"

    def text(self, row: Sequence[str]) -> str:
        return join_text(row, self.columns)


def table_records(path, delimiter: str | None = None, quoting: str | None = None,
                  formats: Sequence[str] = (file_formats.CSV,), found: dict | None = None, **read):
    """``reader.records`` of a table: a delimiter or quoting given means CSV/TSV with those; else the
    format is sniffed among ``formats`` and the delimiter and quoting follow the name or the first
    line (``formats.dialect``). ``found`` gets what was decided."""
    if delimiter or quoting:
        return records(path, delimiter=delimiter_for(path, delimiter), quoting=quoting_for(path, quoting),
                       found=found, **read)
    return records(path, delimiter=None, quoting=None, formats=formats, found=found, **read)


def open_table(path, *, header: bool | None = None, text_column: str | int | None = None,
               title_column: str | int | None = None, label_column: str | int | None = None,
               need_label: bool = False, delimiter: str | None = None, quoting: str | None = None,
               strict: bool = True, warn: Callable[[str], None] | None = None,
               on_bytes: Callable[[int], None] | None = None, opener: Callable | None = None,
               hint: str | None = None, encoding: str | None = None,
               formats: Sequence[str] = (file_formats.CSV,)) -> Table | None:
    """Open a table ('-' = stdin), its columns resolved from its first record; None for a file
    without records (empty, or blank lines only). ``formats``: the formats read (``data.formats``);
    a file of another is an error. Delimiter and quoting as ``table_records`` decides them."""
    src = source_name(path)
    found: dict = {}
    recs = table_records(path, delimiter, quoting, formats, found, strict=strict, warn=warn, on_bytes=on_bytes,
                         opener=opener, hint=hint, encoding=encoding)
    first = next(recs, None)
    if first is None:
        return None
    line, row = first
    fmt, dialect = found["format"], {"delimiter": found["delimiter"], "quoting": found["quoting"]}
    if fmt != file_formats.CSV:
        if header is False:
            raise DataError(f"{src}: --no-header is for CSV/TSV; this {fmt} file names its columns "
                            f"({', '.join(map(str, row))})")
        cols, _ = resolve_columns(row, src, True, text_column, title_column, label_column, need_label)
        used = {role: (i, row[i]) for role, i in (("label", cols.label), ("text", cols.text), ("title", cols.title))
                if i is not None}
        return Table(src, row, cols, line, file_formats.cells(recs, used, src), fmt, **dialect)
    cols, has_header = resolve_columns(row, src, header, text_column, title_column, label_column, need_label)
    rows = rectangular(recs, len(row), src, "the header" if has_header else "the first row")
    if has_header:
        return Table(src, row, cols, line, rows, **dialect)
    return Table(src, None, cols, line, _chain(first, rows), **dialect)


def _chain(first, rows):
    yield first
    yield from rows
