"""Evaluation report: accuracy, scikit-learn's classification report, confusion matrix (table,
normalized PNG and JSON) for a checkpoint or an exported bundle."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from lstmtc.infer.atomic import atomic_path, atomic_write_text
from lstmtc.infer.data import read_labelled


def _is_bundle(path: Path) -> bool:
    return path.is_dir() and (path / "bundle.json").exists()


def predict_file(model_path, data_path, read_options: dict | None = None, batch_size: int = 1024):
    """(gold, pred, labels, kind) for a labelled file scored by a checkpoint or a bundle."""
    path = Path(model_path)
    opts = {k: v for k, v in (read_options or {}).items() if k != "label_names"}
    if _is_bundle(path):
        from lstmtc.infer.classifier import Classifier

        clf = Classifier.load(path)
        data = read_labelled(data_path, clf.bundle.labelset, **opts)
        pred = clf.logits(data.texts, batch_size).argmax(1)
        return np.asarray(data.labels), pred, clf.labels, "bundle"
    import torch

    from .checkpoint import labelset_from_checkpoint, model_from_checkpoint, pipeline_from_checkpoint, read_checkpoint

    ckpt = read_checkpoint(path)
    model, pipeline = model_from_checkpoint(ckpt), pipeline_from_checkpoint(ckpt)
    labelset = labelset_from_checkpoint(ckpt)
    data = read_labelled(data_path, labelset, **opts)
    preds = []
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            preds.append(model(torch.from_numpy(pipeline(data.texts[i:i + batch_size]))).argmax(1).numpy())
    return np.asarray(data.labels), np.concatenate(preds), list(labelset.names), "checkpoint"


def evaluate_model(model_path, data_path, read_options: dict | None = None) -> dict:
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    gold, pred, labels, kind = predict_file(model_path, data_path, read_options)
    idx = list(range(len(labels)))
    return {
        "model": str(model_path),
        "model_kind": kind,
        "data": str(data_path),
        "n": int(len(gold)),
        "accuracy": float(accuracy_score(gold, pred)),
        "labels": labels,
        "classification_report": classification_report(gold, pred, labels=idx, target_names=labels,
                                                        output_dict=True, zero_division=0),
        "confusion_matrix": confusion_matrix(gold, pred, labels=idx).tolist(),
    }


def plot_confusion(result: dict, path: str | os.PathLike) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    cm = np.asarray(result["confusion_matrix"], dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(result["labels"]), 1.2 + 1.0 * len(result["labels"])))
    ConfusionMatrixDisplay(norm, display_labels=result["labels"]).plot(ax=ax, cmap="Blues", values_format=".2f",
                                                                       colorbar=False)
    ax.set_title(f"normalized confusion matrix (N={result['n']}, acc {result['accuracy'] * 100:.2f}%)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def report(result: dict, out_dir=None, console=None) -> None:
    """Print rich tables; with ``out_dir`` also write metrics.json and confusion_matrix.png."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    console.print(f"[bold]{result['model']}[/bold] on {result['data']}: N={result['n']}  "
                  f"accuracy {result['accuracy'] * 100:.2f}%")
    t = Table(title="classification report")
    for col in ("class", "precision", "recall", "f1-score", "support"):
        t.add_column(col, justify="left" if col == "class" else "right")
    rep = result["classification_report"]
    for name in result["labels"] + ["macro avg", "weighted avg"]:
        r = rep[name]
        t.add_row(name, f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1-score']:.4f}", str(int(r["support"])))
    console.print(t)
    cm = Table(title="confusion matrix (rows: true, columns: predicted)")
    cm.add_column("")
    for name in result["labels"]:
        cm.add_column(name, justify="right")
    for name, row in zip(result["labels"], result["confusion_matrix"]):
        cm.add_row(name, *(str(v) for v in row))
    console.print(cm)
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "metrics.json", json.dumps(result, indent=1) + "\n")
        plot_confusion(result, out / "confusion_matrix.png")
        console.print(f"wrote {out / 'metrics.json'} and {out / 'confusion_matrix.png'}")
