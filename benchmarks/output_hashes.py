"""SHA-256 of lstmtc-classify's output on the 7,600 AG News test texts, in every mode: a refactoring
that must not change a byte of output is checked against the hashes recorded before it.

    python -m benchmarks.output_hashes                       # print the table, write benchmarks/out/output_hashes.json
    python -m benchmarks.output_hashes --record FILE         # ... and write the hashes to FILE (the reference)
    python -m benchmarks.output_hashes --check benchmarks/expected_hashes.json   # exit 1 on any difference

It runs the installed console script (``lstmtc-classify`` of this environment) as a user would, with the
bundled default model, on ``../shared/data/ag_news/test.csv`` and on a text file made from it (one
document per line: ``title + " " + description``, as the model was trained). Modes:

- ``labels``, ``prob_k2`` (``--prob -k 2``), ``jsonl`` (``--format jsonl``), ``tsv_prob_k4``
  (``--format tsv --prob -k 4``), ``csv_threshold`` (``--format csv -k 3 --threshold 0.2``): stdout
  of line mode on the text file;
- ``stdin_blanks``: the text file with an empty line after every 97th line, on stdin (blank lines
  must stay aligned);
- ``csv_prob``: ``--csv test.csv --no-header --title-column 2 --text-column 3 --prob -o FILE``: FILE;
- ``tsv``: the same rows as a TSV file with a header and without quote characters (each ``"``
  written as ``'``, so CSV and TSV quoting rules read it alike; ``--tsv --text-column description
  --title-column title -o FILE``): FILE;
- ``eval``: ``--eval test.csv``: stdout, with ``COLUMNS=120`` so rich draws its tables at one width
  (the report holds no timing and no path; the hash covers all of stdout);
- ``dask``: ``--csv test.csv ... --engine dask --workers 2 -o DIR``: the bytes of ``DIR/part-00000.csv``.
  ``DIR/_SUCCESS`` is left out of the hash: it records the run's seconds and absolute paths.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import OUT, SHARED, print_table

TEST_CSV = SHARED / "test.csv"
AG = ["--no-header", "--title-column", "2", "--text-column", "3"]


def classify_exe() -> list[str]:
    """The installed console script; without one, its entry point as the package metadata names it."""
    for exe in (Path(sys.prefix) / "bin" / "lstmtc-classify", Path(sys.executable).parent / "lstmtc-classify"):
        if exe.exists():
            return [str(exe)]
    from importlib.metadata import entry_points

    ep = next(iter(entry_points(group="console_scripts", name="lstmtc-classify")))
    return [sys.executable, "-c", f"from {ep.module} import {ep.attr}; {ep.attr}()"]


def write_inputs(tmp: Path, test_csv: Path) -> dict[str, Path]:
    with open(test_csv, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    texts = [f"{title} {body}" for _, title, body in rows]
    paths = {"txt": tmp / "texts.txt", "blanks": tmp / "blanks.txt", "tsv": tmp / "test.tsv"}
    paths["txt"].write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    paths["blanks"].write_text("".join(t + "\n" + ("\n" if i % 97 == 96 else "") for i, t in enumerate(texts)),
                               encoding="utf-8")
    # TSV without quoting: AG News texts hold no tabs or newlines, and quotes become apostrophes.
    # The class column is "class", not "label": scoring adds a "label" column, and an input that
    # already has one is refused since #17 (it gave two columns of that name).
    assert not any("\t" in x or "\n" in x for r in rows for x in r)
    paths["tsv"].write_text("class\ttitle\tdescription\n"
                            + "".join("\t".join(r).replace('"', "'") + "\n" for r in rows), encoding="utf-8")
    return paths


def modes(paths: dict[str, Path], test_csv: Path, tmp: Path) -> dict[str, dict]:
    """name -> {"args": [...], "stdin": path or None, "hash": "stdout" or a path}."""
    txt = str(paths["txt"])
    return {
        "labels": {"args": [txt]},
        "prob_k2": {"args": [txt, "--prob", "-k", "2"]},
        "jsonl": {"args": [txt, "--format", "jsonl"]},
        "tsv_prob_k4": {"args": [txt, "--format", "tsv", "--prob", "-k", "4"]},
        "csv_threshold": {"args": [txt, "--format", "csv", "-k", "3", "--threshold", "0.2"]},
        "stdin_blanks": {"args": [], "stdin": paths["blanks"]},
        "csv_prob": {"args": ["--csv", str(test_csv), *AG, "--prob", "-o", str(tmp / "scored.csv")],
                     "hash": tmp / "scored.csv"},
        "tsv": {"args": ["--tsv", str(paths["tsv"]), "--title-column", "title", "--text-column", "description",
                         "-o", str(tmp / "scored.tsv")], "hash": tmp / "scored.tsv"},
        "eval": {"args": ["--eval", str(test_csv)]},
        "dask": {"args": ["--csv", str(test_csv), *AG, "--engine", "dask", "--workers", "2", "-o", str(tmp / "dask")],
                 "hash": tmp / "dask" / "part-00000.csv"},
    }


def run_mode(spec: dict, command: list[str] | None = None) -> dict:
    env = {**os.environ, "COLUMNS": "120"}
    if command is None:
        env.pop("PYTHONPATH", None)
    stdin = open(spec["stdin"], "rb") if spec.get("stdin") else subprocess.DEVNULL
    t0 = time.perf_counter()
    try:
        proc = subprocess.run((command or classify_exe()) + spec["args"], stdin=stdin, capture_output=True, env=env,
                              timeout=900)
    finally:
        if spec.get("stdin"):
            stdin.close()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"lstmtc-classify {' '.join(spec['args'])} exited {proc.returncode}:\n"
                         + proc.stderr.decode(errors="replace"))
    target = spec.get("hash", "stdout")
    data = proc.stdout if target == "stdout" else Path(target).read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "seconds": round(seconds, 2),
            "hashed": "stdout" if target == "stdout" else Path(target).name}


def measure(test_csv: Path = TEST_CSV, only: list[str] | None = None, command: list[str] | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="lstmtc-hashes-") as d:
        tmp = Path(d)
        specs = modes(write_inputs(tmp, test_csv), test_csv, tmp)
        return {name: run_mode(spec, command) for name, spec in specs.items() if not only or name in only}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--test-csv", type=Path, default=TEST_CSV)
    ap.add_argument("--only", nargs="*", help="Run only these modes.")
    ap.add_argument("--record", type=Path, help="Write the hashes to this JSON file (the reference).")
    ap.add_argument("--check", type=Path, help="Compare against a recorded JSON file; exit 1 on a difference.")
    ap.add_argument("--json", type=Path, help="Where to write this run's JSON [default: benchmarks/out/].")
    ap.add_argument("--command", help="Run this command line instead of the installed lstmtc-classify (another "
                                      "checkout: 'python -c \"from lstmtc.infer.cli import run; run()\"' with "
                                      "PYTHONPATH set to it).")
    args = ap.parse_args(argv)
    if not args.test_csv.exists():
        raise SystemExit(f"{args.test_csv} is absent: the hashes are of the AG News test set")
    got = measure(args.test_csv, args.only, shlex.split(args.command) if args.command else None)
    expected = json.loads(args.check.read_text())["modes"] if args.check else {}
    rows = []
    for name, r in got.items():
        want = expected.get(name, {}).get("sha256")
        same = "" if not args.check else ("same" if want == r["sha256"] else ("DIFFERENT" if want else "not recorded"))
        rows.append([name, r["hashed"], r["bytes"], r["sha256"][:16], r["seconds"]] + ([same] if args.check else []))
    print_table("lstmtc-classify output on the AG News test set (SHA-256)",
                ["mode", "hashed", "bytes", "sha256 (first 16)", "seconds"] + (["vs recorded"] if args.check else []),
                rows)
    doc = {"test_csv": str(args.test_csv), "modes": {n: {k: r[k] for k in ("sha256", "bytes", "hashed")}
                                                     for n, r in got.items()}}
    out = args.json or OUT / "output_hashes.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**doc, "seconds": {n: r["seconds"] for n, r in got.items()}}, indent=1) + "\n")
    if args.record:
        recorded = json.loads(args.record.read_text())["modes"] if args.record.exists() else {}
        args.record.write_text(json.dumps({**doc, "modes": {**recorded, **doc["modes"]}}, indent=1) + "\n")
        print(f"recorded {args.record} ({', '.join(doc['modes'])})")
    if args.check:
        bad = [n for n in got if expected.get(n, {}).get("sha256") != got[n]["sha256"]]
        if bad:
            print(f"DIFFERENT from {args.check}: {', '.join(bad)}", file=sys.stderr)
            return 1
        print(f"all {len(got)} modes match {args.check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
