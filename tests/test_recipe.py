"""The default recipe of lstmtc-train: its settings, the stratified split, early stopping, the
collapse alarm, pretrained vectors, the run record and --resume without column flags."""

from __future__ import annotations

import csv
import json
import math
import random
import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import FILLER, TOPICS

from lstmtc.train import cli as train_cli
from lstmtc.train import loop
from lstmtc.train.checkpoint import read_checkpoint
from lstmtc.train.config import (
    AUTO_BATCH_RANGE,
    AUTO_MAX_TOKENS_RANGE,
    AUTO_MAX_TOKENS_RANGE_PACKED,
    RECIPE,
    RECIPE_MODEL,
    TrainConfig,
    auto_batch_size,
    auto_max_tokens,
    recipe_config,
)
from lstmtc.train.model import LSTMClassifier, ModelConfig
from lstmtc.train.prepare import TrainError, stratified_indices

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--hidden", "8", "--embed-dim", "8", "--epochs", "2", "--threads", "1"]


def invoke(args):
    return CliRunner().invoke(train_cli.main, [str(a) for a in args])


def write_labelled(path, rows, header=("label", "text"), delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def topic_rows(n: int, seed: int = 0, weights=(1, 1, 1, 1)):
    """(label, text) rows of the synthetic topics, class shares following ``weights``."""
    rng = random.Random(seed)
    names = ["world", "sports", "business", "tech"]
    rows = []
    for _ in range(n):
        k = rng.choices(range(4), weights=weights)[0]
        words = TOPICS[str(k + 1)]
        rows.append((names[k], " ".join(rng.choice(words + FILLER) for _ in range(rng.randint(4, 20)))))
    return rows


# --- settings ----------------------------------------------------------------------------------

def test_recipe_differs_from_the_reference_where_the_issue_says():
    ref, rec = TrainConfig(), recipe_config()
    assert (ref.optimizer, ref.schedule, ref.clip_norm, ref.patience, ref.select, ref.class_weight, ref.split) == (
        "adam", "constant", None, None, "accuracy", "none", "random")
    assert (rec.optimizer, rec.schedule, rec.select, rec.split) == ("adamw", "warmup-cosine", "macro-f1", "stratified")
    assert rec.clip_norm > 0 and rec.patience >= 1 and rec.warmup > 0
    assert rec.max_tokens is None and rec.batch_size is None  # from the data
    assert RECIPE_MODEL["bidirectional"] and RECIPE_MODEL["pooling"] in ("max", "mean")
    assert recipe_config(lr=0.5).lr == 0.5 and RECIPE["lr"] != 0.5


def test_auto_max_tokens_is_a_bounded_percentile():
    lo, hi = AUTO_MAX_TOKENS_RANGE
    assert auto_max_tokens(np.arange(1, 101)) == 96  # the 95th percentile of 1..100, rounded up
    assert auto_max_tokens(np.full(50, 2)) == lo
    assert auto_max_tokens(np.full(50, 10_000)) == hi
    assert auto_max_tokens(np.array([], dtype=int)) == lo
    # A length-aware model reads further: its 99th percentile, within a wider range.
    lo_p, hi_p = AUTO_MAX_TOKENS_RANGE_PACKED
    assert auto_max_tokens(np.arange(1, 101), packed=True) == 100
    assert auto_max_tokens(np.full(50, 10_000), packed=True) == hi_p > hi
    assert auto_max_tokens(np.full(50, 2), packed=True) == lo_p


@pytest.mark.parametrize("n, batch", [(100, AUTO_BATCH_RANGE[0]), (4_000, 32), (9_000, 64), (65_000, 128),
                                      (10_000_000, AUTO_BATCH_RANGE[1])])
def test_auto_batch_size_gives_enough_updates(n, batch):
    assert auto_batch_size(n) == batch
    assert batch & (batch - 1) == 0


def test_lr_schedule_warms_up_then_decays_to_zero():
    cfg = recipe_config(lr=1.0, warmup=0.1)
    lrs = [loop.lr_at(cfg, s, 100) for s in range(1, 101)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert loop.lr_at(TrainConfig(lr=0.3), 57, 100) == 0.3


def test_balanced_class_weights():
    w = loop.class_weights(torch.tensor([0] * 9 + [1]), 2, "balanced")
    assert w.tolist() == pytest.approx([10 / 18, 10 / 2])
    assert loop.class_weights(torch.tensor([0, 1]), 2, "none") is None


@pytest.mark.parametrize("bad", [{"optimizer": "sgd"}, {"schedule": "step"}, {"select": "f1"},
                                 {"class_weight": "auto"}, {"split": "kfold"}, {"warmup": 1.5},
                                 {"extend_vocab": 5, "embeddings": None},
                                 {"freeze_embeddings": True, "embeddings": None}])
def test_library_refuses_unknown_settings(bad, tmp_path):
    with pytest.raises(TrainError):
        loop.check_config(recipe_config(**bad))


# --- the stratified split ----------------------------------------------------------------------

def test_stratified_split_covers_every_class_with_two_rows():
    labels = [0] * 1000 + [1] * 130 + [2] * 2 + [3] * 1 + [4] * 7
    tr, va = stratified_indices(labels, 0.05, seed=0)
    assert len(set(tr) & set(va)) == 0 and len(tr) + len(va) == len(labels)
    y = np.asarray(labels)
    held = np.bincount(y[va], minlength=5)
    assert held.tolist() == [50, 6, 1, 0, 1]  # 5% of each class, at least one where a class has two
    assert np.bincount(y[tr], minlength=5).min() >= 1  # and every class keeps a training row
    tr2, va2 = stratified_indices(labels, 0.05, seed=0)
    assert (va == va2).all()
    assert not (va == stratified_indices(labels, 0.05, seed=1)[1]).all()


def test_stratified_split_of_77_small_classes(tmp_path):
    labels = [k for k in range(77) for _ in range(3 + k % 5)]
    _, va = stratified_indices(labels, 0.1, seed=3)
    assert set(np.asarray(labels)[va]) == set(range(77))


# --- the collapse alarm ------------------------------------------------------------------------

def test_collapse_warning_fires_on_a_one_class_model():
    gold = np.array([0] * 87 + [1] * 13)
    line = loop.collapse_warning(np.zeros(100, dtype=int), gold, ["ham", "spam"], 3)
    assert line.startswith("warning: epoch 3 predicts 'ham' for 100% of validation rows")
    assert loop.collapse_warning(gold.copy(), gold, ["ham", "spam"], 3) is None
    # A class that really is nearly all of the data is not a collapse.
    gold = np.array([0] * 97 + [1] * 3)
    assert loop.collapse_warning(np.zeros(100, dtype=int), gold, ["a", "b"], 1) is None


def test_collapse_warning_reaches_the_log(tmp_path):
    # A learning rate of ~0 cannot learn: with an unweighted loss the untrained model's argmax is
    # one class for every row, which the alarm must report.
    rows = [("ham", "the the the a")] * 80 + [("spam", "the a a the")] * 20
    path = write_labelled(tmp_path / "d.csv", rows)
    log = []
    cfg = recipe_config(epochs=1, lr=1e-12, class_weight="none", max_tokens=8, batch_size=16)
    loop.train(path, tmp_path / "run", cfg, {"hidden_sizes": (4,), "embed_dim": 4, "bidirectional": False,
                                             "pooling": "last"}, log=log.append, progress=False)
    assert any("collapsing onto one class" in line for line in log), log


# --- the CLI's default recipe, end to end --------------------------------------------------------

@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory):
    d = tmp_path_factory.mktemp("recipe")
    return write_labelled(d / "news.csv", topic_rows(400, seed=1, weights=(10, 10, 10, 2)),
                          header=("topic", "body"))


@pytest.fixture(scope="module")
def recipe_run(imbalanced, tmp_path_factory):
    out = tmp_path_factory.mktemp("recipe_run") / "run"
    r = invoke(["--train", imbalanced, "--text-column", "body", "--label-column", "topic", "--out", out, *FAST])
    assert r.exit_code == 0, r.output
    return out, r.output


def test_default_recipe_resolves_and_records_every_option(recipe_run):
    out, output = recipe_run
    cfg = json.loads((out / "config.json").read_text())
    tc = cfg["train_config"]
    assert cfg["format"] == "lstmtc-run" and cfg["read_options"] == {"text_column": "body", "label_column": "topic"}
    assert tc["optimizer"] == "adamw" and tc["schedule"] == "warmup-cosine" and tc["select"] == "macro-f1"
    # Data-derived values are stored resolved, never as "auto".
    assert isinstance(tc["max_tokens"], int) and isinstance(tc["batch_size"], int)
    assert tc["batch_size"] == auto_batch_size(read_checkpoint(out / "last.pt")["n_train"])
    assert cfg["model_config"]["bidirectional"] is True and cfg["model_config"]["hidden_sizes"] == [8]
    ckpt = read_checkpoint(out / "best.pt")
    assert ckpt["train_config"] == tc


def test_summary_and_run_record(recipe_run):
    out, output = recipe_run
    data = json.loads((out / "data.json").read_text())
    n_valid = sum(data["classes"]["valid"])
    assert data["rows"] == {"train": 400 - n_valid, "valid": n_valid} and 16 <= n_valid <= 24
    assert f"data: 400 rows read; train {400 - n_valid}, validation {n_valid} (stratified 5%" in output
    assert "classes (4):" in output and "vocabulary" in output and "unknown-token rate" in output
    assert sum(data["classes"]["train"]) == 400 - n_valid and min(data["classes"]["valid"]) >= 1
    assert set(data["tokens_per_document"]) >= {"p50", "p95", "max"} and 0 <= data["truncated_share"] <= 1
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2]
    for h in history:
        assert set(h) >= {"train_loss", "valid_loss", "valid_acc", "valid_macro_f1", "lr", "seconds", "valid_recall"}
        assert len(h["valid_recall"]) == 4
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC
    assert "validation recall per class:" in output and "best epoch" in output


