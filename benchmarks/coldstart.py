"""Section 3: cold start for one line, process start to exit.

``echo TEXT | lstmtc-classify --model BUNDLE`` against ``echo TEXT | python
benchmarks/torch_baseline.py --ckpt best.pt`` (a torch-based one-line classifier), default
threads for both, alternating, medians of N runs. Beside them, for reading the figures: a bare
interpreter (``python -c pass``) and the import of each runtime alone.
"""

from __future__ import annotations

import statistics
import sys

from benchmarks.throughput import baseline_cmd, lstmtc_cmd, run_process, show

TEXT = "Wall St. Bears Claw Back Into the Black (Reuters) Short-sellers, Wall Street's dwindling band of ultra-cynics."
TARGET_S = 0.5
TARGET_RATIO = 0.3


def measure(bundle, ckpt, runs: int, text: str = TEXT) -> dict:
    cmds = {
        "lstmtc": lstmtc_cmd(bundle),
        "torch": baseline_cmd(ckpt),
        "python -c pass": [sys.executable, "-c", "pass"],
        "import onnxruntime": [sys.executable, "-c", "import onnxruntime"],
        "import torch": [sys.executable, "-c", "import torch"],
    }
    line = (text + "\n").encode()
    times = {k: [] for k in cmds}
    outputs = {}
    for r in range(max(runs, 1)):
        order = list(cmds) if r % 2 == 0 else list(reversed(cmds))
        for name in order:
            seconds, out = run_process(cmds[name], input_bytes=line)
            times[name].append(seconds)
            outputs[name] = out
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["lstmtc"] / med["torch"]
    return {"runs": max(runs, 1), "text": text, "seconds": times, "median_s": med, "ratio": ratio,
            "same_label": outputs["lstmtc"] == outputs["torch"], "label": outputs["lstmtc"].decode().strip(),
            "target_s": TARGET_S, "target_ratio": TARGET_RATIO,
            "target_met": med["lstmtc"] <= TARGET_S and ratio <= TARGET_RATIO,
            "commands": {k: "echo TEXT | " + show(v) for k, v in cmds.items()}}


def table(results: dict) -> tuple[str, list[str], list[list]]:
    rows = []
    for preset, r in results.items():
        if "skipped" in r or "error" in r:
            rows.append([preset, r.get("skipped") or f"error: {r['error'][:80]}", "", "", "", "", "", ""])
            continue
        m = r["median_s"]
        rows.append([preset, r["runs"], m["lstmtc"], m["torch"], r["ratio"],
                     "yes" if r["target_met"] else "no",
                     f"{m['python -c pass']:.3f} / {m['import onnxruntime']:.3f} / {m['import torch']:.3f}",
                     "yes" if r["same_label"] else "NO"])
    return (f"3. cold start for one line, median s (target: lstmtc <= {TARGET_S} s and <= {TARGET_RATIO}x torch)",
            ["preset", "runs", "lstmtc s", "torch s", "ratio", "target met",
             "python / +onnxruntime / +torch s", "same label"], rows)
