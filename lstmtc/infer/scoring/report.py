"""The one evaluation of a model on labelled data, shared by ``lstmtc-classify --eval`` and
``lstmtc-evaluate`` (same figures, same tables), torch- and scikit-learn-free: which columns to read
(the model's training columns where the file has them), predicting every document, and the
terminal report (N, accuracy, per-class precision/recall/F1/support, and the confusion matrix for
a few classes or the most-confused pairs for many).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..data.columns import KNOWN_NAMES, table_records
from ..data.formats import FORMATS
from ..data.labelled import labelled_batches
from ..errors import LstmtcError
from ..labels import LabelSet

ROLES = ("text", "title", "label")
# Up to this many classes the terminal shows the whole confusion matrix; beyond it a matrix
# no longer fits a terminal and the most-confused pairs say more.
FULL_MATRIX_MAX = 12
TOP_PAIRS = 15
BATCH = 1024  # documents per prediction call


# --------------------------------------------------------------------------- columns


def _is_number(column) -> bool:
    return isinstance(column, int) or (isinstance(column, str) and column.isdigit())


def first_row(path, delimiter: str | None = None, quoting: str | None = None,
              encoding: str | None = None) -> list[str] | None:
    """The first record of a labelled file, read by the one reader (a JSON Lines file's keys); None
    where it cannot be read (the full read that follows reports why, with its own message)."""
    rows = table_records(path, delimiter, quoting, FORMATS, encoding=encoding)
    try:
        first = next(rows, None)
    except LstmtcError:
        return None
    finally:
        rows.close()
    return first[1] if first else None


def with_model_columns(path: str | os.PathLike, options: dict, columns: dict | None) -> tuple[dict, dict]:
    """``read_labelled`` options for ``path``: ``options`` (what the command line gave; they win)
    completed with the model's training ``columns`` ({"text": ..., "title": ..., "label": ...})
    where the file has them. Returns (options, the columns taken from the model).

    A named column is taken when the file's first row holds that name (then it is a header). A
    numbered column (a headerless training file) is taken only when this file has no header
    either (``--no-header``, or a first row without known or named columns). Anything else is
    left to the usual detection."""
    columns = {role: columns.get(role) for role in ROLES} if isinstance(columns, dict) else {}
    missing = [r for r in ROLES if columns.get(r) is not None and options.get(f"{r}_column") is None]
    if not missing:
        return options, {}
    row = first_row(path, options.get("delimiter"), options.get("quoting"), options.get("encoding"))
    if row is None:
        return options, {}
    out, taken = dict(options), {}
    header = options.get("header")
    if header is not False:
        exact = set(row)
        lowered = {f.strip().lower() for f in row}
        for role in missing:
            name = str(columns[role])
            if not _is_number(name) and (name in exact or name.lower() in lowered):
                out[f"{role}_column"] = taken[role] = name
    named = any(isinstance(out.get(f"{r}_column"), str) and not _is_number(out.get(f"{r}_column")) for r in ROLES)
    headerless = header is False or (
        header is None and not named and not any(f.strip().lower() in KNOWN_NAMES for f in row)
    )
    if headerless:
        for role in missing:
            number = str(columns[role])
            if _is_number(number) and 1 <= int(number) <= len(row):
                out[f"{role}_column"] = taken[role] = number
    return out, taken


def describe_columns(taken: dict) -> str:
    """'text=body, label=intent' (in role order)."""
    return ", ".join(f"{r}={taken[r]}" for r in ROLES if r in taken)


# --------------------------------------------------------------------------- confusion


def confused_pairs(cm, labels: Sequence[str], top: int = TOP_PAIRS) -> list[dict]:
    """The ``top`` largest off-diagonal cells of confusion matrix ``cm`` (rows: true classes) as
    {"true", "predicted", "count", "share"} where share is count / documents of the true class;
    ties go to the larger share, then to class order."""
    m = np.asarray(cm, dtype=np.int64)
    support = m.sum(axis=1)
    off = m.copy()
    np.fill_diagonal(off, 0)
    rows, cols = np.nonzero(off)
    counts = off[rows, cols]
    shares = counts / np.maximum(support[rows], 1)
    order = np.lexsort((cols, rows, -shares, -counts))[:top]
    return [{"true": labels[rows[i]], "predicted": labels[cols[i]], "count": int(counts[i]),
             "share": float(shares[i])} for i in order]


def print_confusion(console, cm, labels: Sequence[str], full_matrix_note: str | None = None) -> None:
    """The confusion matrix as a table for up to FULL_MATRIX_MAX classes; beyond that the
    TOP_PAIRS most-confused pairs, with ``full_matrix_note`` saying where the whole matrix is."""
    from rich.markup import escape
    from rich.table import Table

    m = np.asarray(cm, dtype=np.int64)
    if len(labels) <= FULL_MATRIX_MAX:
        t = Table(title="confusion matrix (rows: true, columns: predicted)")
        t.add_column("")
        for name in labels:
            t.add_column(escape(name), justify="right")
        for name, row in zip(labels, m.tolist()):
            t.add_row(escape(name), *map(str, row))
        console.print(t)
        return
    pairs = confused_pairs(m, labels)
    if not pairs:
        console.print(f"no confusions: all {int(m.sum())} documents are classified correctly")
        return
    n_pairs = int(np.count_nonzero(m) - np.count_nonzero(np.diag(m)))
    wrong = int(m.sum() - np.trace(m))
    t = Table(title=f"most confused pairs (top {len(pairs)} of {n_pairs})")
    for col in ("true", "predicted", "count", "share of true"):
        t.add_column(col, justify="right" if col in ("count", "share of true") else "left")
    for p in pairs:
        t.add_row(escape(p["true"]), escape(p["predicted"]), str(p["count"]), f"{p['share'] * 100:.1f}%")
    console.print(t)
    line = f"{wrong} of {int(m.sum())} documents misclassified, {len(labels)} classes"
    console.print(escape(line + (f"; {full_matrix_note}" if full_matrix_note else "")), soft_wrap=True)


# --------------------------------------------------------------------------- the evaluation


@dataclass
class Evaluated:
    """A labelled file's classes and the model's prediction (class indices) for each of its documents."""

    gold: np.ndarray
    pred: np.ndarray
    labelset: LabelSet
    columns: dict  # the columns taken from the model ({} when the options named them all)


def evaluate_file(path, labelset: LabelSet, model_columns: dict | None, predict: Callable[[list[str]], np.ndarray],
                  read_options: dict | None = None, batch_size: int = BATCH) -> Evaluated:
    """Read labelled ``path`` onto the model's classes and predict every document, ``batch_size`` at a
    time with ``predict`` (texts -> class indices), keeping only the class indices: memory stays
    bounded whatever the file's size. Columns the options do not name come from the model's
    training columns (``model_columns``) where the file has them."""
    opts = {k: v for k, v in (read_options or {}).items() if k != "label_names"}
    opts, taken = with_model_columns(path, opts, model_columns)
    gold, pred = [], []
    for texts, labels in labelled_batches(path, labelset, batch_size, **opts):
        pred.append(np.asarray(predict(texts)))
        gold.append(np.asarray(labels, dtype=np.int64))
    return Evaluated(np.concatenate(gold), np.concatenate(pred), labelset, taken)


def print_report(console, n: int, accuracy: float, per_class: Mapping[str, Mapping], confusion,
                 labels: Sequence[str], full_matrix_note: str | None = None) -> None:
    """The terminal report: N and accuracy (tab-separated lines for scripts), the per-class table
    (``per_class``: name -> precision, recall, f1-score, support) and ``print_confusion``."""
    from rich.markup import escape
    from rich.table import Table

    console.file.write(f"N\t{n}\naccuracy\t{accuracy:.4f}\n")
    t = Table(title="per class")
    for col in ("class", "precision", "recall", "f1", "support"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for name in labels:
        m = per_class[name]
        t.add_row(escape(name), f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1-score']:.4f}",
                  str(int(m["support"])))
    console.print(t)
    print_confusion(console, confusion, labels, full_matrix_note)


def default_note(n_classes: int, where: str | os.PathLike | None) -> str:
    """Where the whole confusion matrix is, for the report of many classes."""
    return f"the full {n_classes}x{n_classes} matrix: " + (str(where) if where else "--out DIR writes it to "
                                                                                     "DIR/metrics.json")
