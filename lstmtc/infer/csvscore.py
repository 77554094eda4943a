"""Batch scoring of CSV/TSV files: every input column and row kept, predictions appended.

Rows are streamed in chunks (memory stays bounded whatever the file size); output to a file goes
to a temporary file beside it that is renamed only when every row is written.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_path
from .data import Columns, delimiter_for, join_text, resolve_columns
from .errors import DataError

csv.field_size_limit(2**31 - 1)


@dataclass
class CsvSpec:
    path: str  # "-" for stdin
    text_column: str | int | None = None
    title_column: str | int | None = None
    header: bool | None = None
    delimiter: str | None = None


class _CountingReader(io.RawIOBase):
    """Counts bytes as the csv reader consumes them, for a byte-based progress bar."""

    def __init__(self, raw, on_bytes):
        self.raw, self.on_bytes = raw, on_bytes

    def readable(self):
        return True

    def readinto(self, b):
        n = self.raw.readinto(b)
        if n:
            self.on_bytes(n)
        return n


def open_text(path: str, strict: bool, on_bytes: Callable[[int], None] | None = None):
    if path == "-":
        raw = sys.stdin.buffer
    else:
        try:
            raw = open(path, "rb")
        except FileNotFoundError:
            raise DataError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise DataError(f"{path}: is a directory") from None
    if on_bytes:
        raw = io.BufferedReader(_CountingReader(raw, on_bytes), 1 << 16)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict" if strict else "replace", newline="")


def csv_chunks(spec: CsvSpec, chunk_rows: int, strict: bool = False,
               on_bytes: Callable[[int], None] | None = None) -> Iterator:
    """Yield ("header", row) once if there is a header, then ("rows", [(line, row), ...], texts)."""
    src = "<stdin>" if spec.path == "-" else spec.path
    f = open_text(spec.path, strict, on_bytes)
    delim = delimiter_for(spec.path, spec.delimiter)
    reader = csv.reader(f, delimiter=delim)
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
    except UnicodeDecodeError as e:
        raise DataError(f"{src}:{start}: not valid UTF-8 ({e.reason}); re-encode it or drop --strict") from None
    except csv.Error as e:
        raise DataError(f"{src}:{start}: malformed CSV ({e})") from None
    finally:
        if spec.path != "-":
            f.close()


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
    """stdout, or a temporary file renamed over ``out`` only on success."""
    if out is None or out == "-":
        yield sys.stdout
        return
    path = Path(out)
    if path.parent and not path.parent.exists():
        raise DataError(f"{out}: directory {path.parent} does not exist")
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding=encoding, newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
