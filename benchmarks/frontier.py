"""The accuracy / speed frontier on AG News: lstmtc's models beside fastText and TF-IDF+LR.

    python -m benchmarks.frontier [--bundle NAME=DIR ...] [--runs runs] [--copies 4] [--repeats 3]
        [--threads 1] [--json docs/frontier.json] [--png docs/frontier.png]

One split for every model: the AG News train pool cut exactly as ``lstmtc-train --train
train_pool.csv`` cuts it (``lstmtc.train.prepare.stratified_indices``, 5%, seed 0: the rows every
lstmtc model here validated on) and the official test set. For each model:

- test accuracy and macro-F1 on the 7,600 test documents;
- training seconds: for the peers the fit measured here (with their one setting -- C, fastText's
  epochs -- picked on the validation rows, as lstmtc picks its epoch); for lstmtc models the sum of
  the epoch times its run recorded (the run directory's history.jsonl where the checkpoint named in
  bundle.json is found, else bundle.json's history up to the best epoch), on the same kind of
  machine (reading the data and loading vectors, a few seconds, not included);
- whole-process throughput: the test texts (title + " " + description) COPIES times over, one per
  line, classified by a real process as a user runs it -- ``lstmtc-classify -m DIR < FILE`` for
  lstmtc, ``benchmarks/peer_predict.py`` (load, read, tokenize, predict, print) for a peer -- the
  commands alternating in each repeat, the median wall time giving docs/s.

lstmtc models: ``--bundle NAME=DIR`` (repeatable; default: the bundled model, artifacts/ag_news)
and the reference presets found as RUNS/presetN (best.pt; exported to RUNS/presetN/bundle when
missing). Writes a table, JSON (--json) and the accuracy-vs-docs/s chart (--png, matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import OUT, SHARED, print_table, write_json
from benchmarks.lengths import write_texts
from benchmarks.throughput import alternate, count_lines, lstmtc_cmd

REPO = Path(__file__).resolve().parents[1]
PEER_SCRIPT = Path(__file__).resolve().with_name("peer_predict.py")
DOCS = REPO / "docs"


def split_pool(pool: Path, seed: int = 0, fraction: float = 0.05):
    """(train, valid) rows ``(label value, text)`` of the pool, cut as lstmtc-train cuts it."""
    from lstmtc.infer.data import read_labelled
    from lstmtc.train.prepare import stratified_indices

    data = read_labelled(pool)
    tr, va = stratified_indices(data.labels, fraction, seed)
    values = data.labelset.values
    rows = [(values[y], t) for y, t in zip(data.labels, data.texts)]
    return [rows[i] for i in tr], [rows[i] for i in va]


def read_test(test: Path):
    from benchmarks.datasets import read_agnews_original

    return read_agnews_original(test)


def score_bundle(bundle: Path, test: Path) -> dict:
    """Test accuracy and macro-F1 of an lstmtc bundle (in process), and what its run recorded."""
    from lstmtc.infer import Classifier
    from lstmtc.infer.scoring.metrics import report as metrics_report
    from lstmtc.infer.scoring.report import evaluate_file
    from lstmtc.infer.scoring.scorer import Scorer

    clf = Classifier.load(bundle)
    ev = evaluate_file(test, clf.bundle.labelset, clf.bundle.columns, Scorer(clf).classes)
    rep = metrics_report(ev.gold, ev.pred, clf.labels)
    prov = clf.bundle.manifest.get("provenance") or {}
    history = prov.get("history") or []
    best = max(history, key=lambda h: h.get("valid_macro_f1", h.get("valid_acc", 0)), default={})
    # best.pt's history ends at the best epoch; the run directory's history.jsonl also holds the
    # epochs early stopping waited through, which the training took too.
    run_history = Path(str(prov.get("checkpoint", ""))).parent / "history.jsonl"
    if prov.get("checkpoint") and run_history.is_file():
        history = [json.loads(line) for line in run_history.read_text().splitlines() if line.strip()]
    return {"accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"],
            "train_s": sum(h.get("seconds", 0.0) for h in history) or None,
            "epochs": len(history), "valid_acc": best.get("valid_acc"), "bundle_bytes": bundle_bytes(bundle),
            "model_config": prov.get("model_config"), "padding_side": clf.pipeline.padding_side,
            "max_tokens": clf.pipeline.max_tokens, "format_version": clf.bundle.manifest.get("version")}


def preset_bundles(runs: Path, log) -> dict[str, Path]:
    found = {}
    for p in range(1, 6):
        run = runs / f"preset{p}"
        if not (run / "best.pt").exists():
            continue
        bundle = run / "bundle"
        if not (bundle / "bundle.json").exists():
            from lstmtc.export import export_bundle

            log(f"exporting {run / 'best.pt'} -> {bundle}")
            export_bundle(run / "best.pt", bundle, force=True)
        found[f"preset {p}"] = bundle
    return found


def train_peers(train, valid, test, work: Path, seed: int, log) -> dict[str, dict]:
    import joblib

    from benchmarks import peers

    out = {}
    log("training TF-IDF + LR (C picked on validation)")
    r = peers.run_tfidf(train, valid, test, max_iter=1000, seed=seed, keep=True)
    path = work / "tfidf.joblib"
    joblib.dump(r.pop("fitted"), path)
    out["TF-IDF 1-2g + LR"] = {**r, "kind": "tfidf", "model_path": str(path), "model_bytes": path.stat().st_size}
    log("training fastText bigrams (epochs picked on validation, 1 thread: deterministic)")
    r = peers.run_fasttext(train, valid, test, work / "fasttext", seed=seed, threads=1, keep=True)
    path = work / "fasttext.bin"
    r.pop("fitted").save_model(str(path))
    out["fastText bigrams"] = {**r, "kind": "fasttext", "model_path": str(path), "model_bytes": path.stat().st_size}
    return out


def throughput(cmds: dict[str, list[str]], text_file: Path, repeats: int, work: Path, log) -> dict[str, dict]:
    return alternate(cmds, text_file, repeats, dict.fromkeys(cmds, work / "out.txt"), log)


def bundle_bytes(bundle: Path) -> int:
    """What a bundle ships: bundle.json and every file it lists."""
    names = json.loads((bundle / "bundle.json").read_text())["files"]
    return sum((bundle / name).stat().st_size for name in [*names, "bundle.json"])


# Where a point's name may go, in offset points from the point, tried in this order.
LABEL_SPOTS = (((6, 4), "left"), ((6, -11), "left"), ((-6, 4), "right"), ((-6, -11), "right"))


def place_labels(ax, rows: list[dict]) -> list:
    """Name every point, highest accuracy first, at the first of ``LABEL_SPOTS`` where the name
    stays inside the axes and overlaps no name placed before it (measured as drawn); the first spot
    if none is free."""
    renderer = ax.figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    placed, labels = [], [None] * len(rows)

    def taken(box) -> bool:
        return (any(box.overlaps(other) for other in placed) or box.x0 < inside.x0 or box.x1 > inside.x1
                or box.y0 < inside.y0 or box.y1 > inside.y1)

    def name(r: dict, spot):
        offset, ha = spot
        return ax.annotate(r["name"], (r["docs_per_s"], r["accuracy"] * 100), textcoords="offset points",
                           xytext=offset, ha=ha, fontsize=8)

    for i in sorted(range(len(rows)), key=lambda i: -rows[i]["accuracy"]):
        label = None
        for spot in LABEL_SPOTS:
            label = name(rows[i], spot)
            if not taken(label.get_window_extent(renderer).expanded(1.02, 1.1)):
                break
            label.remove()
            label = None
        label = label or name(rows[i], LABEL_SPOTS[0])
        placed.append(label.get_window_extent(renderer).expanded(1.02, 1.1))
        labels[i] = label
    return labels


def chart(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for r in rows:
        color = {"lstmtc": "tab:blue", "peer": "tab:orange"}[r["family"]]
        marker = "*" if r.get("bundled") else "o"
        ax.scatter(r["docs_per_s"], r["accuracy"] * 100, s=160 if r.get("bundled") else 50, c=color, marker=marker,
                   zorder=3)
    from matplotlib.lines import Line2D

    ax.legend(handles=[Line2D([], [], marker="*", color="tab:blue", ls="", markersize=12, label="lstmtc, bundled"),
                       Line2D([], [], marker="o", color="tab:blue", ls="", label="lstmtc, other models"),
                       Line2D([], [], marker="o", color="tab:orange", ls="", label="peers")],
              loc="lower left", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("whole-process classify throughput, docs/s (log scale; higher is better)")
    ax.set_ylabel("AG News test accuracy, % (higher is better)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    place_labels(ax, rows)  # after the layout: the names are placed where they will be drawn
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.frontier", description=__doc__.split("\n")[0])
    ap.add_argument("--pool", type=Path, default=SHARED / "train_pool.csv")
    ap.add_argument("--test", type=Path, default=SHARED / "test.csv")
    ap.add_argument("--bundle", action="append", default=[], metavar="NAME=DIR",
                    help="an lstmtc bundle to place on the frontier [default: bundled=artifacts/ag_news]")
    ap.add_argument("--runs", type=Path, default=REPO / "runs", help="directory holding presetN runs")
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="lstmtc-classify --threads [default: onnxruntime's, all cores; fastText predicts on one "
                         "thread per call and scikit-learn on one]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=OUT / "frontier-work")
    ap.add_argument("--json", default=str(DOCS / "frontier.json"))
    ap.add_argument("--png", type=Path, default=DOCS / "frontier.png")
    a = ap.parse_args(argv)

    def log(s: str) -> None:
        print(s, file=sys.stderr, flush=True)

    bundles = dict(b.split("=", 1) for b in a.bundle) if a.bundle else {"bundled": str(REPO / "artifacts" / "ag_news")}
    bundles = {k: Path(v) for k, v in bundles.items()}
    bundles.update(preset_bundles(a.runs, log))
    a.work.mkdir(parents=True, exist_ok=True)
    train, valid = split_pool(a.pool, a.seed)
    test = read_test(a.test)
    log(f"split: {len(train):,} train / {len(valid):,} valid rows of {a.pool}; {len(test):,} test rows")
    t0 = time.perf_counter()
    peer_results = train_peers(train, valid, test, a.work, a.seed, log)
    models: dict[str, dict] = {}
    for name, r in peer_results.items():
        models[name] = {"family": "peer", "accuracy": r["accuracy"], "macro_f1": r["macro_f1"],
                        "train_s": r["train_s"], "settings": r["settings"], "model_bytes": r["model_bytes"]}
    cmds = {}
    for name, path in bundles.items():
        log(f"scoring {name} ({path}) on the test set")
        models[name] = {"family": "lstmtc", "bundle": str(path), **score_bundle(path, a.test),
                        "bundled": name == "bundled"}
        cmds[name] = lstmtc_cmd(path, a.threads)
    for name, r in peer_results.items():
        cmds[name] = [sys.executable, str(PEER_SCRIPT), r["kind"], r["model_path"]]
    with tempfile.TemporaryDirectory() as tmp:
        text_file = write_texts(a.test, Path(tmp) / "texts.txt", a.copies)
        n = count_lines(text_file)
        log(f"throughput: {n:,} lines, {a.repeats} repeats")
        speed = throughput(cmds, text_file, a.repeats, Path(tmp), log)
    rows = []
    for name, m in models.items():
        m.update(speed[name])
        rows.append({"name": name, **m})
    fast = speed["fastText bigrams"]["docs_per_s"]
    for r in rows:
        r["docs_per_s_vs_fasttext"] = r["docs_per_s"] / fast
    rows.sort(key=lambda r: -r["accuracy"])
    table = [[r["name"], f"{r['accuracy'] * 100:.2f}", f"{r['macro_f1']:.4f}",
              f"{r['train_s']:.0f}" if r.get("train_s") else "-", f"{r['docs_per_s']:,.0f}",
              f"{r['docs_per_s_vs_fasttext']:.2f}x",
              f"{(r.get('bundle_bytes') or r.get('model_bytes') or 0) / 1e6:.1f}"] for r in rows]
    title = (f"AG News: {len(train):,} training rows of the pool, {len(test):,} test documents; docs/s = whole "
             f"process on {n:,} lines (test x{a.copies})")
    print_table(title, ["model", "test acc %", "macro-F1", "train s", "docs/s", "vs fastText", "model MB"], table)
    out = {"split": {"pool": str(a.pool), "train": len(train), "valid": len(valid), "test": len(test),
                     "how": "lstmtc.train.prepare.stratified_indices(labels, 0.05, seed)", "seed": a.seed},
           "copies": a.copies, "repeats": a.repeats, "lines": n, "threads": a.threads,
           "wall_s": time.perf_counter() - t0, "models": rows}
    chart(rows, a.png, "AG News: accuracy vs whole-process throughput (2-core machine)")
    path = write_json(a.json, "frontier", out)
    print(f"wrote {path} and {a.png}")
    return out


if __name__ == "__main__":
    main()
