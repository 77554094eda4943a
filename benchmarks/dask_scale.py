"""Dask scale-out: docs/s of ``lstmtc-classify --engine dask`` with 1 and then 2 local workers.

    python -m benchmarks.dask_scale [--rows 1000000] [--files 8] [--model BUNDLE] [--workers 1,2]
                                    [--batch-size 256] [--repeats 1] [--json out.json]

The dataset is synthetic: news-like rows (id,title,text) made from the word lists in this script
(not AG News text), written once as ``--files`` CSV files under
benchmarks/out/dask_scale/data-<rows>x<files>/ and reused by later runs. For each worker count a
fresh LocalCluster of that many processes (one thread each, onnxruntime with one intra-op thread)
scores the whole dataset with ``lstmtc.infer.apps.cluster.score_files`` (read, score, write the part
files); the time counted is the compute after the cluster is up (start-up excluded; the bundle
load on each worker is included). With ``--repeats`` > 1 the fastest run counts. The outputs of
every worker count must be byte-identical (same part files).

The model is ``--model`` or, without it, the bundled default model; with neither the script stops.
Absolute docs/s depend on the model (preset) and the machine; run it on an otherwise idle machine
with at least as many cores as workers.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import shutil
import sys
import time
from pathlib import Path

from benchmarks.common import OUT, print_table, write_json

NAME = "dask_scale"
DATA_ROOT = OUT / NAME

# Word lists for the synthetic news: four topics plus filler, so a text has a plausible length and
# vocabulary mix for an AG News-style model (many of these words are in its vocabulary).
TOPICS = [
    "government minister election president troops rebels ceasefire embassy parliament talks nuclear "
    "united nations security council capital opposition protest military border refugees vote treaty",
    "team season coach game win victory championship league cup match players striker goal final "
    "tournament playoff pitcher inning touchdown olympic medal record race title scored",
    "company shares stocks profit quarter earnings market investors oil prices bank merger deal "
    "billion million sales growth economy rates dollar bankruptcy pension retail chief executive",
    "software internet computer microsoft google technology users web online chip mobile phone "
    "service network space nasa scientists researchers study data system security browser launch",
]
FILLER = ("the a of to in and on for with that as at by from said its after new has have will was "
          "were this over more than about up into two year week monday tuesday wednesday thursday friday").split()


def _row(rng: random.Random, i: int) -> list[str]:
    topic = TOPICS[i % len(TOPICS)].split()
    title = " ".join(rng.choices(topic + FILLER, k=rng.randint(4, 9))).capitalize()
    words = rng.choices(topic + FILLER + FILLER, k=rng.randint(15, 40))
    cut = rng.randint(5, len(words) - 1)
    text = " ".join(words[:cut]) + ", " + " ".join(words[cut:]) + "."
    return [str(i), title, text]


def make_dataset(rows: int, files: int, seed: int = 0) -> list[Path]:
    """``files`` CSV files with ``rows`` rows in all, written once (a marker says they are complete)."""
    d = DATA_ROOT / f"data-{rows}x{files}"
    marker = d / "COMPLETE"
    paths = [d / f"news-{f:03d}.csv" for f in range(files)]
    if marker.is_file() and all(p.is_file() for p in paths):
        return paths
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    rng = random.Random(seed)
    per, extra = divmod(rows, files)
    start = 0
    for f, p in enumerate(paths):
        n = per + (f < extra)
        with open(p, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["id", "title", "text"])
            w.writerows(_row(rng, i) for i in range(start, start + n))
        start += n
    marker.write_text(f"{rows} rows in {files} files, seed {seed}\n")
    return paths


def default_model() -> Path:
    from lstmtc.infer.default_model import default_bundle_path
    from lstmtc.infer.errors import BundleError

    try:
        return default_bundle_path()
    except BundleError as e:
        raise SystemExit(f"error: {e} (give the benchmark --model BUNDLE)") from None


def digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(out.glob("part-*")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def run_workers(n: int, pattern: str, model: Path, out: Path, batch_size: int, repeats: int) -> dict:
    from distributed import Client, LocalCluster

    from lstmtc.infer.apps.cluster import score_files

    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        client = Client(cluster)
        try:
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                summary = score_files(pattern, out, model, text_column="text", title_column="title",
                                      batch_size=batch_size, threads=1, client=client)
                times.append(time.perf_counter() - t0)
        finally:
            client.close()
    finally:
        cluster.close()
    best = min(times)
    return {"workers": n, "rows": summary["rows"], "parts": len(summary["files"]), "seconds": best,
            "all_seconds": times, "docs_per_s": summary["rows"] / best, "output_sha256": digest(out)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the dataset (all files together)")
    ap.add_argument("--files", type=int, default=8, help="CSV files (= partitions) the dataset is split into")
    ap.add_argument("--model", type=Path, help="bundle directory [default: the bundled default model]")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts, one cluster each")
    ap.add_argument("--batch-size", type=int, default=256, help="documents per onnxruntime call")
    ap.add_argument("--repeats", type=int, default=1, help="runs per worker count; the fastest counts")
    ap.add_argument("--keep", action="store_true", help="keep the scored output directories")
    ap.add_argument("--json", help=f"write the result here [default: benchmarks/out/{NAME}.json]")
    a = ap.parse_args(argv)
    if a.rows < a.files or a.files < 1 or a.repeats < 1 or a.batch_size < 1:
        ap.error("need --files >= 1, --rows >= --files, --repeats >= 1, --batch-size >= 1")
    workers = [int(w) for w in a.workers.split(",")]
    model = a.model or default_model()

    t0 = time.perf_counter()
    paths = make_dataset(a.rows, a.files)
    made_s = time.perf_counter() - t0
    pattern = str(paths[0].parent / "*.csv")
    print(f"dataset: {a.rows:,} rows in {a.files} files under {paths[0].parent} ({made_s:.1f} s to make or find)",
          file=sys.stderr)
    results = []
    for n in workers:
        out = DATA_ROOT / f"scored-{n}w"
        shutil.rmtree(out, ignore_errors=True)
        results.append(run_workers(n, pattern, model, out, a.batch_size, a.repeats))
        if not a.keep:
            shutil.rmtree(out, ignore_errors=True)
        print(f"{n} worker(s): {results[-1]['docs_per_s']:,.0f} docs/s", file=sys.stderr)
    base = results[0]["docs_per_s"]
    identical = len({r["output_sha256"] for r in results}) == 1
    rows = [[r["workers"], r["rows"], r["parts"], round(r["seconds"], 2), round(r["docs_per_s"]),
             f"{r['docs_per_s'] / base:.2f}x"] for r in results]
    model_name = "/".join(model.resolve().parts[-2:])
    print_table(f"lstmtc --engine dask, LocalCluster (processes, 1 thread each), {model_name}",
                ["workers", "rows", "parts", "seconds", "docs/s", "vs first"], rows)
    print(f"outputs identical across worker counts: {'yes' if identical else 'NO'}")
    data = {"benchmark": NAME, "rows": a.rows, "files": a.files, "model": str(model), "batch_size": a.batch_size,
            "repeats": a.repeats, "cores": os.cpu_count(), "results": results, "outputs_identical": identical}
    path = write_json(a.json, NAME, data)
    print(f"wrote {path}", file=sys.stderr)
    if not identical:
        raise SystemExit(1)
    return data


if __name__ == "__main__":
    main()
