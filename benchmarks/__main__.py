"""Benchmarks of lstmtc-classify against a PyTorch baseline: one run, one table per section, one JSON.

    python -m benchmarks [--quick] [--presets 1 2 5] [--json out.json]
                         [--only throughput,stages,coldstart,rss,int8,sweep,budget]

Sections (each in its own module, see their docstrings):
  throughput  end-to-end docs/s of lstmtc-classify vs the torch baseline (benchmarks/torch_baseline.py)
  stages      shares of read / tokenize / vectorize / session.run / postprocess / write
  coldstart   one line, process start to exit, lstmtc-classify vs the torch one-liner
  rss         peak RSS of lstmtc-classify on the test set and a >= 1M-row synthetic CSV
  int8        docs/s and accuracy, fp32 vs int8
  sweep       batch size x threads -> docs/s
  budget      torch collate / forward vs lstmtc text path / session.run: the ceiling of section 1's ratio

Every section runs on the same trained models (runs/presetN/best.pt and its bundle,
runs/presetN/bundle; a missing bundle is exported into benchmarks/out/bundles/) and on the AG News
test set. throughput and int8 run for every preset; stages, coldstart, rss and sweep for the first
one given (``--all-presets`` runs them for every preset). Absolute figures depend on the machine
and its load; the targets are ratios measured side by side in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks import budget, coldstart, int8, rss, stages, sweep, throughput
from benchmarks.common import OUT, SHARED, machine, wide_console, write_json

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("throughput", "stages", "coldstart", "rss", "int8", "sweep", "budget")
PER_PRESET = ("throughput", "int8", "budget")  # the others run on the first preset unless --all-presets
MODULES = {"throughput": throughput, "stages": stages, "coldstart": coldstart, "rss": rss, "int8": int8,
           "sweep": sweep, "budget": budget}
QUICK = {"texts": 500, "csv_rows": 20_000, "repeats": 2, "coldstart_runs": 3, "copies": 1}
FULL = {"texts": None, "csv_rows": 1_000_000, "repeats": 5, "coldstart_runs": 10, "copies": 5}


def fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        a = abs(v)
        if a >= 1000:
            return f"{v:,.0f}"
        if a >= 100:
            return f"{v:.0f}"
        if a >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}" if a >= 0.001 or v == 0 else f"{v:.2e}"
    return str(v)


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    """A rich table as wide as it needs (piped output gets no 80-column squeeze)."""
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*[fmt(v) for v in r])
    wide_console(220).print(t)


def resolve_bundle(preset: int, runs: Path, work: Path, log=print) -> dict:
    """{"ckpt", "bundle", "source"} for runs/presetN, or {"skipped": reason}."""
    run_dir = runs / f"preset{preset}"
    ckpt = run_dir / "best.pt"
    if not ckpt.exists():
        return {"skipped": f"no {ckpt.relative_to(runs.parent) if runs.parent in ckpt.parents else ckpt}"}
    bundle = run_dir / "bundle"
    if (bundle / "bundle.json").exists():
        if (bundle / "bundle.json").stat().st_mtime >= ckpt.stat().st_mtime:
            return {"ckpt": str(ckpt), "bundle": str(bundle), "source": "run"}
        log(f"preset {preset}: {bundle} is older than {ckpt}; exporting a fresh bundle into {work / 'bundles'}")
    cached = work / "bundles" / f"preset{preset}"
    if (cached / "bundle.json").exists() and (cached / "bundle.json").stat().st_mtime >= ckpt.stat().st_mtime:
        return {"ckpt": str(ckpt), "bundle": str(cached), "source": "exported earlier"}
    from lstmtc.export import export_bundle

    log(f"preset {preset}: exporting {ckpt} (fp32 + int8) into {cached}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        export_bundle(ckpt, cached, force=True, precisions=("int8",))
    except Exception as e:  # e.g. a checkpoint being rewritten by a training run right now
        return {"skipped": f"exporting {ckpt} failed ({type(e).__name__}: {e})"}
    return {"ckpt": str(ckpt), "bundle": str(cached), "source": "exported now"}


def subset(n_total: int, n: int | None) -> list[int]:
    """``n`` indices spread evenly over ``range(n_total)`` (all of them when ``n`` is None or larger)."""
    if n is None or n >= n_total:
        return list(range(n_total))
    return [i * n_total // n for i in range(n)]


def write_lines(path: Path, texts: list[str]) -> Path:
    """One document per line; a newline inside a document (none in AG News) would split it, so it
    becomes a space."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        for t in texts:
            f.write(t.replace("\r", " ").replace("\n", " ") + "\n")
    return path


