"""``score``: the one scorer mapped over the partitions of a dask DataFrame.

Each partition is scored in batches of ``batch_size`` rows, the blank ones left out: the same
batches as single-machine mode makes of the same file, so the very same onnxruntime calls produce
the probabilities (and the same bytes once written).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ...classifier import top_labels
from ...data.writers import prediction_columns
from ...errors import DataError
from ...scoring.scorer import DEFAULT_BATCH, Scorer, batched
from . import deps
from .models import BundleRef, bundle_ref, classifier_for


def _as_text(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, str):
        return v
    try:
        import pandas as pd

        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


def _texts(df, text_column, title_column) -> list[str]:
    """Each row's document: title + " " + text as in single-machine mode; a missing value is empty."""
    texts = [_as_text(v) for v in df[text_column].tolist()]
    if title_column is not None:
        texts = [_as_text(t) + " " + x for t, x in zip(df[title_column].tolist(), texts)]
    return texts


def _append(df, probs: np.ndarray, labels: Sequence[str], k: int, prob: bool, prefix: str = ""):
    """``df`` with the prediction columns; ``probs`` has NaN rows for the documents without text."""
    import pandas as pd

    out = df.copy()
    names = prediction_columns(labels, k, prob, prefix)
    k = min(k, len(labels))
    live = ~np.isnan(probs[:, 0]) if len(labels) else np.zeros(len(df), dtype=bool)
    ranked = iter(top_labels(probs[live], labels, k)[0])
    best = [next(ranked) if ok else [""] * k for ok in live.tolist()]
    for j in range(k):
        out[names[j]] = pd.Series([b[j] for b in best], index=df.index, dtype=object)
    if prob:
        for j, name in enumerate(names[k:]):
            out[name] = pd.Series(probs[:, j], index=df.index, dtype=np.float32)
    return out


def _score_partition(df, ref: BundleRef, files, text_column, title_column, k: int, prob: bool, batch_size: int,
                     prefix: str = ""):
    scorer = Scorer(classifier_for(ref, files), batch_size)
    batches = [scorer.score(b).dense() for b in batched(_texts(df, text_column, title_column), scorer.window)]
    probs = np.concatenate(batches) if batches else np.zeros((0, len(ref.labels)), dtype=np.float32)
    return _append(df, probs, ref.labels, k, prob, prefix)


def score(ddf, bundle: str | os.PathLike | None = None, *, text_column, title_column=None, k: int = 1,
          prob: bool = False, precision: str | None = None, threads: int | None = 1,
          batch_size: int = DEFAULT_BATCH, ship: bool = True, storage_options: dict | None = None):
    """Score a dask DataFrame lazily: every input column, then ``label`` (``label_1``..``label_k``
    best first for k > 1), then with ``prob`` one float32 ``prob_<class>`` column per class.

    ``bundle``: a bundle directory, an fsspec URL of one, or None for the model shipped with lstmtc.
    ``text_column`` (and ``title_column``, joined in front as title + " " + text) name columns of
    ``ddf``; missing values count as empty, and a blank document gets an empty label and NaN
    probabilities. ``threads``: cores per worker, each scoring a chunk of a partition (1 suits one
    worker process per core). ``ship``: send the bundle's files with the graph (True) or let workers open
    ``bundle`` themselves (False; shared storage or a URL). Read string columns with
    ``dtype=str, keep_default_na=False`` to keep values exactly as in the file. (A shipped bundle
    of several MB makes distributed warn "Sending large graph" once; it is sent once, not per task.)
    """
    deps.dask_dataframe()
    if k < 1:
        raise ValueError("k must be at least 1")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    columns = list(ddf.columns)
    for role, col in (("text", text_column), ("title", title_column)):
        if col is not None and col not in columns:
            raise DataError(f"no {role} column {col!r}; the columns are: {', '.join(map(str, columns))}")
    if title_column == text_column:
        title_column = None
    ref, files = bundle_ref(bundle, precision, threads, ship, storage_options)
    clash = [c for c in prediction_columns(ref.labels, k, prob) if c in columns]
    if clash:
        raise DataError(f"the input already has column(s) {', '.join(map(repr, clash))}, which scoring adds; "
                        "rename them first")
    return score_partitions(ddf, ref, files, text_column, title_column, k, prob, batch_size)


def score_partitions(ddf, ref: BundleRef, files: dict[str, bytes] | None, text_column, title_column, k: int,
                     prob: bool, batch_size: int, prefix: str = ""):
    """``score`` without its checks: the lazy map_partitions."""
    payload = None
    if files is not None:
        import dask

        payload = dask.delayed(files, pure=True)  # one key: each worker fetches it once and keeps it
    meta = _append(ddf._meta, np.zeros((0, len(ref.labels)), dtype=np.float32), ref.labels, k, prob, prefix)
    return ddf.map_partitions(_score_partition, ref, payload, text_column, title_column, k, prob, batch_size,
                              prefix, meta=meta, enforce_metadata=False)