def test_resume_without_train_or_column_flags(recipe_run, tmp_path):
    import shutil

    src, _ = recipe_run
    run = tmp_path / "run"
    shutil.copytree(src, run)
    r = invoke(["--resume", run, "--epochs", "3"])
    assert r.exit_code == 0, r.output
    assert read_checkpoint(run / "last.pt")["epoch"] == 3
    assert len((run / "history.jsonl").read_text().splitlines()) == 3
    # The same column flag as the run's is no conflict; another one is.
    r = invoke(["--resume", run, "--text-column", "body", "--epochs", "3"])
    assert r.exit_code == 0, r.output
    r = invoke(["--resume", run, "--text-column", "topic"])
    assert r.exit_code == 2 and "--text-column" in r.output


def test_early_stopping_keeps_the_best_epoch(tmp_path):
    path = write_labelled(tmp_path / "d.csv", topic_rows(200, seed=4))
    log = []
    # lr 0 after warm-up would never improve; a tiny lr makes improvements stop quickly.
    cfg = recipe_config(epochs=30, patience=2, lr=1e-9, max_tokens=8)
    payload = loop.train(path, tmp_path / "run", cfg, {"hidden_sizes": (4,), "embed_dim": 4}, log=log.append,
                         progress=False)
    assert payload["epoch"] < 30
    assert any(line.startswith("stopping early") for line in log)
    # Before the first epoch the log names the model it trains.
    assert [line for line in log if line.startswith("model: ")] == [
        LSTMClassifier(ModelConfig(**read_checkpoint(tmp_path / "run" / "best.pt")["model_config"])).describe()]
    history = payload["history"]
    best = max(history, key=lambda h: (h["valid_macro_f1"], -h["epoch"]))
    assert read_checkpoint(tmp_path / "run" / "best.pt")["epoch"] == best["epoch"]
    assert payload["epoch"] - best["epoch"] == 2
    # Resuming a run that stopped early trains nothing more.
    more = []
    loop.train(path, tmp_path / "run", cfg, {"hidden_sizes": (4,), "embed_dim": 4}, resume=True, log=more.append,
               progress=False)
    assert any("already complete" in line for line in more)


