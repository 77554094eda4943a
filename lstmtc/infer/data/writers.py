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
from contextlib import contextmanager

import numpy as np

from ..classifier import top_labels
from ..errors import DataError
from ..files import atomic_open, writing

FORMATS = ("text", "tsv", "jsonl", "csv")
PROB_DIGITS = 6  # probability columns of tables


def placed(n: int, live: Sequence[int], values: Sequence, empty) -> list:
    """``n`` outputs: ``values`` at the positions ``live`` (the documents with text, in order), ``empty``
    at the others, so output rows stay aligned with input rows."""
    out = [empty] * n
    for i, value in zip(live, values):
        out[i] = value
    return out


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
        if self.fmt == "text" and self.k == 1 and not self.prob and self.threshold <= 0:
            # The default output: the best class's name. argmax takes the first of tied classes,
            # as top_labels' stable sort does.
            return [self.labels[i] for i in probs.argmax(1).tolist()]
        names, ps = top_labels(probs, self.labels, self.k, self.threshold)
        return [self._one(n, [float(p) for p in row]) for n, row in zip(names, ps)]

    def batch(self, n: int, live: Sequence[int], probs: np.ndarray) -> list[str]:
        """``n`` lines: those at ``live`` from ``probs`` (one row each), the others empty."""
        return placed(n, live, self.lines(probs), self.empty())

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


def prediction_columns(labels: Sequence[str], k: int = 1, prob: bool = False, prefix: str = "") -> list[str]:
    """The columns a scored table gains: ``label`` (or ``label_1``..``label_k``), then with ``prob``
    one ``prob_<class>`` column per class; each name after ``prefix`` (``--output-prefix``)."""
    k = min(k, len(labels))
    names = ["label"] if k == 1 else [f"label_{i}" for i in range(1, k + 1)]
    return [prefix + n for n in names + ([f"prob_{n}" for n in labels] if prob else [])]


def format_prob(p: float) -> str:
    """A probability cell: 6 decimals; empty for a document without text (NaN)."""
    return f"{p:.{PROB_DIGITS}f}" if p == p else ""


class TableWriter:
    """CSV/TSV rows (``\n`` line ends): each input row with its prediction cells appended
    (``prediction_columns``), empty cells for a row without text. Written with the input's quoting:
    "csv" quotes a field where needed, "none" writes fields as they are (quotes are text)."""

    def __init__(self, f, labels: Sequence[str], delimiter: str = ",", prob: bool = False, quoting: str = "csv",
                 prefix: str = ""):
        self.labels, self.prob, self.prefix = list(labels), prob, prefix
        style = {"quoting": csv.QUOTE_NONE, "quotechar": None} if quoting == "none" else {}
        self.writer = csv.writer(f, delimiter=delimiter, lineterminator="\n", **style)
        self.blank = [""] * (1 + (len(self.labels) if prob else 0))

    def header(self, header: list[str]) -> list[str]:
        return header + prediction_columns(self.labels, 1, self.prob, self.prefix)

    def scored(self, rows: Sequence[list[str]], live: Sequence[int], probs: np.ndarray) -> list[list[str]]:
        """``rows`` with their cells appended: those at ``live`` from ``probs`` (one row each)."""
        best = top_labels(probs, self.labels, 1)[0]
        cells = [label + ([format_prob(v) for v in p] if self.prob else []) for label, p in zip(best, probs)]
        return [row + e for row, e in zip(rows, placed(len(rows), live, cells, self.blank))]

    def write(self, rows) -> None:
        try:
            self.writer.writerows(rows)
        except csv.Error as e:  # under quoting "none" a cell cannot hold the delimiter or a line end
            raise DataError(f"cannot write a table cell without quoting ({e}); use CSV quoting") from None


@contextmanager
def output_stream(out: str | None, encoding: str = "utf-8"):
    """stdout, or ``out`` written by ``files.atomic_path``: a temporary file renamed over it only on
    success (on failure an existing ``out`` is left as it was), a device or FIFO written through.
    Errors of writing are one-line ``OutputError``s naming ``out``."""
    if out is None or out == "-":
        with writing("stdout"):
            yield sys.stdout
        return
    with atomic_open(out, "w", encoding=encoding, newline="") as f:
        yield f


def check_columns(header: Sequence[str] | None, labels: Sequence[str], k: int = 1, prob: bool = False,
                  where: str = "the input", prefix: str = "") -> None:
    """Refuse a table whose header already has a column the output would add (``label``,
    ``prob_<class>``): the scored table would hold two columns of that name."""
    if header is None:
        return
    taken = sorted(set(header) & set(prediction_columns(labels, k, prob, prefix)))
    if taken:
        raise DataError(f"{where} already has the column{'s' * (len(taken) > 1)} {', '.join(taken)} that scoring "
                        f"adds; name the added columns apart with --output-prefix (e.g. {prefix or ''}pred_)")
