"""Candidates for the bundled model, on validation only: accuracy, size and whole-process docs/s.

    python -m benchmarks.candidates NAME=BUNDLE ... [--copies 4] [--repeats 3] [--json PATH]

The test set is not scored here. Each candidate bundle is scored on the validation rows of the AG
News pool (the rows lstmtc-train held out: ``frontier.split_pool``), its size is the bundle
directory's files, and its speed is ``lstmtc-classify -m BUNDLE < FILE`` on the test texts COPIES
times over (text only, no labels: speed, not accuracy), alternating with fastText's predict script
in every repeat, so each candidate's docs/s is also a ratio to fastText's measured in the same run.
fastText is trained on the training rows of the same split (epochs picked on validation,
``peers.run_fasttext``), or read from WORK/fasttext.bin when benchmarks.frontier left one there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.common import OUT, SHARED, print_table, write_json
from benchmarks.frontier import PEER_SCRIPT, bundle_bytes, split_pool, throughput
from benchmarks.lengths import write_texts
from benchmarks.throughput import count_lines, lstmtc_cmd


def valid_accuracy(bundle: Path, valid) -> float:
    import numpy as np

    from lstmtc.infer import Classifier

    clf = Classifier.load(bundle)
    index = {v: i for i, v in enumerate(clf.bundle.labelset.values)}
    gold = np.array([index[lab] for lab, _ in valid])
    pred = clf.logits([t for _, t in valid], batch_size=64).argmax(1)
    return float((pred == gold).mean())


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.candidates", description=__doc__.split("\n")[0])
    ap.add_argument("bundles", nargs="+", metavar="NAME=BUNDLE")
    ap.add_argument("--pool", type=Path, default=SHARED / "train_pool.csv")
    ap.add_argument("--test", type=Path, default=SHARED / "test.csv", help="its texts only, for the timing")
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", type=Path, default=OUT / "frontier-work")
    ap.add_argument("--json", default=None, help="[default: benchmarks/out/candidates.json]")
    a = ap.parse_args(argv)

    def log(s: str) -> None:
        print(s, file=sys.stderr, flush=True)

    bundles = {k: Path(v) for k, v in (b.split("=", 1) for b in a.bundles)}
    train, valid = split_pool(a.pool)
    fasttext_bin = a.work / "fasttext.bin"
    if not fasttext_bin.exists():
        from benchmarks.peers import run_fasttext

        a.work.mkdir(parents=True, exist_ok=True)
        log("training fastText on the training rows (epochs picked on validation)")
        r = run_fasttext(train, valid, valid, a.work / "fasttext", seed=0, threads=1, keep=True)
        r["fitted"].save_model(str(fasttext_bin))
    rows = {}
    for name, path in bundles.items():
        rows[name] = {"bundle": str(path), "valid_acc": valid_accuracy(path, valid), "bundle_bytes": bundle_bytes(path)}
        log(f"{name}: validation accuracy {rows[name]['valid_acc'] * 100:.2f}%")
    cmds = {name: lstmtc_cmd(path) for name, path in bundles.items()}
    cmds["fastText bigrams"] = [sys.executable, str(PEER_SCRIPT), "fasttext", str(fasttext_bin)]
    with tempfile.TemporaryDirectory() as tmp:
        text_file = write_texts(a.test, Path(tmp) / "texts.txt", a.copies)
        speed = throughput(cmds, text_file, a.repeats, Path(tmp), log)
        n = count_lines(text_file)
    fast = speed["fastText bigrams"]["docs_per_s"]
    for name, r in rows.items():
        r.update(speed[name], docs_per_s_vs_fasttext=speed[name]["docs_per_s"] / fast)
    table = [[name, f"{r['valid_acc'] * 100:.2f}", f"{r['bundle_bytes'] / 1e6:.2f}", f"{r['docs_per_s']:,.0f}",
              f"{r['docs_per_s_vs_fasttext']:.2f}x"] for name, r in rows.items()]
    table.append(["fastText bigrams", "-", f"{fasttext_bin.stat().st_size / 1e6:.0f}", f"{fast:,.0f}", "1.00x"])
    print_table(f"candidates: validation accuracy ({len(valid):,} rows), bundle size, whole-process docs/s on {n:,} "
                "lines", ["candidate", "valid acc %", "bundle MB", "docs/s", "vs fastText"], table)
    out = {"valid_rows": len(valid), "lines": n, "repeats": a.repeats, "candidates": rows,
           "fasttext": speed["fastText bigrams"]}
    path = write_json(a.json, "candidates", out)
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