def test_tsv_with_quotes_trains_with_quoting_none(tmp_path):
    # Written raw, as TSV exporters do: a text may open with a quote that never closes.
    rows = [(lbl, ('"' if i % 7 == 0 else "") + txt) for i, (lbl, txt) in enumerate(topic_rows(120, seed=5))]
    path = tmp_path / "d.tsv"
    path.write_text("label\ttext\n" + "".join(f"{lbl}\t{txt}\n" for lbl, txt in rows), encoding="utf-8")
    r = invoke(["--train", path, "--out", tmp_path / "run", *FAST])
    assert r.exit_code == 0, r.output
    assert "rows hold quote characters, read as text" in r.output
    assert json.loads((tmp_path / "run" / "data.json").read_text())["rows_read"] == 120
    # What the default avoids: under CSV quoting an opening quote swallows the lines after it, which
    # the reader refuses, naming the line.
    r = invoke(["--train", path, "--out", tmp_path / "run2", "--quoting", "csv", *FAST])
    assert r.exit_code == 1 and "d.tsv:" in r.output and "a quoted field starting in this record" in r.output


def test_header_like_first_row_is_warned(tmp_path):
    path = write_labelled(tmp_path / "d.csv", topic_rows(100, seed=6), header=("topic", "message"))
    r = invoke(["--train", path, "--out", tmp_path / "run", *FAST])
    assert r.exit_code == 0, r.output
    assert "the first row looks like a header" in r.output


