"""One output line per input line, in the formats lstmtc-classify offers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import numpy as np

from .classifier import top_k

FORMATS = ("text", "tsv", "jsonl", "csv")


class LineFormatter:
    """Formats predictions; empty input lines become empty output lines (``null`` in JSONL,
    which keeps the file valid JSON Lines) so output rows stay aligned with input rows."""

    def __init__(self, labels: Sequence[str], fmt: str = "text", k: int = 1, prob: bool = False,
                 threshold: float = 0.0, digits: int = 4):
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}")
        self.labels, self.fmt, self.k, self.prob, self.threshold = list(labels), fmt, k, prob, threshold
        self.digits = digits

    def empty(self) -> str:
        return "null" if self.fmt == "jsonl" else ""

    def _p(self, p: float) -> str:
        return f"{p:.{self.digits}f}"

    def lines(self, probs: np.ndarray) -> list[str]:
        idx, top, keep = top_k(probs, self.k, self.threshold)
        names = self.labels
        out = []
        for row_i, row_p, row_k in zip(idx, top, keep):
            labels = [names[i] for i, kk in zip(row_i, row_k) if kk]
            ps = [float(p) for p, kk in zip(row_p, row_k) if kk]
            out.append(self._one(labels, ps))
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
                fields.append(self._p(p))
        if self.fmt == "text":
            return " ".join(fields)
        if self.fmt == "tsv":
            return "\t".join(fields)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(fields)
        return buf.getvalue()
