"""Evaluation report: accuracy, scikit-learn's classification report, confusion matrix (table,
normalized PNG and JSON) for a checkpoint or an exported bundle."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from lstmtc.infer.atomic import atomic_path, atomic_write_text
from lstmtc.infer.bundle import training_columns
from lstmtc.infer.data import read_labelled
from lstmtc.infer.evaluation import describe_columns, print_confusion, with_model_columns


def _is_bundle(path: Path) -> bool:
    return path.is_dir() and (path / "bundle.json").exists()


def _score(model_path, data_path, read_options: dict | None = None, batch_size: int = 1024) -> dict:
    """Score a labelled file with a checkpoint or a bundle. Columns the command line did not name
    come from the model's training columns where the file has them (``with_model_columns``)."""
    path = Path(model_path)
    opts = {k: v for k, v in (read_options or {}).items() if k != "label_names"}
    if _is_bundle(path):
        from lstmtc.infer.classifier import Classifier

        clf = Classifier.load(path)
        opts, taken = with_model_columns(data_path, opts, clf.bundle.columns)
        data = read_labelled(data_path, clf.bundle.labelset, **opts)
        pred = clf.logits(data.texts, batch_size).argmax(1)
        return {"gold": np.asarray(data.labels), "pred": pred, "labels": clf.labels, "kind": "bundle",
                "columns": taken}
    import torch

    from .checkpoint import labelset_from_checkpoint, model_from_checkpoint, pipeline_from_checkpoint, read_checkpoint

    ckpt = read_checkpoint(path)
    model, pipeline = model_from_checkpoint(ckpt), pipeline_from_checkpoint(ckpt)
    labelset = labelset_from_checkpoint(ckpt)
    opts, taken = with_model_columns(data_path, opts, training_columns(ckpt.get("read_options")))
    data = read_labelled(data_path, labelset, **opts)
    preds = []
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            preds.append(model(torch.from_numpy(pipeline(data.texts[i:i + batch_size]))).argmax(1).numpy())
    return {"gold": np.asarray(data.labels), "pred": np.concatenate(preds), "labels": list(labelset.names),
            "kind": "checkpoint", "columns": taken}


def predict_file(model_path, data_path, read_options: dict | None = None, batch_size: int = 1024):
    """(gold, pred, labels, kind) for a labelled file scored by a checkpoint or a bundle."""
    s = _score(model_path, data_path, read_options, batch_size)
    return s["gold"], s["pred"], s["labels"], s["kind"]


def evaluate_model(model_path, data_path, read_options: dict | None = None) -> dict:
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    s = _score(model_path, data_path, read_options)
    gold, pred, labels = s["gold"], s["pred"], s["labels"]
    idx = list(range(len(labels)))
    result = {
        "model": str(model_path),
        "model_kind": s["kind"],
        "data": str(data_path),
        "n": int(len(gold)),
        "accuracy": float(accuracy_score(gold, pred)),
        "labels": labels,
        "classification_report": classification_report(gold, pred, labels=idx, target_names=labels,
                                                        output_dict=True, zero_division=0),
        "confusion_matrix": confusion_matrix(gold, pred, labels=idx).tolist(),
    }
    if s["columns"]:
        result["columns_from_model"] = s["columns"]
    return result


# The PNG stays under ~2000 px a side at any class count: cells shrink with the class count (down to
# what a readable tick label needs), the per-cell numbers go when they no longer fit a cell (a
# colour bar reads the shares then), and very long class names are shortened on the axes.
DPI = 120
MAX_SIDE_IN = 16.5  # 1980 px at DPI
MAX_TICK_CHARS = 40


def _short(name: str) -> str:
    return name if len(name) <= MAX_TICK_CHARS else name[:MAX_TICK_CHARS - 1] + "\u2026"


