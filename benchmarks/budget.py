"""Section 7: the time budget behind section 1's ratio — could any change to lstmtc's text path
reach the 3x target, and how much faster would the model have to run?

In process, on the same texts, batch size and threads, alternating the sides for each repeat:

- torch: the baseline's DataLoader (the collate function tokenizes, looks up and pads; timed as
  the ``next()`` of its iterator) and the forward pass, timed apart;
- lstmtc: ``TextPipeline`` (tokenize + vectorize) and ``Classifier.logits_ids`` (onnxruntime),
  timed apart, for the fp32 model and, when the bundle has one, the int8 model.

From the medians:

- ``ceiling_free_text``: torch total / onnxruntime fp32 time — section 1's in-process ratio if
  lstmtc's whole text path cost nothing. Below 3, no text-path change can meet the target.
- ``ceiling_int8_free_text``: the same with the int8 model.
- ``model_speedup_needed``: how many times faster than today's fp32 session.run the model would
  have to be for 3x with today's text path (None when the text path alone is over the budget).
"""

from __future__ import annotations

import statistics
import time

TARGET = 3.0


def measure(bundle, ckpt, texts: list[str], threads: int, batch_size: int, repeats: int) -> dict:
    import torch
    from torch.utils.data import DataLoader

    from benchmarks.torch_baseline import TorchClassifier
    from lstmtc.infer.bundle import load_bundle
    from lstmtc.infer.classifier import Classifier

    texts = [t for t in texts if t.strip()]  # both CLIs skip blank lines before the model
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        tc = TorchClassifier(ckpt, batch_size)
        b = load_bundle(bundle)
        clfs = {p: Classifier(b, p, threads) for p in ("fp32", "int8") if p in b.models}
        clock = time.perf_counter

        @torch.no_grad()
        def torch_pass() -> dict:
            t = {"collate": 0.0, "forward": 0.0}
            it = iter(DataLoader(texts, batch_size=batch_size, collate_fn=tc.collate, shuffle=False))
            while True:
                a = clock()
                x = next(it, None)
                t["collate"] += clock() - a
                if x is None:
                    return t
                a = clock()
                tc.model(x)
                t["forward"] += clock() - a

        def lstmtc_pass() -> dict:
            t = {"text": 0.0, **{f"run_{p}": 0.0 for p in clfs}}
            pipe = clfs["fp32"].pipeline
            for i in range(0, len(texts), batch_size):
                a = clock()
                ids = pipe(texts[i:i + batch_size])
                t["text"] += clock() - a
                for p, clf in clfs.items():
                    a = clock()
                    clf.logits_ids(ids)
                    t[f"run_{p}"] += clock() - a
            return t

        lstmtc_pass()  # warm-up: onnxruntime's first allocations, page cache
        passes = {"torch": [], "lstmtc": []}
        for r in range(max(repeats, 1)):
            order = ("torch", "lstmtc") if r % 2 == 0 else ("lstmtc", "torch")
            for side in order:
                passes[side].append(torch_pass() if side == "torch" else lstmtc_pass())
    finally:
        torch.set_num_threads(before)

    med = {side: {k: statistics.median(p[k] for p in ps) for k in ps[0]} for side, ps in passes.items()}
    torch_total = med["torch"]["collate"] + med["torch"]["forward"]
    text, run32 = med["lstmtc"]["text"], med["lstmtc"]["run_fp32"]
    run8 = med["lstmtc"].get("run_int8")
    budget_model = torch_total / TARGET - text  # what the model may take for 3x with today's text path
    return {
        "n_docs": len(texts), "threads": threads, "batch_size": batch_size, "repeats": max(repeats, 1),
        "median_s": med, "torch_total_s": torch_total,
        "torch_text_share": med["torch"]["collate"] / torch_total,
        "lstmtc_total_s": text + run32, "ratio": torch_total / (text + run32),
        "ort_vs_torch_model": med["torch"]["forward"] / run32,
        "ceiling_free_text": torch_total / run32,
        "ceiling_int8_free_text": torch_total / run8 if run8 else None,
        "ratio_int8": torch_total / (text + run8) if run8 else None,
        "model_speedup_needed": run32 / budget_model if budget_model > 0 else None,
        "target": TARGET,
    }


def table(results: dict) -> tuple[str, list[str], list[list]]:
    rows = []
    cols = ["preset", "docs", "torch collate s", "torch forward s", "lstmtc text s", "session.run fp32 s",
            "session.run int8 s", "ratio", "ratio int8", "ceiling, free text path", "ceiling int8, free text",
            "model speed-up needed for 3x"]
    for preset, r in results.items():
        if "skipped" in r or "error" in r:
            rows.append([preset, r.get("skipped") or f"error: {r['error'][:80]}"] + [""] * (len(cols) - 2))
            continue
        m = r["median_s"]
        need = r["model_speedup_needed"]
        rows.append([preset, r["n_docs"], m["torch"]["collate"], m["torch"]["forward"], m["lstmtc"]["text"],
                     m["lstmtc"]["run_fp32"], m["lstmtc"].get("run_int8", "-"), r["ratio"],
                     r["ratio_int8"] if r["ratio_int8"] else "-", r["ceiling_free_text"],
                     r["ceiling_int8_free_text"] if r["ceiling_int8_free_text"] else "-",
                     f"{need:.2f}x" if need else "unreachable (text path alone is over budget)"])
    return ("7. time budget (in process, median s over the test texts): the ratio if lstmtc's text path cost "
            "nothing, and the model speed-up 3x would need", cols, rows)
