"""The short predict script a peer's user writes: load the model, read the lines, tokenize, predict,
print one label per line (an empty line for an empty line, as lstmtc-classify does).

    python benchmarks/peer_predict.py fasttext MODEL.bin < FILE > OUT
    python benchmarks/peer_predict.py tfidf MODEL.joblib < FILE > OUT

Both tokenize the way their models were trained (benchmarks/peers.py): fastText on
``basic_english`` tokens joined by spaces, TF-IDF on the raw text (scikit-learn's own analyzer).
``MODEL.joblib`` is a (TfidfVectorizer, LogisticRegression) pair written by benchmarks/frontier.py
itself; joblib unpickles, so never point this at a file from elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `lstmtc` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> None:
    kind, model_path = (argv or sys.argv[1:])[:2]
    lines = sys.stdin.buffer.read().decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    live = [i for i, t in enumerate(lines) if t.strip()]
    texts = [lines[i] for i in live]
    if kind == "fasttext":
        import fasttext

        from lstmtc.infer.text import basic_english

        model = fasttext.load_model(model_path)
        labels, _ = model.predict([" ".join(basic_english(t)) for t in texts])
        pred = [lab[0].removeprefix("__label__") if len(lab) else "" for lab in labels]
    elif kind == "tfidf":
        import joblib

        vec, clf = joblib.load(model_path)
        pred = clf.predict(vec.transform(texts)).tolist()
    else:
        raise SystemExit(f"unknown model kind {kind!r}: fasttext or tfidf")
    out = [""] * len(lines)
    for i, p in zip(live, pred):
        out[i] = str(p)
    sys.stdout.write("".join(line + "\n" for line in out))


if __name__ == "__main__":
    main()