def confusion_layout(labels) -> dict:
    """Figure size (inches), font sizes and whether the cells carry their numbers, for ``labels``."""
    n = len(labels)
    longest = max((len(_short(x)) for x in labels), default=1)

    def margin(font: float) -> float:  # room for the longest tick label plus axis padding, inches
        return 0.55 * font * longest / 72 + 0.5

    cell = 1.1
    font = 10.0
    for _ in range(3):  # cell size and font depend on each other; this settles in a step or two
        cell = min(1.1, (MAX_SIDE_IN - margin(font) - 1.2) / n)
        font = max(6.0, min(10.0, cell * 72 * 0.62))
    cell = max(cell, 0.05)
    values = cell * 72 >= 30  # "0.00" in a cell needs about this many points
    # Beyond ~120 classes even the smallest readable label is taller than a cell: label every k-th.
    step = max(1, math.ceil(font * 1.15 / (cell * 72)))
    side = n * cell
    width = min(MAX_SIDE_IN, max(3.6, margin(font) + side + (0.4 if values else 1.2)))  # 3.6: the title
    height = min(MAX_SIDE_IN, margin(font) + side + 0.9)
    return {"figsize": (width, height), "tick_font": font, "value_font": min(10.0, cell * 72 * 0.3),
            "values": values, "tick_step": step}


def plot_confusion(result: dict, path: str | os.PathLike) -> None:
    """The row-normalized confusion matrix (each row: how the documents of one true class were
    classified) as a PNG of at most ~2000 px a side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = result["labels"]
    n = len(labels)
    cm = np.asarray(result["confusion_matrix"], dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    lay = confusion_layout(labels)
    fig, ax = plt.subplots(figsize=lay["figsize"])
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    ticks = range(0, n, lay["tick_step"])
    names = [_short(labels[i]) for i in ticks]
    ax.set_xticks(ticks, names, rotation=90 if n > 4 or max(map(len, names)) > 12 else 0,
                  fontsize=lay["tick_font"])
    ax.set_yticks(ticks, names, fontsize=lay["tick_font"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if lay["values"]:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=lay["value_font"],
                        color="white" if norm[i, j] > 0.5 else "black")
    else:
        fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="share of the true class")
    ax.set_title(f"normalized confusion matrix\nN={result['n']}, accuracy {result['accuracy'] * 100:.2f}%")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    plt.close(fig)


def report(result: dict, out_dir=None, console=None) -> None:
    """Print rich tables; with ``out_dir`` also write metrics.json and confusion_matrix.png.

    Classes are listed in the model's class order (a person's sort order for models trained by
    this lstmtc). Beyond FULL_MATRIX_MAX classes the terminal gets the most-confused pairs instead
    of the matrix; metrics.json always holds the whole matrix."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    console.print(f"[bold]{escape(result['model'])}[/bold] on {escape(result['data'])}: N={result['n']}  "
                  f"accuracy {result['accuracy'] * 100:.2f}%", soft_wrap=True)
    if result.get("columns_from_model"):
        console.print(f"columns from the model: {escape(describe_columns(result['columns_from_model']))}")
    t = Table(title="classification report")
    for col in ("class", "precision", "recall", "f1-score", "support"):
        t.add_column(col, justify="left" if col == "class" else "right")
    rep = result["classification_report"]
    for name in result["labels"] + ["macro avg", "weighted avg"]:
        r = rep[name]
        t.add_row(escape(name), f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1-score']:.4f}",
                  str(int(r["support"])))
    console.print(t)
    n = len(result["labels"])
    note = (f"the full {n}x{n} matrix: " + (f"{Path(out_dir) / 'metrics.json'}" if out_dir
                                              else "--out DIR writes it to DIR/metrics.json"))
    print_confusion(console, result["confusion_matrix"], result["labels"], note)
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "metrics.json", json.dumps(result, indent=1) + "\n")
        plot_confusion(result, out / "confusion_matrix.png")
        console.print(f"wrote {escape(str(out / 'metrics.json'))} and {escape(str(out / 'confusion_matrix.png'))}",
                      soft_wrap=True)
