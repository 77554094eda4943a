"""Section 6: batch size x threads -> docs/s, to justify lstmtc-classify's defaults.

In process, ``Classifier.predict_proba`` over the test texts in batches of each size (the CLI's
per-batch work minus reading and writing), one onnxruntime session per thread count; the
median of the repeats. The CLI's default batch size is read from ``lstmtc.infer.apps.classify_cli``; its
default threads are onnxruntime's (all cores).
"""

from __future__ import annotations

import os
import statistics
import time

BATCH_SIZES = (1, 16, 64, 256, 1024)


def thread_counts() -> list[int]:
    cores = os.cpu_count() or 1
    return sorted({1, 2, cores} if cores > 1 else {1})


def measure(bundle, texts: list[str], batch_sizes=BATCH_SIZES, threads=None, repeats: int = 3) -> dict:
    from lstmtc.infer.classifier import Classifier
    from lstmtc.infer.scoring.scorer import DEFAULT_BATCH

    threads = list(threads or thread_counts())
    grid = []
    for t in threads:
        clf = Classifier.load(bundle, None, t)
        for bs in batch_sizes:
            clf.predict_proba(texts[:bs])  # warm-up for this shape
            seconds = []
            for _ in range(max(repeats, 1)):
                t0 = time.perf_counter()
                for i in range(0, len(texts), bs):
                    clf.predict_proba(texts[i:i + bs])
                seconds.append(time.perf_counter() - t0)
            grid.append({"threads": t, "batch_size": bs, "seconds": seconds,
                         "docs_per_s": len(texts) / statistics.median(seconds)})
    best = max(grid, key=lambda g: g["docs_per_s"])
    per_threads = {}
    for t in threads:
        cells = [g for g in grid if g["threads"] == t]
        top = max(cells, key=lambda g: g["docs_per_s"])
        default = next((g for g in cells if g["batch_size"] == DEFAULT_BATCH), None)
        per_threads[str(t)] = {"best_batch_size": top["batch_size"], "best_docs_per_s": top["docs_per_s"],
                               "default_batch_docs_per_s": default["docs_per_s"] if default else None,
                               "default_vs_best": default["docs_per_s"] / top["docs_per_s"] if default else None}
    return {"n_docs": len(texts), "repeats": max(repeats, 1), "batch_sizes": list(batch_sizes), "threads": threads,
            "grid": grid, "best": {"threads": best["threads"], "batch_size": best["batch_size"],
                                   "docs_per_s": best["docs_per_s"]},
            "cli_default_batch_size": DEFAULT_BATCH, "per_threads": per_threads}


def table(results: dict) -> tuple[str, list[str], list[list]]:
    rows, sizes = [], []
    for r in results.values():
        sizes = r.get("batch_sizes") or sizes
    for preset, r in results.items():
        if "skipped" in r or "error" in r:
            rows.append([preset, r.get("skipped") or f"error: {r['error'][:80]}"] + [""] * (len(sizes) + 1))
            continue
        for t in r["threads"]:
            cells = {g["batch_size"]: g["docs_per_s"] for g in r["grid"] if g["threads"] == t}
            pt = r["per_threads"][str(t)]
            vs = f"{pt['default_vs_best'] * 100:.0f}%" if pt["default_vs_best"] is not None else "-"
            rows.append([preset, t] + [cells.get(b, "") for b in sizes] + [vs])
    default = next((r["cli_default_batch_size"] for r in results.values() if "cli_default_batch_size" in r), "?")
    return ("6. batch size x threads sweep, docs/s (in process)",
            ["preset", "threads", *[f"batch {b}" for b in sizes], f"default {default} vs best"], rows)
