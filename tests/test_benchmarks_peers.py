"""benchmarks/peers.py end to end on a synthetic dataset (no downloaded data): one split written as
three files, TF-IDF+LR, fastText and an lstmtc subprocess scored on exactly those files; and the
readers of the real datasets' formats on small look-alike files."""

from __future__ import annotations

import csv
import importlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
peers = importlib.import_module("benchmarks.peers")
datasets = importlib.import_module("benchmarks.datasets")

pytest.importorskip("sklearn")  # the TF-IDF peer and the splits: the [bench] extra

try:
    import fasttext  # noqa: F401

    FASTTEXT_ERROR = None
except ImportError as e:  # the [bench] extra is not installed: run the other peers, skip fastText's test
    FASTTEXT_ERROR = str(e)

WORDS = {"alpha": ["rocket", "orbit", "launch", "comet"], "beta": ["violin", "opera", "chorus", "tempo"],
         "gamma": ["harvest", "tractor", "barley", "cattle"]}
FILLER = ["the", "a", "of", "and", "today", "new", "said", "with"]


def synth_csv(path: Path, n: int = 200, seed: int = 0) -> Path:
    """``label,text`` rows of three string classes, 2:1:1, every text distinct (a numbered tag)."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "text"])
        for i in range(n):
            label = ("alpha", "alpha", "beta", "gamma")[i % 4]
            words = [rng.choice(WORDS[label] + FILLER) for _ in range(rng.randint(4, 12))]
            w.writerow([label, f'"{words[0].capitalize()}", {" ".join(words[1:])}, no. {i}.'])
    return path


def rows_of(path: Path) -> list[tuple[str, str]]:
    return datasets.read_split(path)


@pytest.mark.slow  # two lstmtc subprocesses (torch start-up) and fastText's 10M-bucket table
def test_end_to_end(tmp_path, capsys):
    src = synth_csv(tmp_path / "synth.csv")
    models = ["tfidf", "lstmtc"] if FASTTEXT_ERROR else ["tfidf", "fasttext", "lstmtc"]
    work, out = tmp_path / "work", tmp_path / "out"
    peers.main(["--csv", f"synth={src}", "--work", str(work), "--json-dir", str(out), "--only", ",".join(models),
                "--lstmtc-args", "--epochs 1 --hidden 8 --batch-size 32"])
    data = json.loads((out / "peers-synth.json").read_text(encoding="utf-8"))

    assert [m["model"] for m in data["models"]] == models
    for m in data["models"]:
        assert "error" not in m, m.get("error")
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["macro_f1"] <= 1
        assert m["train_s"] > 0 and m["test_s"] > 0
    tfidf = data["models"][0]["settings"]
    grid = {float(k): v for k, v in tfidf["C_by_valid_acc"].items()}
    assert set(grid) == set(peers.TFIDF_C) and grid[tfidf["C"]] == max(grid.values())
    lstm = data["models"][-1]
    assert lstm["commands"][0].startswith("lstmtc-train --train ") and lstm["commands"][0].endswith(
        "--text-column text --label-column label --out " + str(work / "synth" / "lstmtc-1")
        + " --epochs 1 --hidden 8 --batch-size 32")
    metrics = json.loads(Path(lstm["metrics"]).read_text(encoding="utf-8"))
    assert metrics["n"] == 40 and metrics["accuracy"] == lstm["accuracy"]

    # 200 rows -> 140/20/40, disjoint, together exactly the source rows, stratified 2:1:1
    assert datasets.split_sizes(200) == (140, 20, 40)
    parts = {p: rows_of(work / "synth" / f"{p}.csv") for p in ("train", "valid", "test")}
    assert {p: len(r) for p, r in parts.items()} == data["sizes"] == {"train": 140, "valid": 20, "test": 40}
    keys = {p: {t for _, t in r} for p, r in parts.items()}
    assert not (keys["train"] & keys["valid"] or keys["train"] & keys["test"] or keys["valid"] & keys["test"])
    assert sorted(parts["train"] + parts["valid"] + parts["test"]) == sorted(rows_of(src))
    assert Counter(lab for lab, _ in parts["test"]) == {"alpha": 20, "beta": 10, "gamma": 10}
    for p, info in data["files"].items():
        assert info["sha256"] == datasets.sha256(work / "synth" / f"{p}.csv") and info["rows"] == len(parts[p])
    assert data["seed"] == 0 and data["test_texts_in_train"] == 0

    printed = capsys.readouterr().out
    assert "synth: test set (40 docs)" in printed and "TF-IDF 1-2g + LR" in printed and "test acc %" in printed
    assert "lstmtc --epochs 1 --hidden 8 --batch-size 32: acc vs TF-IDF 1-2g + LR: " in printed
    assert " pt, macro-F1 " in printed


@pytest.mark.skipif(FASTTEXT_ERROR is not None,
                    reason=f"fastText peer skipped: `import fasttext` failed ({FASTTEXT_ERROR}); "
                           "pip install 'lstmtc[bench]' (the fasttext-numpy2 wheel)")
def test_fasttext_settings_and_normalisation(tmp_path):
    src = synth_csv(tmp_path / "synth.csv")
    peers.main(["--csv", f"s={src}", "--work", str(tmp_path / "w"), "--json-dir", str(tmp_path), "--only",
                "fasttext"])
    (m,) = json.loads((tmp_path / "peers-s.json").read_text(encoding="utf-8"))["models"]
    s = m["settings"]
    assert (s["wordNgrams"], s["dim"], s["lr"], s["bucket"]) == (2, 10, 0.25, 10_000_000)
    # The epoch count is the one of peers.FASTTEXT_EPOCHS with the best validation accuracy.
    grid = {int(k): v for k, v in s["epoch_by_valid_acc"].items()}
    assert set(grid) == set(peers.FASTTEXT_EPOCHS) and grid[s["epoch"]] == max(grid.values())
    assert 0 <= m["accuracy"] <= 1
    first = (tmp_path / "w" / "s" / "fasttext" / "train.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("__label__") and first == first.lower() and '"' not in first
    assert peers.fasttext_text('Hello, "World" (again)!') == 'hello , world ( again ) !'


def test_peers_read_multilingual_tokens_when_asked(tmp_path):
    """--tokens multilingual: text without spaces reaches both peers as characters (with
    scikit-learn's own analyzer a Chinese clause is one feature)."""
    path = tmp_path / "zh.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "text"])
        for i in range(120):
            w.writerow(["pos" if i % 2 else "neg", ("很好" if i % 2 else "很差") + "酒店房间" * (1 + i % 5) + str(i)])
    peers.main(["--csv", f"zh={path}", "--work", str(tmp_path / "w"), "--json-dir", str(tmp_path),
                "--only", "tfidf", "--tokens", "multilingual"])
    data = json.loads((tmp_path / "peers-zh.json").read_text(encoding="utf-8"))
    (m,) = data["models"]
    assert data["peer_tokens"] == "multilingual" and "tokenizer=lstmtc.infer.text.multilingual" in m["settings"][
        "vectorizer"]
    assert m["accuracy"] == 1.0  # "好" / "差" are features only as characters
    assert peers.fasttext_text("很好,OK", "multilingual") == "很 好 , ok"


def test_limit_subsamples_each_split_stratified(tmp_path, capsys):
    src = synth_csv(tmp_path / "synth.csv", n=400)
    peers.main(["--csv", f"small={src}", "--work", str(tmp_path / "w"), "--json-dir", str(tmp_path), "--only",
                "tfidf", "--limit", "20"])
    data = json.loads((tmp_path / "peers-small-limit20.json").read_text(encoding="utf-8"))
    assert data["limit"] == 20 and data["sizes"] == {"train": 20, "valid": 20, "test": 20}
    for part in ("train", "valid", "test"):
        assert data["class_counts"][part] == {"alpha": 10, "beta": 5, "gamma": 5}
    assert [m["model"] for m in data["models"]] == ["tfidf"]
    assert "each split at most 20 rows" in capsys.readouterr().out


def test_stratified_subsample_keeps_every_class():
    rows = [("big", str(i)) for i in range(97)] + [("rare1", "x"), ("rare2", "y"), ("rare3", "z")]
    got = datasets.stratified_subsample(rows, 10, seed=0)
    assert len(got) == 10 and {lab for lab, _ in got} == {"big", "rare1", "rare2", "rare3"}
    assert got == [r for r in rows if r in got]  # the original order


def test_missing_file_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        peers.main(["sms_spam", "--data-root", str(tmp_path), "--only", "tfidf"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(tmp_path / "sms_spam" / "SMSSpamCollection") in err and "docs/datasets.md" in err


def test_readers_of_the_real_formats(tmp_path):
    """Look-alike files in the real layouts: the SMS tab file, BANKING77's CSVs, AG News's two files."""
    root = tmp_path / "data"
    (root / "sms_spam").mkdir(parents=True)
    lines = [("spam" if i % 5 == 0 else "ham") + f'\tmsg {i} "quoted" & <b>' for i in range(50)]
    (root / "sms_spam" / "SMSSpamCollection").write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = datasets.prepare("sms_spam", root, tmp_path / "ag", seed=0)
    assert (len(p.train), len(p.valid), len(p.test)) == datasets.split_sizes(50) == (35, 5, 10)
    assert ("spam", 'msg 0 "quoted" & <b>') in p.train + p.valid + p.test
    assert Counter(lab for lab, _ in p.test) == {"ham": 8, "spam": 2}

    (root / "banking77").mkdir()
    for name, n in (("train", 60), ("test", 12)):
        with open(root / "banking77" / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "category"])
            w.writerows([(f"How do I, {name} {i}?", ("card_arrival", "top_up", "pin_blocked")[i % 3])
                         for i in range(n)])
    p = datasets.prepare("banking77", root, tmp_path / "ag", seed=0)
    assert (len(p.train), len(p.valid), len(p.test)) == (54, 6, 12)
    assert ("top_up", "How do I, test 1?") in p.test and len(p.sources) == 2

    ag = tmp_path / "ag"
    ag.mkdir()
    with open(ag / "train_pool.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("label", "text")] + [(str(i % 4 + 1), f"title {i} body") for i in range(80)])
    with open(ag / "test.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([(str(i % 4 + 1), f"T{i}", f"D {i}") for i in range(8)])
    p = datasets.prepare("ag_news", root, ag, seed=0)
    assert (len(p.train), len(p.valid), len(p.test)) == (76, 4, 8)
    assert p.test[0] == ("1", "T0 D 0")
