"""Writers on the scorer's output: one line per input line (labels, top-k, probabilities, JSON
lines, TSV, CSV), and tables (every input column kept, prediction columns appended), written to
stdout or atomically to a file.

A document without text (a blank line, an empty text cell) gets an empty answer in its place
(``null`` in JSON lines), so output rows stay aligned with input rows.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

from ..classifier import top_labels
from ..errors import DataError
from ..files import atomic_path

FORMATS = ("text", "tsv", "jsonl", "csv")
PROB_DIGITS = 6  # probability columns of tables


class LineFormatter:
    """One output line per document, in one of FORMATS; ``k`` labels best first, those below
    ``threshold`` left out, with ``prob`` each label's probability (``digits`` decimals)."""

    def __init__(self, labels: Sequence[str], fmt: str = "text", k: int = 1, prob: bool = False,
                 threshold: float = 0.0, digits: int = 4):
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}")
        self.labels, self.fmt, self.k, self.prob, self.threshold = list(labels), fmt, k, prob, threshold
        self.digits = digits

    def empty(self) -> str:
        return "null" if self.fmt == "jsonl" else ""

    def lines(self, probs: np.ndarray) -> list[str]:
        """One line per row of ``probs``."""
        names, ps = top_labels(probs, self.labels, self.k, self.threshold)
        return [self._one(n, [float(p) for p in row]) for n, row in zip(names, ps)]

    def batch(self, n: int, live: Sequence[int], probs: np.ndarray) -> list[str]:
        """``n`` lines: those at ``live`` from ``probs`` (one row each), the others empty."""
        out = [self.empty()] * n
        for i, line in zip(live, self.lines(probs)):
            out[i] = line
        return out

    def _one(self, labels: list[str], ps: list[float]) -> str:
        if self.fmt == "jsonl":
            if self.k == 1:
                d = {"label": labels[0] if labels else None}
                if self.prob:
                    d["prob"] = round(ps[0], self.digits) if ps else None
            else:
                d = {"labels": labels}
                if self.prob:
                    d["probs"] = [round(p, self.digits) for p in ps]
            return json.dumps(d, ensure_ascii=False)
        fields: list[str] = []
        for name, p in zip(labels, ps):
            fields.append(name)
            if self.prob:
                fields.append(f"{p:.{self.digits}f}")
        if self.fmt == "text":
            return " ".join(fields)
        if self.fmt == "tsv":
            return "\t".join(fields)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(fields)
        return buf.getvalue()


# --------------------------------------------------------------------------- tables


def prediction_columns(labels: Sequence[str], k: int = 1, prob: bool = False) -> list[str]:
    """The columns a scored table gains: ``label`` (or ``label_1``..``label_k``), then with ``prob``
    one ``prob_<class>`` column per class."""
    k = min(k, len(labels))
    names = ["label"] if k == 1 else [f"label_{i}" for i in range(1, k + 1)]
    return names + ([f"prob_{n}" for n in labels] if prob else [])


def format_prob(p: float) -> str:
    """A probability cell: 6 decimals; empty for a document without text (NaN)."""
    return f"{p:.{PROB_DIGITS}f}" if p == p else ""


class TableWriter:
    """CSV/TSV rows (``\n`` line ends): each input row with its prediction cells appended
    (``prediction_columns``), empty cells for a row without text. Written with the input's quoting:
    "csv" quotes a field where needed, "none" writes fields as they are (quotes are text)."""

    def __init__(self, f, labels: Sequence[str], delimiter: str = ",", prob: bool = False, quoting: str = "csv"):
        self.labels, self.prob = list(labels), prob
        style = {"quoting": csv.QUOTE_NONE, "quotechar": None} if quoting == "none" else {}
        self.writer = csv.writer(f, delimiter=delimiter, lineterminator="\n", **style)
        self.blank = [""] * (1 + (len(self.labels) if prob else 0))

    def header(self, header: list[str]) -> list[str]:
        return header + prediction_columns(self.labels, 1, self.prob)

    def scored(self, rows: Sequence[list[str]], live: Sequence[int], probs: np.ndarray) -> list[list[str]]:
        """``rows`` with their cells appended: those at ``live`` from ``probs`` (one row each)."""
        extra = [self.blank] * len(rows)
        best = top_labels(probs, self.labels, 1)[0]
        for i, label, p in zip(live, best, probs):
            extra[i] = label + ([format_prob(v) for v in p] if self.prob else [])
        return [row + e for row, e in zip(rows, extra)]

    def write(self, rows) -> None:
        try:
            self.writer.writerows(rows)
        except csv.Error as e:  # under quoting "none" a cell cannot hold the delimiter or a line end
            raise DataError(f"cannot write a table cell without quoting ({e}); use CSV quoting") from None


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