def test_single_example_class_is_warned(tmp_path):
    rows = topic_rows(100, seed=7) + [("weather", "rain and sun")]
    path = write_labelled(tmp_path / "d.csv", rows)
    r = invoke(["--train", path, "--out", tmp_path / "run", *FAST])
    assert r.exit_code == 0, r.output
    assert "class 'weather' has a single example" in r.output


def test_presets_keep_the_reference_settings(monkeypatch, imbalanced, tmp_path):
    calls = []
    monkeypatch.setattr(loop, "train", lambda *a, **k: calls.append((a[2], a[3])) or {})
    r = invoke(["--train", imbalanced, "--text-column", "body", "--label-column", "topic", "--out", tmp_path / "r",
                "--preset", "1"])
    assert r.exit_code == 0, r.output
    (cfg, args), = calls
    ref = TrainConfig(max_tokens=25)
    ref.extra = {"preset": 1}
    assert cfg == ref
    assert args == {"embed_dim": 50, "dropout": 0.0, "pooling": "last", "hidden_sizes": (75,), "num_layers": 1,
                    "bidirectional": False}


# --- pretrained vectors through the trainer ------------------------------------------------------

def test_embeddings_file_initialises_extends_and_freezes(tmp_path):
    words = sorted({w for ws in TOPICS.values() for w in ws} | set(FILLER))
    rng = np.random.default_rng(0)
    vecs = {w: rng.normal(size=6).round(4) for w in words + ["unseen", "elsewhere"]}
    vec = tmp_path / "v.vec"
    vec.write_text(f"{len(vecs)} 6\n" + "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vecs.items()))
    path = write_labelled(tmp_path / "d.csv", topic_rows(120, seed=8))
    out = tmp_path / "run"
    r = invoke(["--train", path, "--out", out, "--embeddings", vec, "--freeze-embeddings", "--extend-vocab", "2",
                "--hidden", "4", "--epochs", "1", "--min-freq", "1"])
    assert r.exit_code == 0, r.output
    assert "vectors " in r.output and "vocabulary entries" in r.output
    ckpt = read_checkpoint(out / "best.pt")
    assert ckpt["model_config"]["embed_dim"] == 6
    tokens = ckpt["vocab"]["tokens"]
    assert tokens[-2:] == ["unseen", "elsewhere"]  # extended in the file's order
    emb = ckpt["state_dict"]["embedding.weight"].numpy()
    for w in ("election", "the", "unseen"):
        assert np.allclose(emb[tokens.index(w)], vecs[w], atol=1e-6)  # frozen: still the vectors
    data = json.loads((out / "data.json").read_text())
    assert data["embeddings"]["vocab_found"] == data["embeddings"]["vocab_total"] == len(tokens) - 2


def test_embed_dim_beside_embeddings_is_refused(tmp_path):
    r = invoke(["--train", tmp_path / "x.csv", "--out", tmp_path / "r", "--embeddings", "glove-6b-50d",
                "--embed-dim", "100"])
    assert r.exit_code == 2 and "--embed-dim conflicts with --embeddings" in r.output


def test_extend_vocab_without_embeddings_is_refused(tmp_path):
    path = write_labelled(tmp_path / "d.csv", topic_rows(40, seed=9))
    r = invoke(["--train", path, "--out", tmp_path / "r", "--extend-vocab", "10", *FAST])
    assert r.exit_code == 1 and "--embeddings" in r.output
    assert not (tmp_path / "r").exists()


def test_recipe_learns_a_minority_class(tmp_path):
    """The issue's failure: the reference defaults predicted the majority for every row. The recipe,
    on a 10%-minority synthetic set, must find the minority class."""
    rng = random.Random(11)
    rows = []
    for i in range(600):
        spam = i % 10 == 0
        words = (["win", "prize", "claim", "free", "call", "now"] if spam else
                 ["see", "you", "later", "home", "dinner", "ok"])
        rows.append(("spam" if spam else "ham", " ".join(rng.choice(words + ["the", "a", "to"])
                                                          for _ in range(rng.randint(3, 12)))))
    path = write_labelled(tmp_path / "sms.csv", rows)
    out = tmp_path / "run"
    r = invoke(["--train", path, "--out", out, "--hidden", "16", "--embed-dim", "16", "--epochs", "6",
                "--threads", "1"])
    assert r.exit_code == 0, r.output
    best = read_checkpoint(out / "best.pt")["history"]
    assert max(h["valid_recall"][1] for h in best) >= 0.8
    assert math.isfinite(best[-1]["valid_loss"])


def test_tokenizer_is_a_setting_that_travels_with_the_model(tmp_path, monkeypatch):
    from lstmtc.infer import text

    # A second tokenizer registered in one place is used by training and stored with the model.
    monkeypatch.setitem(text.TOKENIZERS, "whitespace", str.split)
    path = write_labelled(tmp_path / "d.csv", [(lbl, txt.upper()) for lbl, txt in topic_rows(80, seed=12)])
    out = tmp_path / "run"
    loop.train(path, out, recipe_config(epochs=1, tokenizer="whitespace", max_tokens=8),
               {"hidden_sizes": (4,), "embed_dim": 4}, log=lambda s: None, progress=False)
    ckpt = read_checkpoint(out / "best.pt")
    assert ckpt["pipeline"]["tokenizer"] == "whitespace" and ckpt["train_config"]["tokenizer"] == "whitespace"
    assert "ELECTION" in ckpt["vocab"]["tokens"]  # basic_english would have lower-cased it
    with pytest.raises(TrainError, match="unknown tokenizer"):
        loop.train(path, tmp_path / "r2", recipe_config(tokenizer="nope"), {}, log=lambda s: None, progress=False)
    assert "--tokenizer [basic_english|multilingual]" in invoke(["--help"]).output


def test_recipe_reads_scripts_without_spaces(tmp_path):
    """Chinese text has no spaces: basic_english makes each clause one token, seen once, and the
    recipe can only learn the majority class; the recipe's tokenizer gives it the characters."""
    rng = random.Random(3)
    good, bad = list("赞棒优"), list("差烂糟")
    filler = [chr(c) for c in range(0x4E00, 0x4E00 + 100) if chr(c) not in good + bad]
    rows = []
    for i in range(400):
        label = "pos" if i % 3 else "neg"  # two to one: the majority is 67%
        chars = [rng.choice(filler) for _ in range(rng.randint(6, 20))]
        for _ in range(3):
            chars.insert(rng.randrange(len(chars)), rng.choice(good if label == "pos" else bad))
        rows.append((label, "".join(chars)))
    path = write_labelled(tmp_path / "zh.csv", rows)
    scores, logs = {}, {}
    for tokenizer in ("basic_english", "multilingual"):
        out, logs[tokenizer] = tmp_path / tokenizer, []
        loop.train(path, out, recipe_config(epochs=10, tokenizer=tokenizer, valid_fraction=0.25),
                   {"hidden_sizes": (8,), "embed_dim": 8}, log=logs[tokenizer].append, progress=False)
        scores[tokenizer] = max(h["valid_acc"] for h in read_checkpoint(out / "best.pt")["history"])
    assert scores["basic_english"] < 0.7 and scores["multilingual"] >= 0.85, scores
    warning = ("100% of training texts are in a script written without spaces (Chinese, Japanese, Thai, ...): "
               "basic_english makes each clause one token; --tokenizer multilingual (the recipe's default) makes "
               "each character one")
    assert any(warning in line for line in logs["basic_english"])
    assert not any("written without spaces" in line for line in logs["multilingual"])
    assert RECIPE["tokenizer"] == "multilingual" and TrainConfig().tokenizer == "basic_english"


def _history(*entries):
    """(macro-F1, validation loss) per epoch -> history entries."""
    return [{"epoch": i, "valid_acc": f, "valid_macro_f1": f, "valid_loss": loss}
            for i, (f, loss) in enumerate(entries, 1)]


def test_tie_break_by_loss_prefers_the_better_fitted_epoch():
    from lstmtc.train import runrecord

    # A small validation set saturates: epochs 2-5 all score 1.0 while the loss keeps falling.
    h = _history((0.8, 0.5), (1.0, 0.30), (1.0, 0.20), (1.0, 0.15), (1.0, 0.12))
    first, loss = TrainConfig(select="macro-f1", patience=3), recipe_config(patience=3)
    assert loss.tie_break == "loss" and first.tie_break == "first"
    assert max(h, key=lambda e: runrecord.score(e, "macro-f1", "first"))["epoch"] == 2
    assert max(h, key=lambda e: runrecord.score(e, "macro-f1", "loss"))["epoch"] == 5
    # "first": three epochs without a better figure stop the run; "loss": each lower loss is progress.
    assert loop.stopped_early(h, first) and not loop.stopped_early(h, loss)
    # A better figure still wins over a lower loss; with select=loss the tie-break changes nothing.
    h2 = _history((0.9, 0.1), (0.95, 0.4))
    assert max(h2, key=lambda e: runrecord.score(e, "macro-f1", "loss"))["epoch"] == 2
    assert runrecord.score(h2[0], "loss", "loss") == runrecord.score(h2[0], "loss", "first")
    # Stops once neither the figure nor the loss improves for `patience` epochs.
    assert loop.stopped_early(h + _history((1.0, 0.13), (1.0, 0.2), (0.9, 0.1)), loss)


def test_tie_break_option(tmp_path):
    path = write_labelled(tmp_path / "d.csv", topic_rows(80, seed=5))
    r = invoke(["--train", path, "--out", tmp_path / "r", "--tie-break", "first", *FAST])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train_config"]["tie_break"] == "first"
    assert "--tie-break [loss|first]" in invoke(["--help"]).output
    with pytest.raises(TrainError, match="tie_break must be one of loss, first"):
        loop.train(path, tmp_path / "r2", recipe_config(tie_break="last"), {}, log=lambda s: None, progress=False)
    cfg, _ = train_cli.resolve_settings(2, {}, "cpu")
    assert cfg.tie_break == "first"  # the presets stay the reference tutorial


def test_a_vocabulary_that_misses_most_validation_tokens_warns(tmp_path):
    # Every text a distinct made-up word: with min_freq 2 nothing enters the vocabulary.
    rng = random.Random(4)
    rows = [(str(i % 2), "".join(rng.choice("abcdefghij") for _ in range(12))) for i in range(60)]
    logs: list[str] = []
    loop.train(write_labelled(tmp_path / "u.csv", rows), tmp_path / "r", recipe_config(epochs=1),
               {"hidden_sizes": (4,), "embed_dim": 4}, log=logs.append, progress=False)
    assert ("warning: 100% of validation tokens are not in the vocabulary (min_freq 2): the model reads mostly "
            "<unk>; give it more training text, --min-freq 1, --embeddings ... --extend-vocab N, or another "
            "--tokenizer") in logs
    logs.clear()
    loop.train(write_labelled(tmp_path / "t.csv", topic_rows(80, seed=2)), tmp_path / "r2", recipe_config(epochs=1),
               {"hidden_sizes": (4,), "embed_dim": 4}, log=logs.append, progress=False)
    assert not any("not in the vocabulary" in line for line in logs)


def test_mostly_empty_texts_warn(tmp_path):
    rows = [(str(i % 2), "" if i % 4 else "some words here") for i in range(40)]
    logs: list[str] = []
    loop.train(write_labelled(tmp_path / "e.csv", rows), tmp_path / "r", recipe_config(epochs=1),
               {"hidden_sizes": (4,), "embed_dim": 4}, log=logs.append, progress=False)
    warning = re.compile(r"warning: (\d+)% of training texts have no token \(empty, or only characters the "
                         r"tokenizer drops\): is --text-column the column with the text\?")
    shares = [int(m.group(1)) for m in map(warning.fullmatch, logs) if m]
    assert len(shares) == 1 and 70 <= shares[0] <= 80, logs  # three in four rows are empty
