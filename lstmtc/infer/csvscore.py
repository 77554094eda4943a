"""Batch scoring of CSV/TSV files: every input column and row kept, predictions appended.

Rows are streamed in chunks (memory stays bounded whatever the file size); output to a file goes
to a temporary file beside it that is renamed only when every row is written.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .atomic import atomic_path
from .data import Columns, delimiter_for, join_text, resolve_columns
from .errors import DataError, reading
from .stream import Decoder

csv.field_size_limit(2**31 - 1)


@dataclass
class CsvSpec:
    path: str  # "-" for stdin
    text_column: str | int | None = None
    title_column: str | int | None = None
    header: bool | None = None
    delimiter: str | None = None


BOM = b"\xef\xbb\xbf"


def open_binary(path: str):
    """The raw bytes of ``path`` ('-' = stdin)."""
    if path == "-":
        return getattr(sys.stdin, "buffer", sys.stdin)
    with reading(path, "a CSV or TSV file"):
        return open(path, "rb")


def text_lines(raw: BinaryIO, decode: Decoder, on_bytes: Callable[[int], None] | None = None) -> Iterator[str]:
    """Physical lines of ``raw`` decoded one by one (line endings kept, so quoted newlines survive
    for the csv reader): invalid UTF-8 is replaced or refused by ``decode``, which names the line;
    a UTF-8 byte-order mark at the start is dropped."""
    for line_no, line in enumerate(raw, 1):
        if on_bytes:
            on_bytes(len(line))
        if line_no == 1 and line.startswith(BOM):
            line = line[len(BOM):]
        yield decode(line, line_no)


def csv_chunks(spec: CsvSpec, chunk_rows: int, strict: bool = False,
               on_bytes: Callable[[int], None] | None = None,
               warn: Callable[[str], None] | None = None) -> Iterator:
    """Yield ("header", row, cols) or ("noheader", row, cols) once, then ("rows", [(line, row), ...], texts).

    Invalid UTF-8 becomes U+FFFD with one call of ``warn`` naming the first bad line, or with
    ``strict`` a DataError naming it."""
    src = "<stdin>" if spec.path == "-" else spec.path
    raw = open_binary(spec.path)
    delim = delimiter_for(spec.path, spec.delimiter)
    reader = csv.reader(text_lines(raw, Decoder(src, strict, warn), on_bytes), delimiter=delim)
    start = 1
    try:
        try:
            first = next(reader)
        except StopIteration:
            return
        cols, has_header = resolve_columns(first, src, spec.header, spec.text_column, spec.title_column, None,
                                           need_label=False)
        if has_header:
            yield "header", first, cols
            pending = []
        else:
            yield "noheader", first, cols
            pending = [(1, first)]
        start = reader.line_num + 1
        need = max(cols.text, cols.title if cols.title is not None else -1) + 1
        for row in reader:
            pending.append((start, row))
            start = reader.line_num + 1
            if len(pending) >= chunk_rows:
                yield "rows", pending, _texts(pending, cols, need, src)
                pending = []
        if pending:
            yield "rows", pending, _texts(pending, cols, need, src)
    except csv.Error as e:
        raise DataError(f"{src}:{start}: malformed CSV ({e})") from None
    finally:
        if spec.path != "-":
            raw.close()


def scored_rows(clf, spec: CsvSpec, chunk_rows: int, prob: bool = False, strict: bool = False,
                on_bytes: Callable[[int], None] | None = None,
                warn: Callable[[str], None] | None = None) -> Iterator[list[list[str]]]:
    """Output rows, a chunk at a time: every input row with the predicted label appended (and with
    ``prob`` one probability column per class); an empty text gets empty cells. The header row (if
    any) comes with the first chunk, so an error in the first chunk leaves no output at all."""
    labels = clf.labels
    blank = [""] * (1 + (len(labels) if prob else 0))
    header: list[list[str]] = []
    for kind, *rest in csv_chunks(spec, chunk_rows, strict, on_bytes, warn):
        if kind == "header":
            header = [rest[0] + ["label"] + ([f"prob_{n}" for n in labels] if prob else [])]
            continue
        if kind == "noheader":
            continue
        rows, texts = rest
        live = [i for i, t in enumerate(texts) if t is not None]
        extra = [blank] * len(rows)
        if live:
            for i, p in zip(live, clf.predict_proba([texts[i] for i in live])):
                extra[i] = [labels[int(p.argmax())]] + ([f"{v:.6f}" for v in p] if prob else [])
        yield header + [row + e for (_, row), e in zip(rows, extra)]
        header = []
    if header:
        yield header


def _texts(rows, cols: Columns, need: int, src: str) -> list[str | None]:
    out = []
    for line, row in rows:
        if not row:
            out.append(None)
            continue
        if len(row) < need:
            raise DataError(f"{src}:{line}: {len(row)} fields, but the text column is number {cols.text + 1}; "
                            "check quoting and the delimiter")
        text = join_text(row, cols)
        out.append(text if text.strip() else None)
    return out


@contextmanager
def output_stream(out: str | None, encoding: str = "utf-8"):
    """stdout, or a temporary file renamed over ``out`` only on success (on failure an existing
    ``out`` is left as it was)."""
    if out is None or out == "-":
        yield sys.stdout
        return
    path = Path(out)
    if not path.parent.is_dir():
        raise DataError(f"{out}: directory {path.parent} does not exist")
    if path.is_dir():
        raise DataError(f"{out}: is a directory; give a file name to write to")
    with ExitStack() as stack:
        try:
            tmp = stack.enter_context(atomic_path(path))
        except OSError as e:
            raise DataError(f"{out}: cannot create a file beside it ({e.strerror})") from None
        with open(tmp, "w", encoding=encoding, newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
