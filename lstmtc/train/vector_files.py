"""Word-vector text files: GloVe ``.txt`` ("word v1 ... vd" per line) or word2vec/fastText ``.vec``
(the same rows after a "COUNT DIM" header), optionally gzip-compressed, read streaming and parsed row
by row, so a malformed line is reported as ``path:line`` instead of as a numpy traceback from the
middle of a multi-GB file. Binary files published beside them are named, with the way to text."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lstmtc.infer.errors import LstmtcError

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER = re.compile(r"(\d+) (\d+)")
_MAX_INITIAL_ROWS = 65536  # a header's COUNT is only a hint: a bogus huge one must not allocate terabytes


class EmbeddingsError(LstmtcError):
    """Word vectors are missing, malformed or unknown; the message names the file and line."""


def read_text_vectors(path: Path) -> tuple[list[str], np.ndarray]:
    """(words, float32 matrix) of a GloVe/word2vec/fastText text file, maybe gzipped."""
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise EmbeddingsError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EmbeddingsError(f"{path}: is a directory, expected a word-vectors file (.txt/.vec, maybe .gz)") from None
    except OSError as e:
        raise EmbeddingsError(f"{path}: cannot read it ({e.strerror or e})") from None
    with raw:
        # By magic bytes, not by name: downloads are often renamed or decompressed without renaming.
        stream: BinaryIO = gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == _GZIP_MAGIC else raw
        with stream:
            _refuse_binary(stream.peek(_PEEK)[:_PEEK], path)
            return _parse_rows(_numbered_lines(stream, path), path)


_PEEK = 4096
_FASTTEXT_BIN_MAGIC = b"\xba\x16\x4f\x2f"  # 0x2F4F16BA, little-endian: a fastText model (.bin)


def _refuse_binary(head: bytes, path: Path) -> None:
    """The binary files people download beside the text vectors: named, with the way to text, instead
    of a row of raw float bytes quoted as a word."""
    if head.startswith(_FASTTEXT_BIN_MAGIC):
        raise EmbeddingsError(f"{path}: a fastText model (.bin), not text vectors; give its .vec file (the same "
                              "vectors as text), or write one with fastText's print-word-vectors")
    first, _, rest = head.partition(b"\n")
    try:
        rest.decode("utf-8")
    except UnicodeDecodeError as e:
        binary = e.start < len(rest) - 4  # not a character cut at the end of the peek
    else:
        binary = b"\x00" in rest
    if binary and _HEADER.fullmatch(first.decode("ascii", "replace").strip()):
        raise EmbeddingsError(f"{path}: word2vec's binary format (a 'COUNT DIM' header, then raw floats), not text; "
                              f"convert it with gensim: KeyedVectors.load_word2vec_format('{path}', binary=True)"
                              ".save_word2vec_format('vectors.txt')")


def _numbered_lines(stream: BinaryIO, path: Path) -> Iterator[tuple[int, str]]:
    """(line number, decoded line without its ending), skipping blank lines; decode errors name the line."""
    lineno = 0
    while True:
        try:
            data = stream.readline()
        except (OSError, EOFError, zlib.error) as e:
            raise EmbeddingsError(f"{path}:{lineno + 1}: corrupt or truncated gzip data ({e})") from None
        if not data:
            return
        lineno += 1
        try:
            # utf-8-sig on line 1 so a BOM does not become part of the first word.
            line = data.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as e:
            raise EmbeddingsError(
                f"{path}:{lineno}: not valid UTF-8 (byte {data[e.start]:#04x} at column {e.start + 1}); "
                "vectors files must be UTF-8"
            ) from None
        # Split on " " only: str.split() would also split on the non-breaking spaces inside some
        # fastText words. fastText rows end in a trailing space, hence the rstrip.
        line = line.rstrip("\r\n ")
        if line.strip():
            yield lineno, line


def _parse_rows(lines: Iterator[tuple[int, str]], path: Path) -> tuple[list[str], np.ndarray]:
    first = next(lines, None)
    if first is None:
        raise EmbeddingsError(f"{path}: no vectors in the file (it is empty or blank)")
    header = _HEADER.fullmatch(first[1])
    if header:
        # Detected by content, not by extension: people save word2vec files as .txt too.
        count, dim = int(header.group(1)), int(header.group(2))
        if dim == 0:
            raise EmbeddingsError(f"{path}:{first[0]}: the header says the vectors have 0 dimensions")
        expected = f"the header on line {first[0]} says {dim}"
        rows = _Rows(dim, capacity=min(count, _MAX_INITIAL_ROWS) or 1)
    else:
        lines = _chain(first, lines)
        dim = len(first[1].split(" ")) - 1
        if dim == 0:
            raise EmbeddingsError(f"{path}:{first[0]}: a word with no vector values")
        expected = f"line {first[0]} has {dim}"
        rows = _Rows(dim, capacity=1024)

    words: list[str] = []
    seen: set[str] = set()
    for lineno, line in lines:
        where = f"{path}:{lineno}"
        word, values = _split_row(line, dim, where, expected)
        if word in seen:
            continue  # keep the first occurrence: it is the more frequent spelling's vector
        seen.add(word)
        words.append(word)
        rows.append(_to_floats(values, word, where))
    if not words:
        raise EmbeddingsError(f"{path}: no vectors in the file (only a header)")
    return words, rows.finish()


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


def _split_row(line: str, dim: int, where: str, expected: str) -> tuple[str, list[str]]:
    """The last ``dim`` fields are the vector, the rest the word (some words contain spaces)."""
    fields = line.split(" ")
    word_parts = fields[:-dim]
    # Too few fields, or a "word" whose extra parts are all numbers ("cat 0.12"): a row with a
    # different dimension, not a word with a space in it.
    if len(fields) <= dim or (len(word_parts) > 1 and all(_is_number(p) for p in word_parts[1:])):
        raise EmbeddingsError(f"{where}: {fields[0][:40]!r} has {len(fields) - 1} values, but {expected}")
    return " ".join(word_parts), fields[-dim:]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _to_floats(values: list[str], word: str, where: str) -> np.ndarray:
    try:
        with np.errstate(over="ignore"):  # an overflow is reported below, with the line
            row = np.array(values, dtype=np.float32)
    except ValueError:
        bad = next(i for i, v in enumerate(values) if not _is_number(v))
        raise EmbeddingsError(f"{where}: value {bad + 1} of {word[:40]!r} is {values[bad][:40]!r}, "
                              "not a number") from None
    if not np.isfinite(row).all():
        # nan/inf (or a float32 overflow) would silently poison every gradient through that row.
        raise EmbeddingsError(f"{where}: {word!r} has a value that is not a finite float32 (nan, inf or too large)")
    return row


class _Rows:
    """A growable float32 matrix: rows are written in place, no list of per-row arrays to stack at the end."""

    def __init__(self, dim: int, capacity: int):
        self._data = np.empty((capacity, dim), dtype=np.float32)
        self._n = 0

    def append(self, row: np.ndarray) -> None:
        if self._n == len(self._data):
            # ndarray.resize reallocates in place where it can; doubling keeps appends amortised O(1).
            self._data.resize((2 * len(self._data), self._data.shape[1]), refcheck=False)
        self._data[self._n] = row
        self._n += 1

    def finish(self) -> np.ndarray:
        self._data.resize((self._n, self._data.shape[1]), refcheck=False)
        return self._data
