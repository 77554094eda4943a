"""The one scoring path: documents -> batches -> probabilities. Every verb that scores text
(line mode, CSV/TSV tables, the Dask partitions, the stage benchmark) goes through ``Scorer``.

A batch is scored with one onnxruntime call: tokenize -> vectorize -> run -> softmax, each step an
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

from ..classifier import Classifier, softmax

T = TypeVar("T")


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

    def __init__(self, clf: Classifier):
        self.labels = clf.labels
        self.tokenize = clf.pipeline.model_tokens
        self.vectorize = clf.pipeline.ids
        self.run = clf.logits_ids
        self.softmax = softmax

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), classes) logits, in one call."""
        return self.run(self.vectorize(self.tokenize(texts)))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), classes) probabilities of documents that all have text, in one call."""
        return self.softmax(self.logits(texts))

    def classes(self, texts: Sequence[str]) -> np.ndarray:
        """The most likely class index of each document, in one call."""
        return self.logits(texts).argmax(1)

    def score(self, texts: Sequence[str | None]) -> Scored:
        """One batch; documents without text keep their place and are not scored."""
        live = [i for i, t in enumerate(texts) if has_text(t)]
        if live:
            probs = self.probabilities([texts[i] for i in live])
        else:
            probs = np.zeros((0, len(self.labels)), dtype=np.float32)
        return Scored(len(texts), live, probs)
