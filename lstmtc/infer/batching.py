"""The one place documents (token or id lists) become logits: batches of ``batch_size`` documents, each run through
the model in one call. A length-aware model (bundle format 2) gets its documents sorted by length
first, so each batch runs at about its own documents' length instead of the longest of a random
batch; the logits go back to the input order. A fixed-width model (format 1) is run in input
order, every batch at the bundle's ``max_tokens``, exactly as before length-aware models existed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import ceil

import numpy as np

Tokens = Sequence[Sequence]  # token lists, or the same looked up (id lists)


def run_batches(tokens: Tokens, batch_size: int | None, *, vectorize: Callable[[Tokens], np.ndarray],
                run: Callable[..., np.ndarray], classes: int,
                lengths: Callable[[Tokens], np.ndarray] | None = None, sort: bool = True) -> np.ndarray:
    """(len(tokens), classes) logits in input order.

    ``vectorize`` turns a batch's token (or id) lists into the model's input array; ``run`` scores
    them (``run(ids)``, or ``run(ids, lengths)`` when ``lengths`` is given: the model is
    length-aware). ``sort`` orders a length-aware model's documents by length before batching
    (stable, so equal lengths keep their order); the logits are the same either way, only the
    time differs.
    """
    n = len(tokens)
    if n == 0:
        return np.zeros((0, classes), dtype=np.float32)
    size = batch_size or n
    if lengths is None:
        parts = [run(vectorize(tokens[i:i + size])) for i in range(0, n, size)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    lens = lengths(tokens)
    order = np.argsort(lens, kind="stable") if sort else np.arange(n)
    out = None
    for i in range(0, n, size):
        idx = order[i:i + size]
        logits = run(vectorize([tokens[j] for j in idx]), lens[idx])
        if out is None:
            out = np.empty((n, logits.shape[1]), dtype=logits.dtype)
        out[idx] = logits
    return out


def chunk_bounds(n: int, batch_size: int, parts: int) -> list[tuple[int, int]]:
    """At most ``parts`` contiguous ``(start, stop)`` ranges covering ``range(n)``, each a whole
    number of batches (the last may end short), as even as that allows. Scoring the ranges
    separately keeps every batch a fixed-width model sees what it would be in one pass."""
    batches = ceil(n / batch_size) if n else 0
    per = ceil(batches / parts) if batches else 1
    step = per * batch_size
    return [(i, min(i + step, n)) for i in range(0, n, step)]