def parse_args(argv=None) -> argparse.Namespace:
    from lstmtc.infer.scoring.scorer import DEFAULT_BATCH

    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"a small run to check that everything works ({QUICK['texts']} texts, "
                         f"{QUICK['csv_rows']:,} CSV rows, {QUICK['repeats']} repeats)")
    ap.add_argument("--presets", type=int, nargs="+", default=[1, 2, 5])
    ap.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    ap.add_argument("--json", help="write all figures here [default: benchmarks/out/benchmarks[_quick].json]")
    ap.add_argument("--runs", default=str(REPO / "runs"), help="directory holding presetN training runs")
    ap.add_argument("--test", default=str(SHARED / "test.csv"), help="labelled test set (AG News layout)")
    ap.add_argument("--work", default=str(OUT), help="cache and scratch directory")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for both sides of throughput, rss, int8 (stages: always one)")
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    ap.add_argument("--texts", type=int, help="use this many test texts (spread over the set) [default: all]")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--copies", type=int, help="throughput: feed the texts this many times over [default: 5]")
    ap.add_argument("--csv-rows", type=int, help="rows of the synthetic CSV for rss [default: 1,000,000]")
    ap.add_argument("--coldstart-runs", type=int)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=list(sweep.BATCH_SIZES), help="sweep batch sizes")
    ap.add_argument("--sweep-threads", type=int, nargs="+", help="sweep thread counts [default: 1, 2, cores]")
    ap.add_argument("--all-presets", action="store_true", help="run every section for every preset")
    a = ap.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    defaults = QUICK if a.quick else FULL
    for key, value in defaults.items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    a.sections = [s.strip() for s in a.only.split(",")] if a.only else list(SECTIONS)
    unknown = [s for s in a.sections if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    return a


def command_for(argv: list[str], section: str) -> str:
    """The command that reproduces one section's figures: this run's options, that section only."""
    words, skip = [], False
    for w in argv:
        if skip:
            skip = False
            continue
        if w in ("--only", "--json"):
            skip = True
            continue
        if w.startswith(("--only=", "--json=")):
            continue
        words.append(w)
    return " ".join(["python -m benchmarks", *words, "--only", section])


def main(argv=None) -> int:
    a = parse_args(argv)
    from lstmtc.infer.data import read_labelled

    runs, work = Path(a.runs), Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()
    bundles = {p: resolve_bundle(p, runs, work) for p in a.presets}
    available = [p for p in a.presets if "skipped" not in bundles[p]]
    data = read_labelled(a.test)
    idx = subset(len(data), a.texts)
    texts = [data.texts[i] for i in idx]
    gold = [data.labelset.values[data.labels[i]] for i in idx]
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    report: dict = {
        "config": {"quick": a.quick, "presets": a.presets, "sections": a.sections, "threads": a.threads,
                   "batch_size": a.batch_size, "repeats": a.repeats, "n_texts": len(texts), "test": a.test,
                   "csv_rows": a.csv_rows, "coldstart_runs": a.coldstart_runs, "copies": a.copies,
                   "argv": a.argv},
        "bundles": {str(p): b for p, b in bundles.items()},
        "sections": {},
        "commands": {s: command_for(a.argv, s) for s in a.sections},
    }
    failed = False
    try:
        text_file = write_lines(scratch / "texts.txt", texts)
        one_line = write_lines(scratch / "one_line.txt", texts[:1])
        for section in a.sections:
            per_preset = section in PER_PRESET or a.all_presets
            targets = a.presets if per_preset else a.presets[:1]
            results = {}
            for p in targets:
                b = bundles[p]
                if "skipped" in b:
                    results[str(p)] = {"skipped": f"skipped: {b['skipped']}"}
                    continue
                t0 = time.perf_counter()
                try:
                    results[str(p)] = run_section(section, a, b, text_file, one_line, texts, gold, scratch, work)
                except Exception as e:  # one broken section must not lose the others' figures
                    traceback.print_exc()
                    results[str(p)] = {"error": f"{type(e).__name__}: {e}"}
                    failed = True
                results[str(p)]["section_s"] = time.perf_counter() - t0
            report["sections"][section] = results
            title, columns, rows = MODULES[section].table(results)
            print_table(title, columns, rows)
            print(f"  reproduce: {report['commands'][section]}")
        report["targets"] = targets_summary(report["sections"])
        if report["targets"]:
            print_table("targets", ["target", "preset", "measured", "met"],
                        [[t["target"], t["preset"], t["measured"], {True: "yes", False: "NO"}.get(t["met"], "n/a")]
                         for t in report["targets"]])
        mismatch = [p for p, r in report["sections"].get("throughput", {}).items()
                    if r.get("labels_identical") is False]
        if mismatch:
            print(f"ERROR: lstmtc-classify and the torch baseline predicted different labels for preset(s) "
                  f"{', '.join(mismatch)}", file=sys.stderr)
            failed = True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["elapsed_s"] = time.time() - started
    report["loadavg"] = {"before": load_before, "after": os.getloadavg()}
    default_json = work / ("benchmarks_quick.json" if a.quick else "benchmarks.json")
    path = write_json(a.json or default_json, "benchmarks", report)
    print(f"wrote {path} ({report['elapsed_s']:.0f} s; load average before/after "
          f"{load_before[0]:.2f}/{report['loadavg']['after'][0]:.2f} on {machine()['cores']} cores)")
    if not available:
        print("no preset had a trained run; nothing was measured", file=sys.stderr)
        failed = True
    return 1 if failed else 0


def run_section(section, a, b, text_file, one_line, texts, gold, scratch: Path, work: Path) -> dict:
    bundle, ckpt = b["bundle"], b["ckpt"]
    if section == "throughput":
        return throughput.measure(bundle, ckpt, text_file, one_line, a.threads, a.batch_size, a.repeats, scratch,
                                  copies=a.copies)
    if section == "stages":
        return stages.measure(bundle, text_file, 1, a.batch_size, a.repeats, scratch)  # clocks overlap on more
    if section == "coldstart":
        return coldstart.measure(bundle, ckpt, a.coldstart_runs)
    if section == "rss":
        synthetic = rss.synthetic_csv(a.csv_rows, work)
        return rss.measure(bundle, text_file, one_line, a.test, synthetic, a.threads, a.batch_size, scratch)
    if section == "int8":
        return int8.measure(bundle, texts, gold, a.threads, a.batch_size, a.repeats)
    if section == "sweep":
        return sweep.measure(bundle, texts, a.batch_sizes, a.sweep_threads, a.repeats)
    if section == "budget":
        return budget.measure(bundle, ckpt, texts, a.threads, a.batch_size, a.repeats)
    raise ValueError(section)


def targets_summary(sections: dict) -> list[dict]:
    out = []
    for p, r in sections.get("throughput", {}).items():
        if "ratio" in r:
            steady = f"{r['ratio_steady']:.2f}x" if r["steady_reliable"] else "n/a (too little work)"
            inproc = f", in-process {r['in_process']['ratio']:.2f}x" if "in_process" in r else ""
            out.append({"target": "1. throughput >= 3x torch (steady)", "preset": p,
                        "measured": f"{steady} (incl. start-up {r['ratio']:.2f}x{inproc})", "met": r["target_met"]})
    for p, r in sections.get("stages", {}).items():
        if "shares" in r:
            worst = max((s for s in r["shares"] if s != "session.run"), key=r["shares"].get)
            out.append({"target": "2. no stage but session.run > 30%", "preset": p,
                        "measured": f"largest: {worst} {r['shares'][worst] * 100:.1f}%", "met": r["target_met"]})
    for p, r in sections.get("coldstart", {}).items():
        if "median_s" in r:
            out.append({"target": "3. cold start <= 0.5 s and <= 0.3x torch", "preset": p,
                        "measured": f"{r['median_s']['lstmtc']:.3f} s, {r['ratio']:.2f}x", "met": r["target_met"]})
    return out


if __name__ == "__main__":
    sys.exit(main())
