"""The recipe's ``--embeddings auto``: GloVe where it knows the training text's words, random
embeddings elsewhere, the choice stored in the run and kept by --resume."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import FILLER, TOPICS

from lstmtc.infer.vocab import Vocab
from lstmtc.train import cli as train_cli
from lstmtc.train import embeddings, loop
from lstmtc.train.checkpoint import read_checkpoint
from lstmtc.train.config import AUTO_VECTORS, RECIPE_MODEL, recipe_config

FAST = ["--hidden", "4", "--epochs", "1", "--threads", "1", "--ngram-buckets", "0"]
QUIET = {"log": lambda s: None, "progress": False}
# Two classes of Chinese reviews, written without spaces: one token per character, none in GloVe.
HANZI = {"pos": "好很棒喜欢满意干净舒服安静方便", "neg": "差很糟糕讨厌脏吵失望贵破旧慢"}


def write(path, label_of, words_of, join, n=80, seed=0):
    """n rows of label_of(i) and 5-15 words drawn from words_of(label), joined by ``join``."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "text"])
        for i in range(n):
            label = label_of(i)
            w.writerow([label, join.join(rng.choice(words_of(label)) for _ in range(rng.randint(5, 15)))])
    return path


def english(path):
    return write(path, lambda i: str(i % 4 + 1), lambda label: TOPICS[label] + FILLER, " ")


def chinese(path):
    return write(path, lambda i: ("pos", "neg")[i % 2], lambda label: HANZI[label] + "的了是在我", "")


def train(args):
    return CliRunner().invoke(train_cli.main, [str(a) for a in args])


def stored(out):
    config = json.loads((out / "config.json").read_text())
    return config["train_config"]["embeddings"], config["model_config"]["embed_dim"]


def test_english_text_starts_from_glove(tmp_path):
    out = tmp_path / "run"
    r = train(["--train", english(tmp_path / "en.csv"), "--out", out, "--freeze-embeddings", *FAST])
    assert r.exit_code == 0, r.output
    assert stored(out) == (AUTO_VECTORS, 50)
    assert "(chosen by the recipe; --embeddings none for random ones)" in r.output
    # The embedding holds GloVe's own vectors (frozen, so still exactly them after training).
    ckpt = read_checkpoint(out / "best.pt")
    vocab = ckpt["vocab"]["tokens"]
    glove = embeddings.load_vectors(AUTO_VECTORS)
    row = glove.words.index("election")
    np.testing.assert_array_equal(ckpt["state_dict"]["embedding.weight"][vocab.index("election")].numpy(),
                                  glove.matrix[row])


def test_text_the_vectors_do_not_know_gets_random_embeddings(tmp_path):
    out = tmp_path / "run"
    r = train(["--train", chinese(tmp_path / "zh.csv"), "--out", out, *FAST])
    assert r.exit_code == 0, r.output
    assert stored(out) == (None, RECIPE_MODEL["embed_dim"])
    assert (f"embeddings: random ({AUTO_VECTORS} covers 0.0% of training tokens, under 50%; --embeddings "
            f"{AUTO_VECTORS} uses it anyway)") in r.output


@pytest.mark.parametrize("flags, expected", [
    (["--embeddings", "none"], (None, RECIPE_MODEL["embed_dim"])),
    (["--embed-dim", "6"], (None, 6)),
    (["--embeddings", "none", "--embed-dim", "6"], (None, 6)),
    (["--preset", "2", "--max-tokens", "8"], (None, 50)),
])
def test_random_embeddings_when_asked(tmp_path, flags, expected):
    out = tmp_path / "run"
    r = train(["--train", english(tmp_path / "en.csv"), "--out", out, *FAST, *flags])
    assert r.exit_code == 0, r.output
    assert stored(out) == expected
    assert "vectors" not in r.output.split("n-gram bag")[0].split("validation unknown-token rate")[1]


def test_auto_with_embed_dim_is_a_usage_error(tmp_path):
    r = train(["--train", english(tmp_path / "en.csv"), "--out", tmp_path / "run", "--embeddings", "auto",
               "--embed-dim", "6", *FAST])
    assert r.exit_code == 2
    assert "--embed-dim conflicts with --embeddings" in r.output


def test_extending_the_vocabulary_of_text_the_vectors_do_not_know(tmp_path):
    r = train(["--train", chinese(tmp_path / "zh.csv"), "--out", tmp_path / "run", "--extend-vocab", "10", *FAST])
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == (
        f"Error: {AUTO_VECTORS} covers only 0.0% of the training tokens, so the recipe does not use it; name the "
        "vectors for --extend-vocab/--freeze-embeddings with --embeddings")
    assert not (tmp_path / "run").exists()


def test_missing_vectors_package_warns_and_trains(tmp_path, monkeypatch):
    def missing(spec):
        raise embeddings.EmbeddingsError(f"{spec} needs the 'vectors' extra")

    monkeypatch.setattr(embeddings, "load_vectors", missing)
    out = tmp_path / "run"
    r = train(["--train", english(tmp_path / "en.csv"), "--out", out, *FAST])
    assert r.exit_code == 0, r.output
    assert f"warning: training from random embeddings: {AUTO_VECTORS} needs the 'vectors' extra" in r.output
    assert stored(out) == (None, RECIPE_MODEL["embed_dim"])


def test_resume_keeps_the_vectors_the_run_chose(tmp_path):
    data = english(tmp_path / "en.csv")
    args = {"hidden_sizes": (4,), "embed_dim": 4, "ngram_buckets": 0}
    # A constant rate: the cosine schedule would end at each call's own epoch cap.
    def cfg(epochs):
        return recipe_config(epochs=epochs, patience=None, schedule="constant")

    full = loop.train(data, tmp_path / "full", cfg(2), args, **QUIET)
    loop.train(data, tmp_path / "part", cfg(1), args, **QUIET)
    resumed = loop.train(data, tmp_path / "part", cfg(2), args, resume=True, **QUIET)
    assert resumed["train_config"]["embeddings"] == full["train_config"]["embeddings"] == AUTO_VECTORS
    assert resumed["model_config"]["embed_dim"] == 50
    for k, v in full["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][k], v, rtol=0, atol=1e-6, msg=k)


@pytest.mark.parametrize("known, kept", [(5, True), (4, False)])
def test_the_vectors_are_kept_from_half_the_training_tokens(known, kept):
    words = ["w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"]
    vocab = Vocab(["<unk>", "<pad>", *words], 0, 1)
    vectors = embeddings.Vectors(words[:known], np.ones((known, 3), dtype=np.float32), "test-vectors")
    cfg = recipe_config()
    matrix, about = embeddings.start_embedding(cfg, vectors, vocab, {w: 1 for w in words})
    assert (matrix is not None) is kept
    assert cfg.embeddings == ("test-vectors" if kept else None)
    expected = "vectors test-vectors (3d)" if kept else "embeddings: random (test-vectors covers 40.0%"
    assert about["line"].startswith(expected)
