"""lstmtc against the peers a user would pick instead (SPEC), side by side on the same files.

    python -m benchmarks.peers sms_spam banking77 ag_news [--data-root ../data] [--ag-news-dir DIR]
        [--csv NAME=PATH] [--only tfidf,fasttext,lstmtc] [--lstmtc-args "--embeddings glove-6b-50d"] ...
        [--limit N] [--seed 0] [--work benchmarks/out/peers-work] [--json-dir benchmarks/out]

For each dataset: ONE train/validation/test split (benchmarks/datasets.py; sources and split
rules in docs/datasets.md), written as WORK/NAME/{train,valid,test}.csv (header ``label,text``,
Python csv quoting). Every model reads exactly those files:

  tfidf     TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) + LogisticRegression(C, max_iter=...),
            scikit-learn defaults otherwise; C in TFIDF_C picked by validation accuracy; fit on train,
            scored on test. Train seconds include the whole C search.
  fasttext  fastText supervised, SPEC's settings: wordNgrams 2, dim 10, lr 0.25, bucket 10M, fastText's
            defaults otherwise (softmax, minCount 1), seeded; epochs in FASTTEXT_EPOCHS picked by
            validation accuracy (SPEC's 5 under-fits small data). Text normalisation, the same for train
            and test: lstmtc.infer.text.basic_english (torchtext's: lower-case, punctuation split off)
            joined by single spaces. Train seconds include the whole epoch search.
  --tokens multilingual  (for scripts without spaces: Chinese, Japanese, Thai) both peers read
            lstmtc.infer.text.multilingual's tokens instead: fastText's normalisation, and TF-IDF's
            analyzer (its 1-2 grams then over those tokens). The default keeps the published rows.
  lstmtc    a subprocess per --lstmtc-args (repeatable; none = lstmtc's defaults):
              lstmtc-train --train TRAIN --valid VALID --text-column text --label-column label --out RUN ARGS
              lstmtc-evaluate RUN TEST --text-column text --label-column label --out RUN/eval
            test figures from RUN/eval/metrics.json (accuracy, the classification report's macro F1).

Train seconds are wall time: feature extraction + fit for TF-IDF+LR, ``train_supervised`` for
fastText (its normalised input file is written before the clock starts), the whole lstmtc-train
process (interpreter and torch start-up, reading, vocabulary, every epoch, checkpoints). Test
seconds likewise (for lstmtc the whole lstmtc-evaluate process, report and PNG included).
Prints one table per dataset and writes benchmarks/out/peers-NAME.json (-limitN with --limit).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

from benchmarks.common import OUT, SHARED, print_table, write_json
from benchmarks.datasets import (
    KNOWN,
    MissingData,
    check,
    class_counts,
    prepare,
    read_split,
    sha256,
    write_split,
)

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = REPO.parent / "data"
MODELS = ("tfidf", "fasttext", "lstmtc")
FASTTEXT = {"wordNgrams": 2, "dim": 10, "lr": 0.25, "epoch": 5, "bucket": 10_000_000}
TITLES = {"tfidf": "TF-IDF 1-2g + LR", "fasttext": "fastText bigrams"}


def version(*dists: str) -> str | None:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    for d in dists:
        try:
            return f"{d} {dist_version(d)}"
        except PackageNotFoundError:
            pass
    return None


def macro_f1(gold, pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, pred, average="macro", zero_division=0))


def accuracy(gold, pred) -> float:
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


# Each peer picks its one free setting on the validation split, as lstmtc picks its best epoch
# there: scikit-learn's default C=1 under-fits sparse 1-2 gram features (90.8% on AG News where
# C=10 gives 91.7%), and 5 fastText epochs under-fit 9k short texts (62% on BANKING77).
TFIDF_C = (1.0, 10.0, 100.0)
FASTTEXT_EPOCHS = (5, 25)


def run_tfidf(train, valid, test, max_iter: int, seed: int, keep: bool = False, tokens: str = "basic_english") -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from lstmtc.infer.text import TOKENIZERS

    t0 = time.perf_counter()
    # basic_english: scikit-learn's own analyzer (the published rows); otherwise that lstmtc tokenizer's.
    own = {} if tokens == "basic_english" else {"tokenizer": TOKENIZERS[tokens], "token_pattern": None,
                                                 "lowercase": False}
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, **own)
    x = vec.fit_transform([t for _, t in train])
    xv = vec.transform([t for _, t in valid])
    grid = {}
    best = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        for c in TFIDF_C:
            clf = LogisticRegression(C=c, max_iter=max_iter, random_state=seed).fit(x, [lab for lab, _ in train])
            grid[c] = accuracy([lab for lab, _ in valid], clf.predict(xv).tolist())
            if best is None or grid[c] > grid[best[0]]:
                best = (c, clf)
    train_s = time.perf_counter() - t0
    c, clf = best
    t0 = time.perf_counter()
    pred = clf.predict(vec.transform([t for _, t in test])).tolist()
    test_s = time.perf_counter() - t0
    gold = [lab for lab, _ in test]
    n_iter = int(max(clf.n_iter_))
    return {"model": "tfidf", "title": TITLES["tfidf"],
            "settings": {"vectorizer": "TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True"
                                       + (f", tokenizer=lstmtc.infer.text.{tokens})" if own else ")"),
                         "classifier": f"LogisticRegression(C={c}, max_iter={max_iter}, random_state={seed})",
                         "C": c, "C_by_valid_acc": grid, "scikit_learn": version("scikit-learn"),
                         "solver": clf.solver, "features": len(vec.vocabulary_), "n_iter": n_iter,
                         "converged": n_iter < max_iter and not any(issubclass(w.category, ConvergenceWarning)
                                                                    for w in caught)},
            "accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred), "train_s": train_s, "test_s": test_s,
            **({"fitted": (vec, clf)} if keep else {})}


def fasttext_text(text: str, tokens: str = "basic_english") -> str:
    """The normalisation a fastText user applies: basic_english (or ``tokens``) tokens joined by single spaces."""
    from lstmtc.infer.text import TOKENIZERS

    return " ".join(TOKENIZERS[tokens](text))


def fasttext_label(label: str) -> str:
    return "__label__" + "_".join(label.split())


def run_fasttext(train, valid, test, work: Path, seed: int, threads: int, keep: bool = False,
                 tokens: str = "basic_english") -> dict:
    import fasttext

    work.mkdir(parents=True, exist_ok=True)
    back = {fasttext_label(lab): lab for lab, _ in train}
    t0 = time.perf_counter()
    train_txt = work / "train.txt"
    with open(train_txt, "w", encoding="utf-8") as f:
        for lab, text in train:
            f.write(f"{fasttext_label(lab)} {fasttext_text(text, tokens)}\n")
    prep_s = time.perf_counter() - t0
    majority = max(class_counts(train).items(), key=lambda kv: kv[1])[0]

    def predict(model, rows):
        labels, _ = model.predict([fasttext_text(t, tokens) for _, t in rows])
        return [back.get(lab[0], majority) if len(lab) else majority for lab in labels], labels

    t0 = time.perf_counter()
    grid, best = {}, None
    for epochs in FASTTEXT_EPOCHS:
        model = fasttext.train_supervised(input=str(train_txt), seed=seed, thread=threads, verbose=0,
                                          **{**FASTTEXT, "epoch": epochs})
        grid[epochs] = accuracy([lab for lab, _ in valid], predict(model, valid)[0])
        if best is None or grid[epochs] > grid[best[0]]:
            best = (epochs, model)
    train_s = time.perf_counter() - t0
    epochs, model = best
    t0 = time.perf_counter()
    pred, labels = predict(model, test)
    test_s = time.perf_counter() - t0
    empty = sum(1 for lab in labels if not len(lab))
    gold = [lab for lab, _ in test]
    settings = {**FASTTEXT, "epoch": epochs, "epoch_by_valid_acc": grid, "loss": "softmax", "minCount": 1,
                "seed": seed, "thread": threads,
                "normalisation": f"' '.join(lstmtc.infer.text.{tokens}(text))",
                "fasttext_version": version("fasttext-numpy2", "fasttext"), "words": len(model.words),
                "test_docs_without_prediction": empty}
    return {"model": "fasttext", "title": TITLES["fasttext"], "settings": settings,
            "accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred), "train_s": train_s,
            "test_s": test_s, "prep_s": prep_s, **({"fitted": model} if keep else {})}


def cli(name: str) -> str:
    """The console script beside this interpreter (the same environment), else the one on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def run_lstmtc(files: dict[str, Path], work: Path, index: int, extra: str) -> dict:
    run_dir = work / f"lstmtc-{index}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    train_cmd = ["lstmtc-train", "--train", str(files["train"]), "--valid", str(files["valid"]),
                 "--text-column", "text", "--label-column", "label", "--out", str(run_dir), *shlex.split(extra)]
    eval_cmd = ["lstmtc-evaluate", str(run_dir), str(files["test"]), "--text-column", "text", "--label-column",
                "label", "--out", str(run_dir / "eval")]
    row = {"model": "lstmtc", "title": f"lstmtc {extra}".strip(), "settings": {"lstmtc_args": extra},
           "commands": [shlex.join(train_cmd), shlex.join(eval_cmd)]}
    for step, cmd in (("train", train_cmd), ("test", eval_cmd)):
        log = work / f"lstmtc-{index}.{step}.log"
        print(f"  {shlex.join(cmd)}  (log: {log})", flush=True)
        t0 = time.perf_counter()
        with open(log, "w", encoding="utf-8") as f:
            rc = subprocess.run([cli(cmd[0]), *cmd[1:]], stdout=f, stderr=subprocess.STDOUT).returncode
        row[f"{step}_s"] = time.perf_counter() - t0
        row[f"{step}_log"] = str(log)
        if rc != 0:
            row["error"] = f"{cmd[0]} exited {rc}: {_tail(log)}"
            return row
    metrics = json.loads((run_dir / "eval" / "metrics.json").read_text(encoding="utf-8"))
    row["accuracy"] = metrics["accuracy"]
    row["macro_f1"] = metrics["classification_report"]["macro avg"]["f1-score"]
    row["metrics"] = str(run_dir / "eval" / "metrics.json")
    return row


