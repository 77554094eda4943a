"""The run record beside the checkpoints, readable without torch or lstmtc:

- ``config.json``: every resolved option (defaults included) -- what ran, not what was typed;
- ``data.json``: what was read (rows, splits, classes, token lengths, vocabulary, warnings);
- ``history.jsonl``: one JSON object per finished epoch (losses, validation metrics, lr, seconds);
- ``curves.png``: the training curves.

Every file is replaced atomically, so a run killed at any moment leaves each one complete.
"""

from __future__ import annotations

import json
from pathlib import Path

from lstmtc import __version__
from lstmtc.infer.files import atomic_path, atomic_write_text

FORMAT = "lstmtc-run"
VERSION = 1
CONFIG, DATA, HISTORY, CURVES = "config.json", "data.json", "history.jsonl", "curves.png"


def write_config(out: Path, train_config: dict, model_config: dict, read_options: dict, train_file: str,
                 valid_file: str | None) -> None:
    doc = {"format": FORMAT, "version": VERSION, "lstmtc_version": __version__, "train_file": train_file,
           "valid_file": valid_file, "read_options": read_options, "train_config": train_config,
           "model_config": model_config}
    atomic_write_text(out / CONFIG, json.dumps(doc, indent=1, default=str) + "\n")


def write_data(out: Path, summary: dict) -> None:
    atomic_write_text(out / DATA, json.dumps({"format": FORMAT, "version": VERSION, **summary}, indent=1) + "\n")


def write_history(out: Path, history: list[dict], select: str, tie_break: str = "first") -> None:
    atomic_write_text(out / HISTORY, "".join(json.dumps(h) + "\n" for h in history))
    plot_curves(history, out / CURVES, select, tie_break)


def plot_curves(history: list[dict], path: Path, select: str, tie_break: str = "first") -> None:
    """Loss (train and validation) on the left, validation accuracy and macro-F1 on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train loss")
    left.plot(epochs, [h["valid_loss"] for h in history], marker="o", label="validation loss")
    left.set_xlabel("epoch")
    left.legend()
    right.plot(epochs, [h["valid_acc"] for h in history], marker="o", label="validation accuracy")
    if all("valid_macro_f1" in h for h in history):
        right.plot(epochs, [h["valid_macro_f1"] for h in history], marker="o", label="validation macro-F1")
    best = best_entry(history, select, tie_break)
    right.axvline(best["epoch"], color="grey", linestyle=":", label=f"best ({select}): epoch {best['epoch']}")
    right.set_xlabel("epoch")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def best_entry(history: list[dict], select: str, tie_break: str = "first") -> dict:
    """The history entry best.pt holds: the highest ``score`` (the first of equals)."""
    return max(history, key=lambda h: score(h, select, tie_break))


def score(entry: dict, select: str, tie_break: str = "first") -> tuple:
    """How one history entry ranks, larger is better: its selection figure, then (``tie_break``
    "loss") its negated validation loss. Entries written before macro-F1 was recorded fall back to
    accuracy. With "first", equal entries stay equal and the earlier one wins."""
    if select == "loss":
        return (-entry["valid_loss"],)
    figure = entry.get("valid_macro_f1", entry["valid_acc"]) if select == "macro-f1" else entry["valid_acc"]
    return (figure, -entry["valid_loss"]) if tie_break == "loss" else (figure,)
