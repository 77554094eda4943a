"""lstmtc-train on an accelerator: the AG News pool with one reference preset and the default
recipe, trained on ``--device`` exactly as ``lstmtc-train --device DEVICE [--preset N]`` would
(``resolve_settings`` builds both configurations), then the best checkpoint scored on the test set.
Prints seconds per epoch, the best validation epoch and test accuracy, and writes JSON.

    python -m benchmarks.device_train --device cuda [--train DIR/train_pool.csv] [--test DIR/test.csv]
        [--preset 2] [--epochs N] [--json out.json]

``--epochs`` caps both runs (a smoke run on the CPU: ``--device cpu --epochs 1 --limit 2000``);
without it each run keeps its own cap (preset: 10, recipe: 20 with early stopping).
``--limit N`` trains on the first N rows of a shuffled copy of the pool (smoke runs only).
``--bf16`` adds a third run last: the recipe with ``--precision bf16`` (mixed precision);
``--only recipe,preset,recipe-bf16`` picks runs; ``--batch-size N`` sets the recipe runs' batch.
The recipe runs first and the JSON is rewritten after every run, so a lease that ends mid-way
still returns what finished.

On a lent GPU machine (no network there; ``../shared`` does not travel) copy the two AG News files
into an ignored folder of the checkout, carry it, and run from the repo root with the machine's
own torch: ``PYTHONPATH=. python3 -m benchmarks.device_train --device cuda --train d/train_pool.csv
--test d/test.csv --json $OUT/device_train.json``.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import SHARED, print_table, write_json
from lstmtc.train import runrecord
from lstmtc.train.cli import resolve_settings
from lstmtc.train.evaluate import evaluate_model
from lstmtc.train.loop import train


def limited_copy(path: Path, n: int, folder: Path) -> Path:
    """The first ``n`` rows of a seeded shuffle of ``path`` (the pool's first rows are sorted by class)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    random.Random(0).shuffle(body)
    out = folder / f"first{n}.csv"
    with open(out, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([head, *body[:n]])
    return out


def run(name: str, preset: int | None, train_path: Path, test_path: Path | None, device: str,
        epochs: int | None, folder: Path, precision: str = "fp32", batch_size: int | None = None) -> dict:
    options = {"epochs": epochs} if epochs else {}
    options["precision"] = precision
    if batch_size and preset is None:
        options["batch_size"] = batch_size
    cfg, model_args = resolve_settings(preset, options, device)
    out = folder / name
    t0 = time.perf_counter()
    payload = train(train_path, out, cfg, model_args, progress=False,
                    log=lambda s: print(f"  {name}: {s}", flush=True))
    wall = time.perf_counter() - t0
    history = payload["history"]
    best = runrecord.best_entry(history, cfg.select, cfg.tie_break)
    test = evaluate_model(out / "best.pt", test_path) if test_path else None
    return {"run": name, "preset": preset, "device": str(payload["train_config"]["device"]),
            "precision": payload["train_config"]["precision"], "batch_size": payload["train_config"]["batch_size"],
            "epochs_run": len(history), "epoch_seconds": [h["seconds"] for h in history], "wall_seconds": wall,
            "best_epoch": best["epoch"], "best_valid_acc": best["valid_acc"],
            "test_accuracy": test["accuracy"] if test else None, "test_n": test["n"] if test else None}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.device_train", description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N, mps, cpu, auto [%(default)s]")
    ap.add_argument("--train", default=str(SHARED / "train_pool.csv"))
    ap.add_argument("--test", default=str(SHARED / "test.csv"), help="'' to skip the test set")
    ap.add_argument("--preset", type=int, default=2, help="the reference preset to run beside the recipe")
    ap.add_argument("--epochs", type=int, help="cap both runs at this many epochs")
    ap.add_argument("--limit", type=int, help="train on this many rows of the pool (smoke runs)")
    ap.add_argument("--bf16", action="store_true", help="add a run of the recipe in bf16 mixed precision")
    ap.add_argument("--only", help="comma-separated runs to do, of: recipe, preset, recipe-bf16")
    ap.add_argument("--batch-size", type=int, help="the recipe runs' batch size (default: the recipe's rule)")
    ap.add_argument("--json", help="write the results here (rewritten after every run)")
    a = ap.parse_args(argv)
    test = Path(a.test) if a.test else None
    results = []
    device_name = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    runs = {"recipe": ("recipe", None, "fp32"), "preset": (f"preset{a.preset}", a.preset, "fp32"),
            "recipe-bf16": ("recipe-bf16", None, "bf16")}
    wanted = [w.strip() for w in a.only.split(",")] if a.only else ["recipe", "preset"] + ["recipe-bf16"] * a.bf16
    if set(wanted) - set(runs):
        ap.error(f"--only: unknown run(s) {', '.join(sorted(set(wanted) - set(runs)))}; known: {', '.join(runs)}")
    plan = [runs[w] for w in wanted]
    print(f"torch {torch.__version__}, device {a.device} ({device_name or 'no CUDA device'})", flush=True)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        train_path = limited_copy(Path(a.train), a.limit, folder) if a.limit else Path(a.train)
        for name, preset, precision in plan:
            results.append(run(name, preset, train_path, test, a.device, a.epochs, folder, precision, a.batch_size))
            if a.json:
                write_json(Path(a.json), "device_train", {"device_name": device_name, "torch": torch.__version__,
                                                          "args": vars(a), "runs": results})
    rows = [[r["run"], r["device"], r["precision"], str(r["batch_size"]), str(r["epochs_run"]),
             f"{min(r['epoch_seconds']):.1f} / {sorted(r['epoch_seconds'])[len(r['epoch_seconds']) // 2]:.1f}",
             f"{r['wall_seconds']:.0f}", str(r["best_epoch"]), f"{r['best_valid_acc'] * 100:.2f}",
             f"{r['test_accuracy'] * 100:.2f}" if r["test_accuracy"] is not None else "-"] for r in results]
    print_table(f"lstmtc-train on {a.device}: AG News pool", ["run", "device", "precision", "batch", "epochs",
                "epoch s (min / median)", "wall s", "best epoch", "valid acc %", "test acc %"], rows)
    result = {"device_name": device_name, "torch": torch.__version__, "args": vars(a), "runs": results}
    if a.json:
        print(f"wrote {write_json(Path(a.json), 'device_train', result)}")
    return result


if __name__ == "__main__":
    main()