def pct(v) -> str:
    return f"{v * 100:.2f}" if isinstance(v, float) else "-"


def comparisons(rows: list[dict]) -> list[str]:
    """One line per lstmtc row: its test accuracy and macro-F1 against the peers'."""
    peers = {r["model"]: r for r in rows if r["model"] != "lstmtc" and "accuracy" in r}
    lines = []
    for r in rows:
        if r["model"] != "lstmtc" or "accuracy" not in r:
            continue
        parts = [f"acc vs {TITLES[m]}: {(r['accuracy'] - p['accuracy']) * 100:+.2f} pt, "
                 f"macro-F1 {r['macro_f1'] - p['macro_f1']:+.3f}" for m, p in peers.items()]
        if parts:
            lines.append(f"{r['title']}: " + "; ".join(parts))
    return lines


def run_dataset(name: str, a, csv_path: Path | None, models: list[str], argv: list[str]) -> dict:
    p = prepare(name, Path(a.data_root), Path(a.ag_news_dir), a.seed, csv_path, a.limit)
    work = Path(a.work) / name
    files = {part: write_split(work / f"{part}.csv", getattr(p, part)) for part in ("train", "valid", "test")}
    # Every model reads the files just written, not the lists they were written from.
    data = {part: read_split(path) for part, path in files.items()}
    train_texts = {t for _, t in data["train"]}
    print(f"== {name}: train {len(data['train'])}, valid {len(data['valid'])}, "
          f"test {len(data['test'])}, {len(class_counts(data['train']))} classes; {p.split}", flush=True)
    rows = []
    if "tfidf" in models:
        rows.append(run_tfidf(data["train"], data["valid"], data["test"], a.max_iter, a.seed, tokens=a.tokens))
    if "fasttext" in models:
        rows.append(run_fasttext(data["train"], data["valid"], data["test"], work / "fasttext", a.seed,
                                    a.fasttext_threads, tokens=a.tokens))
    if "lstmtc" in models:
        for i, extra in enumerate(a.lstmtc_args or [""], 1):
            rows.append(run_lstmtc(files, work, i, extra))
    table = []
    for r in rows:
        note = r.get("error", "")[:100] or ", ".join(f"{k} {v}" for k, v in r["settings"].items()
                                                    if k in ("n_iter", "converged", "thread", "features"))
        table.append([r["title"], pct(r.get("accuracy")),
                      f"{r['macro_f1']:.4f}" if "macro_f1" in r else "-",
                      f"{r['train_s']:.1f}" if "train_s" in r else "-",
                      f"{r['test_s']:.2f}" if "test_s" in r else "-", note])
    limit = f", each split at most {a.limit} rows" if a.limit else ""
    print_table(f"{name}: test set ({len(data['test'])} docs{limit}), seed {a.seed}",
                ["model", "test acc %", "macro-F1", "train s", "test s", "notes"], table)
    for line in comparisons(rows):
        print(line)
    result = {
        "dataset": name, "seed": a.seed, "limit": a.limit, "split": p.split, "sources": p.sources,
        "peer_tokens": a.tokens,
        "sizes": {part: len(rows_) for part, rows_ in data.items()},
        "files": {part: {"path": str(path), "sha256": sha256(path), "rows": len(data[part])}
                  for part, path in files.items()},
        "class_counts": {part: class_counts(rows_) for part, rows_ in data.items()},
        "test_texts_in_train": sum(t in train_texts for _, t in data["test"]),
        "command": shlex.join(["python", "-m", "benchmarks.peers", *argv]),
        "models": rows,
        "comparisons": comparisons(rows),
    }
    suffix = f"-limit{a.limit}" if a.limit else ""
    path = write_json(Path(a.json_dir) / f"peers-{name}{suffix}.json", f"peers-{name}{suffix}", result)
    print(f"wrote {path}")
    return result


