"""The linear model mixed into a trained network (lstmtc.train.linear, LSTMClassifier.linear_logits)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lstmtc.train.linear import _class_weights, load_linear, term_counts
from lstmtc.train.model import LSTMClassifier, ModelConfig

PAD, VOCAB, BUCKETS = 1, 30, 64


def _docs(rng, n, seq):
    """Padded ids with repeated tokens (tf > 1) and their lengths; every length from 1 to seq."""
    lengths = torch.from_numpy(rng.integers(1, seq + 1, size=n))
    ids = torch.full((n, seq), PAD, dtype=torch.int64)
    for i, n_tok in enumerate(lengths.tolist()):
        ids[i, :n_tok] = torch.from_numpy(rng.integers(2, 12, size=n_tok))  # few distinct ids: repeats
    return ids, lengths


def _fitted(k: int, seed: int = 0):
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    ids, lengths = _docs(rng, 120, 15)
    y = rng.integers(0, k, size=120)
    counts = term_counts(ids, lengths, PAD, VOCAB, BUCKETS)
    tfidf = TfidfTransformer(sublinear_tf=True)
    x = tfidf.fit_transform(counts)
    clf = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
    model = LSTMClassifier(ModelConfig(vocab_size=VOCAB, num_classes=k, embed_dim=4, hidden_sizes=(3,), pad_index=PAD,
                                       pooling="max", lengths=True, linear_buckets=BUCKETS)).eval()
    load_linear(model, clf, tfidf.idf_, 0.0)
    return model, clf, tfidf, ids, lengths


def _real(ids, lengths):
    return (torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)


@pytest.mark.parametrize("k", [2, 4])
def test_linear_logits_equal_scikit_learns_probabilities(k):
    model, clf, tfidf, ids, lengths = _fitted(k)
    with torch.no_grad():
        ours = model.linear_logits(ids, _real(ids, lengths)).softmax(-1).numpy()
    theirs = clf.predict_proba(tfidf.transform(term_counts(ids, lengths, PAD, VOCAB, BUCKETS)))
    assert np.abs(ours - theirs).max() < 1e-5


def test_linear_logits_do_not_depend_on_padding():
    model, _, _, ids, lengths = _fitted(3)
    wider = torch.cat([ids, torch.full((len(ids), 9), PAD)], dim=1)
    with torch.no_grad():
        a = model.linear_logits(ids, _real(ids, lengths))
        b = model.linear_logits(wider, _real(wider, lengths))
    assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("mix", [0.0, 0.3, 1.0])
def test_the_output_is_the_mixed_probability(mix):
    model, _, _, ids, lengths = _fitted(3)
    with torch.no_grad():
        model.lin_mix.fill_(0.0)
        network = model(ids, lengths).softmax(-1)
        linear = model.linear_logits(ids, _real(ids, lengths)).softmax(-1)
        model.lin_mix.fill_(mix)
        mixed = model(ids, lengths).softmax(-1)
    assert torch.allclose(mixed, (1 - mix) * network + mix * linear, atol=1e-6)


def test_a_class_missing_from_training_never_wins():
    from sklearn.linear_model import LogisticRegression

    x = np.eye(4)
    clf = LogisticRegression().fit(x, [0, 2, 0, 2])
    weight, bias = _class_weights(clf, 3)
    logits = torch.from_numpy(x).float() @ weight + bias
    assert set(logits.argmax(1).tolist()) <= {0, 2}
    assert np.allclose(logits.softmax(-1)[:, [0, 2]].numpy(), clf.predict_proba(x), atol=1e-6)


def test_the_recipe_mixes_it_in_and_the_bundle_computes_it(synth_dir, tmp_path, monkeypatch):
    from lstmtc.export import export_bundle
    from lstmtc.infer import Classifier
    from lstmtc.train import linear
    from lstmtc.train.checkpoint import read_checkpoint
    from lstmtc.train.config import recipe_config
    from lstmtc.train.loop import train

    monkeypatch.setattr(linear, "LINEAR_MIX", (0.5,))  # whatever these rows would choose
    lines = []
    cfg = recipe_config(epochs=3, embeddings=None, seed=0)
    train(synth_dir / "train.csv", tmp_path / "run", cfg, {"embed_dim": 8, "hidden_sizes": (8,), "pooling": "max",
                                                           "bidirectional": True, "ngram_buckets": 0},
          progress=False, log=lines.append)
    best = read_checkpoint(tmp_path / "run" / "best.pt")
    assert best["model_config"]["linear_buckets"] > 0
    assert best["linear"]["mix"] == 0.5 and float(best["state_dict"]["lin_mix"]) == 0.5
    assert any(line.startswith("linear model (TF-IDF + logistic regression, C=") for line in lines)
    # The export's own validation (PyTorch against onnxruntime) includes the linear part.
    export_bundle(tmp_path / "run" / "best.pt", tmp_path / "bundle")
    texts = ["the team won the match", "shares fell on the market", "", "goal goal goal"]
    clf = Classifier.load(tmp_path / "bundle")
    assert clf.logits(texts).shape == (4, len(best["labels"]))
    # The same answer for a document at any batch width, sorted or not: onnxruntime's ReduceSum can
    # round a row differently in another batch (~1e-7), an elementwise Log did worse (~1e-6).
    from conftest import make_rows

    from lstmtc.infer.scoring.scorer import Scorer

    many = [f"{t} {b}" * (1 + i % 3) for i, (_, t, b) in enumerate(make_rows(300, seed=5))]
    got, unsorted = Scorer(clf, 16).logits(many), Scorer(clf, 16, sort=False).logits(many)
    np.testing.assert_allclose(got, unsorted, rtol=0, atol=1e-6)
    assert (got.argmax(1) == unsorted.argmax(1)).all()
    alone = np.concatenate([clf.logits([t]) for t in many[:40]])
    np.testing.assert_allclose(Scorer(clf, 7).logits(many[:40]), alone, rtol=0, atol=1e-6)
    info = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert info["version"] == 2
    # One lookup of the token ids (embedding + the linear model's word weights and idf) and one of
    # the hashed pairs (the linear model's pair weights and idf): table_lookups.fuse_table_lookups.
    import onnx

    graph = onnx.load(str(tmp_path / "bundle" / "model.onnx")).graph
    tables = {i.name for i in graph.initializer}
    lookups = [n for n in graph.node if n.op_type == "Gather" and n.input[0] in tables]
    assert len(lookups) == 2 and sum(n.input[1] == "input_ids" for n in lookups) == 1


def test_a_complete_run_resumed_gets_the_linear_model_once(synth_dir, tmp_path, monkeypatch):
    from lstmtc.train import linear
    from lstmtc.train.checkpoint import read_checkpoint
    from lstmtc.train.config import recipe_config
    from lstmtc.train.loop import train

    monkeypatch.setattr(linear, "LINEAR_MIX", (0.3,))
    args = {"embed_dim": 8, "hidden_sizes": (8,), "pooling": "max", "ngram_buckets": 0}
    train(synth_dir / "train.csv", tmp_path / "run", recipe_config(epochs=2, embeddings=None, linear=False), args,
          progress=False, log=lambda s: None)
    assert read_checkpoint(tmp_path / "run" / "best.pt")["model_config"]["linear_buckets"] == 0
    lines = []
    train(synth_dir / "train.csv", tmp_path / "run", recipe_config(epochs=2, embeddings=None), args, resume=True,
          progress=False, log=lines.append)
    assert read_checkpoint(tmp_path / "run" / "best.pt")["model_config"]["linear_buckets"] > 0
    assert sum(line.startswith("linear model (") for line in lines) == 1
    again = []
    train(synth_dir / "train.csv", tmp_path / "run", recipe_config(epochs=2, embeddings=None), args, resume=True,
          progress=False, log=again.append)
    assert not any("linear model" in line for line in again)


def test_pruning_keeps_the_linear_model_of_the_kept_tokens():
    from lstmtc.export.prune import prune_vocab
    from lstmtc.infer.vectorize import TextPipeline
    from lstmtc.infer.vocab import Vocab

    model, _, _, ids, lengths = _fitted(3)
    vocab = Vocab(["<unk>", "<pad>"] + [f"w{i}" for i in range(VOCAB - 2)], 0, 1)
    pruned, _ = prune_vocab(model, TextPipeline(vocab, 15, "packed", "basic_english"), 12)
    assert pruned.lin_uni.shape == (12, 3) and pruned.lin_uni_idf.shape == (12,)
    with torch.no_grad():  # ids below 12 are all kept: the same logits
        assert torch.allclose(pruned.linear_logits(ids, _real(ids, lengths)),
                              model.linear_logits(ids, _real(ids, lengths)), atol=1e-6)


def test_a_linear_model_too_large_is_left_out_with_a_note(synth_dir, tmp_path, monkeypatch):
    from lstmtc.train import linear
    from lstmtc.train.checkpoint import read_checkpoint
    from lstmtc.train.config import recipe_config
    from lstmtc.train.loop import train

    monkeypatch.setattr(linear, "LINEAR_MAX_WEIGHTS", 10)
    lines = []
    train(synth_dir / "train.csv", tmp_path / "run", recipe_config(epochs=1, embeddings=None),
          {"embed_dim": 8, "hidden_sizes": (8,), "ngram_buckets": 0}, progress=False, log=lines.append)
    assert read_checkpoint(tmp_path / "run" / "best.pt")["model_config"]["linear_buckets"] == 0
    assert any(line.startswith("note: no linear model: ") and "--no-linear" in line for line in lines)


def test_linear_buckets_sets_the_pair_rows(synth_dir, tmp_path):
    from click.testing import CliRunner

    from lstmtc.train.checkpoint import read_checkpoint
    from lstmtc.train.cli import main

    r = CliRunner().invoke(main, ["--train", str(synth_dir / "train.csv"), "--out", str(tmp_path / "run"),
                                  "--epochs", "1", "--embeddings", "none", "--embed-dim", "8", "--hidden", "8",
                                  "--linear-buckets", "512"])
    assert r.exit_code == 0, r.output
    best = read_checkpoint(tmp_path / "run" / "best.pt")
    assert best["model_config"]["linear_buckets"] == 512 and best["state_dict"]["lin_bi"].shape[0] == 512


def test_a_share_of_zero_keeps_the_network_alone(synth_dir, tmp_path, monkeypatch):
    from lstmtc.train import linear
    from lstmtc.train.checkpoint import read_checkpoint
    from lstmtc.train.config import recipe_config
    from lstmtc.train.loop import train

    monkeypatch.setattr(linear, "LINEAR_MIX", (0.0,))
    args = {"embed_dim": 8, "hidden_sizes": (8,), "ngram_buckets": 0}
    lines = []
    train(synth_dir / "train.csv", tmp_path / "run", recipe_config(epochs=1, embeddings=None), args,
          progress=False, log=lines.append)
    best = read_checkpoint(tmp_path / "run" / "best.pt")
    assert best["linear"]["mix"] == 0.0 and best["model_config"]["linear_buckets"] == 0
    assert not any(k.startswith("lin_") for k in best["state_dict"])
    assert lines[-1].endswith("(the network alone)")
    again = []  # resumed: the choice stands, nothing is fitted again
    train(synth_dir / "train.csv", tmp_path / "run", recipe_config(epochs=1, embeddings=None), args, resume=True,
          progress=False, log=again.append)
    assert not any("linear model" in line for line in again)


@pytest.mark.parametrize("flags", [["--no-linear"], ["--preset", "2"]])
def test_linear_buckets_without_the_linear_model_is_refused(synth_dir, tmp_path, flags):
    from click.testing import CliRunner

    from lstmtc.train.cli import main

    r = CliRunner().invoke(main, ["--train", str(synth_dir / "train.csv"), "--out", str(tmp_path / "run"),
                                  "--linear-buckets", "512", *flags])
    assert r.exit_code == 2 and "--linear-buckets sizes the linear model, which is off here" in r.output
    assert not (tmp_path / "run").exists()
