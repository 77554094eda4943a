"""The one scoring path: documents -> batches -> probabilities. Every verb that scores text
(line mode, CSV/TSV tables, the Dask partitions, the stage benchmark) goes through ``Scorer``.

The texts handed to ``score`` (a window: ``Scorer.window`` of them, or fewer when a stream pauses)
are tokenized and looked up in the vocabulary, then scored ``batch_size`` at a time with one onnxruntime call per batch
(``lstmtc.infer.batching``): for a length-aware model the window is sorted by length first and the
results put back in input order. Each step (tokenize -> vectorize -> run -> softmax) is an
attribute of the scorer, so a benchmark can time them by wrapping (``benchmarks/stages.py``).
Documents without text (None, empty or blank) are not scored; they keep their place in the batch,
so writers can give them an empty answer and keep the output aligned with the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

import numpy as np

from ..batching import run_batches
from ..classifier import Classifier, softmax

T = TypeVar("T")

# Documents per onnxruntime call (lstmtc-classify --batch-size): chosen by the batch-size x threads
# sweep in benchmarks (docs/benchmarks.md).
DEFAULT_BATCH = 64
# A length-aware model's scorer reads this many batches ahead (per thread) and sorts them by length:
# the more it sorts, the closer each batch's length to its own documents'. On AG News the LSTM steps
# over real tokens are 1.12x the real tokens for 8 batches, 1.03x for 32 (5% of the whole process
# at one thread). A stream that pauses is scored at once whatever it holds: no latency.
WINDOW_BATCHES = 32


# A window is also handed on once its texts hold this many characters: a document is held whole
# until it is tokenized, so long documents must not multiply memory by a window of thousands of
# lines (AG News's 4,096-line windows hold about 1 M characters).
WINDOW_CHARS = 1 << 24


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last may be shorter), in order."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def has_text(text: str | None) -> bool:
    return text is not None and bool(text.strip())


@dataclass
class Scored:
    """One batch: ``n`` documents, the indices of those with text (``live``) and their probabilities
    (``probs``, one row per live document, columns in the model's class order)."""

    n: int
    live: list[int]
    probs: np.ndarray

    def dense(self) -> np.ndarray:
        """(n, classes) float32, NaN rows for the documents without text."""
        out = np.full((self.n, self.probs.shape[1]), np.nan, dtype=np.float32)
        out[self.live] = self.probs
        return out


class Scorer:
    """A classifier's text path as replaceable steps."""

    def __init__(self, clf: Classifier, batch_size: int = DEFAULT_BATCH, sort: bool = True):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.labels = clf.labels
        self.batch_size = batch_size
        self.parallel = clf.threads
        self.map_chunks = clf.map_chunks
        self.sort = sort
        self.length_aware = clf.length_aware
        self.tokenize = clf.pipeline.model_ids  # tokenizer and vocabulary lookup
        self.vectorize = clf.pipeline.pad
        self.measure = clf.pipeline.lengths if clf.length_aware else None
        self.run = clf.logits_ids
        self.softmax = softmax

    @property
    def window(self) -> int:
        """How many texts a caller should hand to ``score`` at a time: a chunk for each of the
        classifier's threads (``Classifier.map_chunks``)."""
        per_chunk = self.batch_size * WINDOW_BATCHES if self.length_aware and self.sort else self.batch_size
        return per_chunk * self.parallel

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), classes) logits, one onnxruntime call per ``batch_size`` texts."""
        return self.map_chunks(self._chunk_logits, texts, self.batch_size)

    def _chunk_logits(self, texts: Sequence[str]) -> np.ndarray:
        return run_batches(self.tokenize(texts), self.batch_size, vectorize=self.vectorize, run=self.run,
                           classes=len(self.labels), lengths=self.measure, sort=self.sort)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), classes) probabilities of documents that all have text."""
        return self.softmax(self.logits(texts))

    def classes(self, texts: Sequence[str]) -> np.ndarray:
        """The most likely class index of each document."""
        return self.logits(texts).argmax(1)

    def score(self, texts: Sequence[str | None]) -> Scored:
        """One window; documents without text keep their place and are not scored."""
        live = [i for i, t in enumerate(texts) if has_text(t)]
        if live:
            probs = self.probabilities([texts[i] for i in live])
        else:
            probs = np.zeros((0, len(self.labels)), dtype=np.float32)
        return Scored(len(texts), live, probs)