def main(argv: list[str] | None = None) -> dict[str, dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__.split("\n")[0])
    ap.add_argument("datasets", nargs="*", metavar="DATASET", help=f"any of {', '.join(KNOWN)}")
    ap.add_argument("--data-root", default=str(DATA_ROOT),
                    help="holds banking77/{train,test}.csv and sms_spam/SMSSpamCollection [%(default)s]")
    ap.add_argument("--ag-news-dir", default=str(SHARED), help="holds train_pool.csv and test.csv [%(default)s]")
    ap.add_argument("--csv", action="append", default=[], metavar="NAME=PATH",
                    help="another dataset: one CSV/TSV with a header naming label and text, split 70/10/20")
    ap.add_argument("--only", default=",".join(MODELS), help="comma-separated subset of %(default)s")
    ap.add_argument("--lstmtc-args", action="append", metavar="ARGS",
                    help="extra lstmtc-train flags, one lstmtc row each (repeatable; none: lstmtc's defaults)")
    ap.add_argument("--limit", type=int, help="subsample each split to at most N rows (stratified): a smoke run")
    ap.add_argument("--seed", type=int, default=0, help="the split's seed, and LR's and fastText's")
    ap.add_argument("--max-iter", type=int, default=1000, help="LogisticRegression's max_iter [%(default)s]")
    ap.add_argument("--fasttext-threads", type=int, default=os.cpu_count() or 1, help="[%(default)s: the cores]")
    ap.add_argument("--tokens", choices=("basic_english", "multilingual"), default="basic_english",
                    help="the peers' tokens: multilingual for Chinese, Japanese, Thai, ... [%(default)s]")
    ap.add_argument("--work", default=str(OUT / "peers-work"), help="split files and runs go here [%(default)s]")
    ap.add_argument("--json-dir", default=str(OUT), help="peers-NAME.json goes here [%(default)s]")
    a = ap.parse_args(argv)
    models = [m.strip() for m in a.only.split(",") if m.strip()]
    if bad := [m for m in models if m not in MODELS]:
        ap.error(f"--only: unknown {', '.join(bad)}; choose from {', '.join(MODELS)}")
    if a.limit is not None and a.limit < 2:
        ap.error("--limit must be at least 2")
    todo: list[tuple[str, Path | None]] = []
    for name in a.datasets:
        if name not in KNOWN:
            ap.error(f"unknown dataset {name!r}; known: {', '.join(KNOWN)} (or --csv NAME=PATH)")
        todo.append((name, None))
    for spec in a.csv:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            ap.error(f"--csv wants NAME=PATH, not {spec!r}")
        todo.append((name, Path(path)))
    if not todo:
        ap.error("name at least one dataset or give --csv NAME=PATH")
    if "fasttext" in models:
        try:
            import fasttext  # noqa: F401
        except ImportError as e:
            ap.exit(2, f"error: fastText is not installed ({e}); pip install 'lstmtc[bench]' or leave it out "
                       f"with --only\n")
    try:  # every file before any work: a missing one is a one-line error, not a traceback an hour in
        for name, csv_path in todo:
            check(name, Path(a.data_root), Path(a.ag_news_dir), csv_path)
    except MissingData as e:
        ap.exit(2, f"error: {e}\n")
    return {name: run_dataset(name, a, csv_path, models, argv) for name, csv_path in todo}


if __name__ == "__main__":
    main()
