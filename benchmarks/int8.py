"""Section 5: int8 against fp32, throughput and accuracy, for each preset's bundle.

In process, through ``Classifier.predict_proba`` (tokenize, vectorize, onnxruntime, softmax) in
batches of the CLI's size with the given threads; docs/s is the median of the repeats. Accuracy
is against the labelled test set; agreement is the share of documents on which the two
precisions predict the same class.
"""

from __future__ import annotations

import statistics
import time

import numpy as np


def predict_all(clf, texts, batch_size: int) -> np.ndarray:
    out = [clf.predict_proba(texts[i:i + batch_size]).argmax(1) for i in range(0, len(texts), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def rate(clf, texts, batch_size: int, repeats: int) -> tuple[float, list[float], np.ndarray]:
    predict_all(clf, texts[:batch_size], batch_size)  # warm-up
    seconds, pred = [], None
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        pred = predict_all(clf, texts, batch_size)
        seconds.append(time.perf_counter() - t0)
    return len(texts) / statistics.median(seconds), seconds, pred


def measure(bundle, texts: list[str], gold_values: list[str], threads: int | None, batch_size: int,
            repeats: int) -> dict:
    """``gold_values``: each text's label as written in the data (e.g. "1".."4" for AG News)."""
    from lstmtc.infer.bundle import load_bundle
    from lstmtc.infer.classifier import Classifier

    b = load_bundle(bundle)
    result = {"n_docs": len(texts), "threads": threads, "batch_size": batch_size, "repeats": max(repeats, 1),
              "precisions": {}}
    preds = {}
    for precision in ("fp32", "int8"):
        if precision not in b.models:
            result["precisions"][precision] = {"skipped": f"the bundle has no {precision} model"}
            continue
        clf = Classifier(b, precision, threads)
        docs_s, seconds, pred = rate(clf, texts, batch_size, repeats)
        values = b.labelset.values
        acc = float(np.mean([values[p] == g for p, g in zip(pred, gold_values)])) if texts else None
        preds[precision] = pred
        result["precisions"][precision] = {"docs_per_s": docs_s, "seconds": seconds, "accuracy": acc,
                                           "model_bytes": b.model_path(precision).stat().st_size}
    if len(preds) == 2:
        p = result["precisions"]
        result["agreement"] = float(np.mean(preds["fp32"] == preds["int8"]))
        result["speedup"] = p["int8"]["docs_per_s"] / p["fp32"]["docs_per_s"]
        result["accuracy_delta"] = p["int8"]["accuracy"] - p["fp32"]["accuracy"]
    return result


def table(results: dict) -> tuple[str, list[str], list[list]]:
    rows = []
    for preset, r in results.items():
        if "skipped" in r or "error" in r:
            rows.append([preset, r.get("skipped") or f"error: {r['error'][:80]}"] + [""] * 8)
            continue
        p = r["precisions"]
        if "agreement" not in r:
            rows.append([preset, r["n_docs"], "; ".join(v["skipped"] for v in p.values() if "skipped" in v)]
                        + [""] * 7)
            continue
        rows.append([preset, r["n_docs"], p["fp32"]["docs_per_s"], p["int8"]["docs_per_s"], r["speedup"],
                     f"{p['fp32']['accuracy'] * 100:.2f}", f"{p['int8']['accuracy'] * 100:.2f}",
                     f"{r['agreement'] * 100:.2f}",
                     f"{p['fp32']['model_bytes'] / 2**20:.1f} / {p['int8']['model_bytes'] / 2**20:.1f}"])
    return "5. int8 vs fp32 (in process, Classifier.predict_proba)", \
        ["preset", "docs", "fp32 docs/s", "int8 docs/s", "int8 speed-up", "fp32 acc %", "int8 acc %",
         "agreement %", "model MiB fp32 / int8"], rows
