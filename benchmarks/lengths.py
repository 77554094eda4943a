"""Length-aware inference, whole process: lstmtc-classify against two PyTorch paths, same checkpoint.

    python -m benchmarks.lengths --run RUN_DIR --bundle BUNDLE [--test test.csv] [--copies 4]
        [--threads 1 2] [--repeats 3] [--batch-size 64] [--torch-batch-size 256] [--json PATH]

RUN_DIR is a length-aware lstmtc-train run (``--padding-side packed``, the default recipe) and
BUNDLE its export (with ``--quantize int8`` for the int8 row). The input is the AG News test set's
texts (title + " " + description, one per line) COPIES times over. Every command is a real process
that reads that file and writes one label per line; runs alternate between the commands in each
repeat and the medians are compared:

  lstmtc fp32        lstmtc-classify -m BUNDLE --threads T FILE (sorted by length, the default)
  lstmtc int8        the same with --precision int8 (reported beside, not a target)
  lstmtc --no-sort   the same, documents in input order (each batch at its own longest)
  torch tutorial     benchmarks/torch_baseline.py: the tutorial's DataLoader collate, padded to
                     max_tokens, eager forward
  torch best         benchmarks/torch_baseline.py --best: lstmtc's vectorizer, sorted by length,
                     packed sequences, inference_mode (its batch size: --torch-batch-size)

Targets (issue "Length-aware models"): lstmtc fp32 >= 3x torch tutorial and >= 1.5x torch best at
each thread count, sorted >= 1.6x --no-sort; every output identical to lstmtc fp32's, line for line
(int8's differing lines are counted, not required to be zero).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.common import SHARED, print_table, write_json
from benchmarks.throughput import alternate, baseline_cmd, compare_outputs, count_lines, lstmtc_cmd

TARGETS = {"torch tutorial": 3.0, "torch best": 1.5, "lstmtc --no-sort": 1.6}


def write_texts(test_csv: Path, dst: Path, copies: int) -> Path:
    """AG News layout (class, title, description, no header) -> one 'title description' per line."""
    from benchmarks.datasets import read_agnews_original

    lines = [text.replace("\n", " ").replace("\r", " ") + "\n" for _, text in read_agnews_original(test_csv)]
    with open(dst, "w", encoding="utf-8", newline="") as f:
        for _ in range(copies):
            f.writelines(lines)
    return dst


def commands(run: Path, bundle: Path, threads: int, batch: int, torch_batch: int) -> dict[str, list[str]]:
    return {
        "lstmtc fp32": lstmtc_cmd(bundle, threads, batch),
        "lstmtc int8": lstmtc_cmd(bundle, threads, batch, "int8"),
        "lstmtc --no-sort": lstmtc_cmd(bundle, threads, batch, extra=("--no-sort",)),
        "torch tutorial": baseline_cmd(run, threads, torch_batch),
        "torch best": baseline_cmd(run, threads, torch_batch) + ["--best"],
    }


def measure(run: Path, bundle: Path, text_file: Path, threads: int, batch: int, torch_batch: int, repeats: int,
            work: Path, log=print) -> dict:
    cmds = commands(run, bundle, threads, batch, torch_batch)
    outs = {k: work / f"lengths.t{threads}.{i}.out" for i, k in enumerate(cmds)}
    rows = alternate(cmds, text_file, repeats, outs, log=lambda s: log(f"threads {threads}:{s}"))
    result = {"threads": threads, "n_docs": count_lines(text_file), "batch_size": batch,
              "torch_batch_size": torch_batch, "rows": rows}
    base = rows["lstmtc fp32"]["median_wall_s"]
    for name, r in rows.items():
        same, differ = compare_outputs(outs["lstmtc fp32"], outs[name])
        r.update(lstmtc_speedup=r["median_wall_s"] / base, labels_identical=same, lines_differing=differ)
    result["targets"] = {name: {"target": t, "speedup": result["rows"][name]["lstmtc_speedup"],
                                "met": result["rows"][name]["lstmtc_speedup"] >= t
                                and result["rows"][name]["labels_identical"]}
                         for name, t in TARGETS.items()}
    return result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.lengths", description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, type=Path, help="length-aware lstmtc-train run directory")
    ap.add_argument("--bundle", required=True, type=Path, help="its lstmtc-export bundle (with --quantize int8)")
    ap.add_argument("--test", type=Path, default=SHARED / "test.csv", help="AG News test.csv (original layout)")
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=None, help="lstmtc-classify --batch-size [its default]")
    ap.add_argument("--torch-batch-size", type=int, default=256)
    ap.add_argument("--json", help="[default: benchmarks/out/lengths.json]")
    a = ap.parse_args(argv)
    from lstmtc.infer.scoring.scorer import DEFAULT_BATCH

    batch = a.batch_size or DEFAULT_BATCH
    out = {"run": str(a.run), "bundle": str(a.bundle), "copies": a.copies, "repeats": a.repeats, "results": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        text_file = write_texts(a.test, work / "texts.txt", a.copies)
        for threads in a.threads:
            out["results"].append(measure(a.run, a.bundle, text_file, threads, batch, a.torch_batch_size,
                                          a.repeats, work, log=lambda s: print(s, file=sys.stderr)))
    rows = []
    for res in out["results"]:
        for name, r in res["rows"].items():
            target = TARGETS.get(name)
            rows.append([res["threads"], name, f"{r['median_wall_s']:.2f}", f"{r['docs_per_s']:,.0f}",
                         f"{r['lstmtc_speedup']:.2f}x" if name != "lstmtc fp32" else "-",
                         f">= {target}x: {'met' if res['targets'][name]['met'] else 'NOT met'}" if target else "",
                         "yes" if r["labels_identical"] else f"no ({r['lines_differing']} lines)"])
    print_table(f"length-aware inference, whole process, {out['results'][0]['n_docs']:,} docs (AG News test x"
                f"{a.copies}); lstmtc speed-up = their wall / lstmtc fp32's",
                ["threads", "command", "median wall s", "docs/s", "lstmtc fp32 speed-up", "target",
                 "labels = lstmtc fp32"], rows)
    path = write_json(a.json, "lengths", out)
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
