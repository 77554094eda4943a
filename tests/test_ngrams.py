"""The n-gram bag beside the LSTM (``ModelConfig.ngram_buckets``): it reads word pairs and only real
tokens, keeps a length-aware model independent of padding and neighbours, exports to ONNX with the
same logits, survives vocabulary pruning, and models without it load and score as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_lengths import ATOL, BATCH_SIZES, _alone, _docs, _in_batches


def _model(lengths: bool = True, buckets: int = 97, dim: int = 3, seed: int = 0):
    from lstmtc.train.model import LSTMClassifier, ModelConfig

    torch.manual_seed(seed)
    model = LSTMClassifier(ModelConfig(vocab_size=60, num_classes=3, embed_dim=8, hidden_sizes=(6,),
                                       bidirectional=True, pooling="max", lengths=lengths,
                                       ngram_buckets=buckets, ngram_dim=dim))
    # The bag starts at zero (silent); give it weights so every test below can see it.
    with torch.no_grad():
        model.unigrams.weight.normal_()
        model.bigrams.weight.normal_()
    return model.eval()


def _bag(model, ids: list[list[int]], width: int | None = None) -> torch.Tensor:
    width = width or max(map(len, ids))
    x = torch.full((len(ids), width), 1, dtype=torch.long)
    for i, d in enumerate(ids):
        x[i, :len(d)] = torch.tensor(d)
    real = (x != 1).unsqueeze(-1)
    with torch.inference_mode():
        return model._ngram_bag(x, real)


def test_bag_reads_word_pairs_not_only_words():
    model = _model()
    forward, backward = _bag(model, [[3, 4, 5]]), _bag(model, [[5, 4, 3]])
    # the same words in another order: the unigram part agrees, the pairs do not
    assert not torch.allclose(forward, backward)
    uni = model.unigrams.weight[[3, 4, 5]].sum(0)
    bi = model.bigrams.weight[[(3 * 10_000_019 + 4) % 97, (4 * 10_000_019 + 5) % 97]].sum(0)
    torch.testing.assert_close(forward[0], ((uni + bi) / 5).detach())


def test_bag_ignores_padding_and_an_empty_document_reads_zeros():
    model = _model()
    torch.testing.assert_close(_bag(model, [[3, 4, 5]]), _bag(model, [[3, 4, 5]], width=40))
    torch.testing.assert_close(_bag(model, [[3]]), model.unigrams.weight[[3]].detach())
    empty = torch.full((1, 4), 1, dtype=torch.long)
    with torch.inference_mode():
        out = model._ngram_bag(empty, (empty != 1).unsqueeze(-1))
    assert torch.equal(out, torch.zeros(1, 3))


def test_a_model_without_the_bag_has_no_bag_weights():
    from lstmtc.train.model import LSTMClassifier, ModelConfig

    model = LSTMClassifier(ModelConfig(vocab_size=60, num_classes=3))
    assert model.config.ngram_buckets == 0
    assert not any(k.startswith(("unigrams", "bigrams")) for k in model.state_dict())
    assert model.head.in_features == 75


@pytest.mark.parametrize("buckets,dim", [(0, 8), (-1, 8), (97, 0)])
def test_bad_bag_settings_are_refused(buckets, dim):
    from lstmtc.train.model import ModelConfig

    if buckets == 0:
        ModelConfig(vocab_size=60, num_classes=3, ngram_buckets=0, ngram_dim=dim)  # off: width unused
        return
    with pytest.raises(ValueError, match="ngram"):
        ModelConfig(vocab_size=60, num_classes=3, ngram_buckets=buckets, ngram_dim=dim)


@pytest.mark.parametrize("lengths", [True, False])
def test_onnx_logits_equal_torch_with_the_bag(tmp_path, lengths):
    """Length-aware: every document scored alone equals any batch and padding, in torch and in
    onnxruntime. Fixed width (the reference's padding): onnxruntime equals torch batch for batch."""
    import onnxruntime as ort

    from lstmtc.export.onnx_export import export_onnx

    model = _model(lengths=lengths)
    export_onnx(model, tmp_path / "m.onnx", seq_len=12)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])

    def torch_run(ids, lens):
        with torch.inference_mode():
            args = (torch.from_numpy(ids), torch.from_numpy(lens)) if lengths else (torch.from_numpy(ids),)
            return model(*args).numpy()

    def ort_run(ids, lens):
        feed = {"input_ids": ids, "lengths": lens} if lengths else {"input_ids": ids}
        return sess.run(None, feed)[0]

    docs = _docs(1024 + 7, seed=2)
    if lengths:
        alone = _alone(torch_run, docs)
        np.testing.assert_allclose(_alone(ort_run, docs), alone, rtol=0, atol=ATOL)
        for size in BATCH_SIZES:
            np.testing.assert_allclose(_in_batches(torch_run, docs, size, width=64), alone, rtol=0, atol=ATOL)
            np.testing.assert_allclose(_in_batches(ort_run, docs, size), alone, rtol=0, atol=ATOL)
            np.testing.assert_allclose(_in_batches(ort_run, docs, size, width=64), alone, rtol=0, atol=ATOL)
    else:
        for size in BATCH_SIZES:
            np.testing.assert_allclose(_in_batches(ort_run, docs, size, width=30),
                                       _in_batches(torch_run, docs, size, width=30), rtol=0, atol=ATOL)


