"""The figures of docs/results.md: each trained preset run evaluated on the full AG News test
set (PyTorch), exported, and compared with its ONNX bundle (fp32 and int8) on every test document;
beside it the faithful reference loop's accuracy on the same data.

    python -m benchmarks.results --runs runs --presets 1 2 3 4 5 [--json out.json]

Expects runs/presetN (lstmtc-train runs) and runs/referenceN.json (benchmarks.reference_loop).
Prints markdown tables to paste into docs/results.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import SHARED, write_json
from lstmtc.export import export_bundle
from lstmtc.infer.classifier import Classifier
from lstmtc.infer.data import read_labelled
from lstmtc.train.checkpoint import (
    labelset_from_checkpoint,
    model_from_checkpoint,
    pipeline_from_checkpoint,
    read_checkpoint,
)
from lstmtc.train.evaluate import evaluate_model


def torch_logits(model, pipeline, texts, batch=1024) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(pipeline(texts[i:i + batch]))).numpy()
                               for i in range(0, len(texts), batch)])


def onnx_logits(clf: Classifier, texts, batch=1024) -> np.ndarray:
    return np.concatenate([clf.logits(texts[i:i + batch]) for i in range(0, len(texts), batch)])


def one(run: Path, test: Path, reference: Path | None) -> dict:
    ckpt = read_checkpoint(run / "best.pt")
    last = read_checkpoint(run / "last.pt")
    model, pipeline = model_from_checkpoint(ckpt), pipeline_from_checkpoint(ckpt)
    data = read_labelled(test, labelset_from_checkpoint(ckpt))
    ev = evaluate_model(run / "best.pt", test)
    bundle = run / "bundle"
    exp = export_bundle(run / "best.pt", bundle, force=True, precisions=("int8",), data=str(test))
    pt = torch_logits(model, pipeline, data.texts)
    fp32 = onnx_logits(Classifier.load(bundle, "fp32"), data.texts)
    int8 = onnx_logits(Classifier.load(bundle, "int8"), data.texts)
    gold = np.asarray(data.labels)
    hist = last["history"]
    r = {
        "run": str(run),
        "best_epoch": ckpt["epoch"],
        "epochs": len(hist),
        "n_train": ckpt["n_train"],
        "n_valid": ckpt["n_valid"],
        "valid_acc": max(h["valid_acc"] for h in hist),
        "test_n": ev["n"],
        "test_acc": ev["accuracy"],
        "f1": {n: ev["classification_report"][n]["f1-score"] for n in ev["labels"]},
        "s_per_epoch": statistics.median(h["seconds"] for h in hist),
        "onnx_max_abs_diff": float(np.abs(pt - fp32).max()),
        "onnx_argmax_agree": int((pt.argmax(1) == fp32.argmax(1)).sum()),
        "int8_agree_fp32": float((int8.argmax(1) == fp32.argmax(1)).mean()),
        "int8_acc": float((int8.argmax(1) == gold).mean()),
        "fp32_onnx_acc": float((fp32.argmax(1) == gold).mean()),
        "sizes": exp.sizes,
        "train_config": ckpt["train_config"],
        "model_config": ckpt["model_config"],
    }
    if reference and reference.exists():
        ref = json.loads(reference.read_text())
        r["reference_test_acc"] = ref.get("test_accuracy")
        r["reference_s_per_epoch"] = statistics.median(h["seconds"] for h in ref["history"])
    return r


def markdown(results: dict[int, dict]) -> str:
    labels = list(next(iter(results.values()))["f1"])
    lines = ["| preset | test acc % | " + " | ".join(f"F1 {n}" for n in labels)
             + " | best epoch | s/epoch | reference loop acc % | delta (points) |",
             "|---" * (6 + len(labels)) + "|"]
    for p, r in results.items():
        ref = r.get("reference_test_acc")
        lines.append(f"| {p} | {r['test_acc'] * 100:.2f} | " + " | ".join(f"{r['f1'][n]:.4f}" for n in labels)
                     + f" | {r['best_epoch']} | {r['s_per_epoch']:.1f} | "
                     + (f"{ref * 100:.2f} | {(r['test_acc'] - ref) * 100:+.2f}" if ref is not None else "- | -")
                     + " |")
    lines += ["", "| preset | docs | same class PyTorch vs ONNX fp32 | max abs logit diff | int8 agreement with fp32 %"
              " | fp32 acc % | int8 acc % | model.onnx | model.int8.onnx |", "|---" * 9 + "|"]
    for p, r in results.items():
        lines.append(f"| {p} | {r['test_n']} | {r['onnx_argmax_agree']}/{r['test_n']} | {r['onnx_max_abs_diff']:.2e} | "
                     f"{r['int8_agree_fp32'] * 100:.2f} | {r['fp32_onnx_acc'] * 100:.2f} | {r['int8_acc'] * 100:.2f} | "
                     f"{r['sizes']['model.onnx'] / 1e6:.2f} MB | {r['sizes']['model.int8.onnx'] / 1e6:.2f} MB |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--presets", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--test", default=str(SHARED / "test.csv"))
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    runs = Path(a.runs)
    results = {}
    for p in a.presets:
        run = runs / f"preset{p}"
        if not (run / "best.pt").exists():
            print(f"skip preset {p}: {run}/best.pt is missing")
            continue
        results[p] = one(run, Path(a.test), runs / f"reference{p}.json")
        r = results[p]
        print(f"preset {p}: test {r['test_acc'] * 100:.2f}%  onnx max diff {r['onnx_max_abs_diff']:.2e}")
    if results:
        print(markdown(results))
        print(f"wrote {write_json(a.json, 'results', {'results': results})}")


if __name__ == "__main__":
    main()
