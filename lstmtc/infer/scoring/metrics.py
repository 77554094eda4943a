"""Accuracy, per-class precision/recall/F1 and the confusion matrix with numpy alone: the one metrics
stack of every verb (training's validation, ``classify --eval``, ``lstmtc-evaluate``), torch- and
scikit-learn-free, tested against scikit-learn (tests/test_metrics.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(gold: Sequence[int], pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes (scikit-learn's layout)."""
    g = np.asarray(gold, dtype=np.int64).ravel()
    p = np.asarray(pred, dtype=np.int64).ravel()
    if g.shape != p.shape:
        raise ValueError(f"gold and pred differ in length ({g.size} and {p.size})")
    for name, a in (("gold", g), ("pred", p)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise ValueError(f"{name} holds a class index outside 0..{n_classes - 1}")
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (g, p), 1)
    return m


def report(gold: Sequence[int], pred: Sequence[int], labels: Sequence[str]) -> dict:
    cm = confusion_matrix(gold, pred, len(labels))
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    n = int(cm.sum())
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1-score": float(f), "support": int(s)}
        for name, p, r, f, s in zip(labels, precision, recall, f1, support)
    }
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "per_class": per_class,
        "macro_f1": float(f1.mean()),
        "confusion_matrix": cm.tolist(),
        "labels": list(labels),
    }


def classification_report(r: dict) -> dict:
    """``report``'s figures in the shape of scikit-learn's ``classification_report(output_dict=True)``
    (every class, "accuracy", "macro avg", "weighted avg"), as lstmtc-evaluate's metrics.json holds."""
    per = r["per_class"]
    support = np.array([m["support"] for m in per.values()], dtype=float)
    out: dict = {name: {**m, "support": float(m["support"])} for name, m in per.items()}
    out["accuracy"] = r["accuracy"]
    for avg, weights in (("macro avg", None), ("weighted avg", support if support.sum() else None)):
        out[avg] = {key: float(np.average([m[key] for m in per.values()], weights=weights))
                    for key in ("precision", "recall", "f1-score")}
        out[avg]["support"] = float(support.sum())
    return out
