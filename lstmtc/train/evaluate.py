"""lstmtc-evaluate: the evaluation report (``lstmtc.infer.scoring.report``, the one that
``lstmtc-classify --eval`` prints) for a checkpoint or an exported bundle, plus metrics.json and a
normalized confusion-matrix PNG."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from lstmtc.infer.files import atomic_path, atomic_write_text
from lstmtc.infer.scoring.metrics import classification_report
from lstmtc.infer.scoring.metrics import report as metrics_report
from lstmtc.infer.scoring.report import default_note, describe_columns, evaluate_file, print_report


def _is_bundle(path: Path) -> bool:
    return path.is_dir() and (path / "bundle.json").exists()


def _score(model_path, data_path, read_options: dict | None = None, batch_size: int = 1024) -> dict:
    """Score a labelled file with a checkpoint or a bundle (``evaluate_file``: columns the command
    line did not name come from the model's training columns where the file has them)."""
    path = Path(model_path)
    if _is_bundle(path):
        from lstmtc.infer.classifier import Classifier
        from lstmtc.infer.scoring.scorer import Scorer

        clf = Classifier.load(path)
        ev = evaluate_file(data_path, clf.bundle.labelset, clf.bundle.columns, Scorer(clf).classes, read_options,
                           batch_size)
        kind = "bundle"
    else:
        from .checkpoint import Checkpoint

        ckpt = Checkpoint.read(path)

        def predict(texts: list[str]) -> np.ndarray:
            return ckpt.logits(texts).argmax(1).numpy()

        ev = evaluate_file(data_path, ckpt.labelset, ckpt.columns, predict, read_options, batch_size)
        kind = "checkpoint"
    return {"gold": ev.gold, "pred": ev.pred, "labels": list(ev.labelset.names),
            "kind": kind, "columns": ev.columns}


def predict_file(model_path, data_path, read_options: dict | None = None, batch_size: int = 1024):
    """(gold, pred, labels, kind) for a labelled file scored by a checkpoint or a bundle."""
    s = _score(model_path, data_path, read_options, batch_size)
    return s["gold"], s["pred"], s["labels"], s["kind"]


def evaluate_model(model_path, data_path, read_options: dict | None = None) -> dict:
    """The figures of metrics.json: N, accuracy, the classification report (scikit-learn's layout,
    computed with numpy) and the confusion matrix."""
    s = _score(model_path, data_path, read_options)
    r = metrics_report(s["gold"], s["pred"], s["labels"])
    result = {
        "model": str(model_path),
        "model_kind": s["kind"],
        "data": str(data_path),
        "n": r["n"],
        "accuracy": r["accuracy"],
        "labels": s["labels"],
        "classification_report": classification_report(r),
        "confusion_matrix": r["confusion_matrix"],
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
    """Print the evaluation report under a line naming the model and the data; with ``out_dir``
    also write metrics.json (the whole matrix, at any class count) and confusion_matrix.png."""
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    console.print(f"classification report of [bold]{escape(result['model'])}[/bold] on {escape(result['data'])}: "
                  f"N={result['n']}  accuracy {result['accuracy'] * 100:.2f}%", soft_wrap=True)
    if result.get("columns_from_model"):
        console.print(f"columns from the model: {escape(describe_columns(result['columns_from_model']))}")
    labels = result["labels"]
    note = default_note(len(labels), out_dir and Path(out_dir) / "metrics.json")
    print_report(console, result["n"], result["accuracy"], result["classification_report"],
                 result["confusion_matrix"], labels, note)
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "metrics.json", json.dumps(result, indent=1) + "\n")
        plot_confusion(result, out / "confusion_matrix.png")
        console.print(f"wrote {escape(str(out / 'metrics.json'))} and {escape(str(out / 'confusion_matrix.png'))}",
                      soft_wrap=True)