def test_pruning_keeps_the_pairs_of_kept_words():
    """Pruning turns rare words into <unk>; documents of kept words score exactly as before."""
    from lstmtc.export.prune import prune_vocab
    from lstmtc.infer.vectorize import TextPipeline
    from lstmtc.infer.vocab import Vocab

    model = _model()
    vocab = Vocab(["<unk>", "<pad>"] + [f"w{i}" for i in range(58)], 0, 1)
    pruned, pipe = prune_vocab(model, TextPipeline(vocab, 12, "post", "basic_english"), 30)
    assert len(pipe.vocab) == 30 and pruned.unigrams.num_embeddings == 30
    docs = [[t % 28 + 2 for t in d] for d in _docs(50, seed=4)]  # kept words only (ids 2..29)

    def run(m):
        return lambda ids, lens: m(torch.from_numpy(ids), torch.from_numpy(lens)).detach().numpy()

    np.testing.assert_allclose(_in_batches(run(pruned), docs, 7), _in_batches(run(model), docs, 7), rtol=0, atol=0)


def test_train_cli_trains_the_bag_and_the_bundle_scores_like_the_checkpoint(synth_dir, tmp_path):
    """--ngram-buckets/--ngram-dim reach the checkpoint, the bag learns (leaves zero), and the exported
    bundle (fp32 and fp16) gives the checkpoint's logits."""
    from click.testing import CliRunner

    from lstmtc.export import export_bundle
    from lstmtc.infer import Classifier
    from lstmtc.train import cli as train_cli
    from lstmtc.train.checkpoint import Checkpoint

    run = tmp_path / "run"
    r = CliRunner().invoke(train_cli.main, ["--train", str(synth_dir / "train.csv"), "--out", str(run), "--epochs", "2",
                                            "--hidden", "8", "--embed-dim", "8", "--ngram-buckets", "64",
                                            "--ngram-dim", "4", "--threads", "1"])
    assert r.exit_code == 0, r.output
    ckpt = Checkpoint.read(run / "best.pt")
    assert (ckpt.model.config.ngram_buckets, ckpt.model.config.ngram_dim) == (64, 4)
    assert ckpt.model.bigrams.weight.abs().sum() > 0 and ckpt.model.unigrams.weight.abs().sum() > 0
    result = export_bundle(run / "best.pt", tmp_path / "b", precisions=("fp16",))
    assert not result.validation.failures
    texts = ["stocks rally as oil falls", "the team won the final", ""]
    tokens = ckpt.pipeline.model_tokens(texts)
    ids, lengths = ckpt.pipeline.ids(tokens), ckpt.pipeline.lengths(tokens)
    for precision, atol in (("fp32", 1e-5), ("fp16", 1e-2)):
        probs = Classifier.load(tmp_path / "b", precision=precision).predict_proba(texts)
        with torch.inference_mode():
            want = torch.softmax(ckpt.model(torch.from_numpy(ids), torch.from_numpy(lengths)), 1).numpy()
        np.testing.assert_allclose(probs, want, rtol=0, atol=atol)


def test_distinct_pairs_counts_real_adjacent_pairs_only():
    from lstmtc.train.model import distinct_pairs

    ids = torch.tensor([[3, 4, 5, 1, 1], [3, 4, 1, 1, 1], [5, 4, 3, 4, 1], [7, 1, 1, 1, 1]])
    # (3,4) (4,5) (5,4) (4,3); padding pairs and the one-word row add none
    assert distinct_pairs(ids, pad_index=1) == 4


@pytest.mark.parametrize("pairs,rows", [(0, 1024), (1000, 1024), (1025, 2048), (40_000, 65536), (5_000_000, 262144)])
def test_auto_ngram_buckets_is_a_power_of_two_in_range(pairs, rows):
    from lstmtc.train.config import auto_ngram_buckets

    assert auto_ngram_buckets(pairs) == rows


@pytest.mark.parametrize("value,ok", [("auto", True), ("0", True), ("4096", True), ("-3", False), ("lots", False)])
def test_ngram_buckets_option_takes_a_count_or_auto(synth_dir, tmp_path, value, ok):
    from click.testing import CliRunner

    from lstmtc.train import cli as train_cli

    run = tmp_path / "run"
    r = CliRunner().invoke(train_cli.main, ["--train", str(synth_dir / "train.csv"), "--out", str(run), "--epochs", "1",
                                            "--hidden", "4", "--embed-dim", "4", "--ngram-buckets", value,
                                            "--threads", "1"])
    if not ok:
        assert r.exit_code == 2 and "--ngram-buckets" in r.output and "'auto'" in r.output
        assert not run.exists()
        return
    assert r.exit_code == 0, r.output
    from lstmtc.train.checkpoint import Checkpoint

    buckets = Checkpoint.read(run / "best.pt").model.config.ngram_buckets
    if value == "auto":
        assert buckets >= 1024 and buckets & (buckets - 1) == 0
        assert f"n-gram bag: {buckets:,} pair rows" in r.output
    else:
        assert buckets == int(value)


def test_the_recipe_has_the_bag_and_the_presets_do_not():
    from lstmtc.train.cli import resolve_settings

    _, recipe = resolve_settings(None, {}, "cpu")
    assert (recipe["ngram_buckets"], recipe["ngram_dim"]) == ("auto", 8)
    _, off = resolve_settings(None, {"ngram_buckets": 0}, "cpu")
    assert off["ngram_buckets"] == 0
    for preset in range(1, 6):
        _, model = resolve_settings(preset, {}, "cpu")
        assert "ngram_buckets" not in model  # the reference architectures stay exactly as published
