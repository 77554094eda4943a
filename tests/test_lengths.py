"""Length-aware models (padding "packed", bundle format 2): a document's logits do not depend on its
padding, its batch size or its neighbours -- in PyTorch and in onnxruntime -- and sorting by length
changes the time, never the output or its order. Version-1 bundles are scored as before."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import make_rows

ATOL = 1e-5
BATCH_SIZES = (1, 7, 1024)


def _texts(n: int, seed: int = 3) -> list[str]:
    """Documents of very different lengths (2 to ~40 tokens), with unknown words and an empty one."""
    rows = make_rows(n, seed=seed)
    texts = [f"{t} {b}" for _, t, b in rows]
    texts[5] = "zzz qqq"  # unknown words only
    texts[9] = "."  # one token
    return texts


@pytest.fixture(scope="session")
def packed_run(synth_dir, tmp_path_factory):
    from lstmtc.train.config import recipe_config
    from lstmtc.train.loop import train

    out = tmp_path_factory.mktemp("packed") / "run"
    cfg = recipe_config(epochs=2, batch_size=32, seed=0)
    assert cfg.padding_side == "packed"  # the default recipe is length-aware
    train(synth_dir / "train.csv", out, cfg, {"hidden_sizes": (12,), "embed_dim": 16, "bidirectional": True,
                                              "pooling": "max", "dropout": 0.5}, progress=False, log=lambda s: None)
    return out


@pytest.fixture(scope="session")
def packed_bundle(packed_run, tmp_path_factory):
    from lstmtc.export import export_bundle

    out = tmp_path_factory.mktemp("packed_bundle") / "b"
    result = export_bundle(packed_run / "best.pt", out, precisions=("int8", "fp16"))
    assert result.validation is not None and not result.validation.failures
    return out


def _model(pooling: str, bidirectional: bool, hidden=(6, 5), layers=2):
    from lstmtc.train.model import LSTMClassifier, ModelConfig

    torch.manual_seed(0)
    return LSTMClassifier(ModelConfig(vocab_size=60, num_classes=3, embed_dim=8, hidden_sizes=hidden,
                                      num_layers=layers, bidirectional=bidirectional, pooling=pooling,
                                      lengths=True)).eval()


def _docs(n: int, seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [list(rng.integers(2, 60, size=int(rng.integers(1, 30)))) for _ in range(n)]


def _batch(docs, width: int, pad: int = 1):
    ids = np.full((len(docs), width), pad, dtype=np.int64)
    for i, d in enumerate(docs):
        ids[i, :len(d)] = d
    return ids, np.array([len(d) for d in docs], dtype=np.int64)


def _alone(run, docs) -> np.ndarray:
    return np.concatenate([run(*_batch([d], len(d))) for d in docs])


def _in_batches(run, docs, size: int, width: int | None = None) -> np.ndarray:
    parts = []
    for i in range(0, len(docs), size):
        chunk = docs[i:i + size]
        parts.append(run(*_batch(chunk, width or max(len(d) for d in chunk))))
    return np.concatenate(parts)


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_torch_logits_do_not_depend_on_padding_batch_or_neighbours(pooling, bidirectional):
    model = _model(pooling, bidirectional)

    def run(ids, lengths):
        with torch.inference_mode():
            return model(torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()

    docs = _docs(1024 + 7)
    alone = _alone(run, docs)
    for size in BATCH_SIZES:
        np.testing.assert_allclose(_in_batches(run, docs, size), alone, rtol=0, atol=ATOL)
        np.testing.assert_allclose(_in_batches(run, docs, size, width=80), alone, rtol=0, atol=ATOL)
    # other neighbours: the same documents reversed and rotated
    rotated = docs[::-1][3:] + docs[::-1][:3]
    np.testing.assert_allclose(_in_batches(run, rotated, 7), _alone(run, rotated), rtol=0, atol=ATOL)


def test_last_pooling_reads_each_documents_own_last_token():
    """'last' = the forward state after the document's last token and the backward state after its
    first: appending padding must not move it, appending a word must."""
    model = _model("last", True, hidden=(5,), layers=1)
    doc = [7, 8, 9]
    with torch.inference_mode():
        a = model(torch.tensor([doc + [1, 1, 1]]), torch.tensor([3]))
        b = model(torch.tensor([doc]), torch.tensor([3]))
        c = model(torch.tensor([doc + [10]]), torch.tensor([4]))
    assert torch.equal(a, b)
    assert not torch.allclose(b, c)


def test_length_aware_model_needs_lengths():
    with pytest.raises(ValueError, match="length-aware"):
        _model("max", True)(torch.tensor([[3, 4]]))


@pytest.mark.parametrize("pooling,bidirectional,hidden,layers",
                         [("max", True, (6, 5), 2), ("last", True, (8,), 3), ("mean", False, (7,), 1)])
def test_onnx_logits_equal_torch_alone_at_any_padding_batch_and_neighbours(tmp_path, pooling, bidirectional,
                                                                           hidden, layers):
    import onnxruntime as ort

    from lstmtc.export.onnx_export import export_onnx

    model = _model(pooling, bidirectional, hidden, layers)
    export_onnx(model, tmp_path / "m.onnx", seq_len=12)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input_ids", "lengths"]

    def torch_run(ids, lengths):
        with torch.inference_mode():
            return model(torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()

    def ort_run(ids, lengths):
        return sess.run(None, {"input_ids": ids, "lengths": lengths})[0]

    docs = _docs(1024 + 7, seed=1)
    alone = _alone(torch_run, docs)
    np.testing.assert_allclose(_alone(ort_run, docs), alone, rtol=0, atol=ATOL)
    for size in BATCH_SIZES:
        np.testing.assert_allclose(_in_batches(ort_run, docs, size), alone, rtol=0, atol=ATOL)
        np.testing.assert_allclose(_in_batches(ort_run, docs, size, width=64), alone, rtol=0, atol=ATOL)


def test_packed_bundle_is_format_2_with_lengths_in_every_precision(packed_bundle):
    import onnxruntime as ort

    m = json.loads((packed_bundle / "bundle.json").read_text())
    assert m["version"] == 2 and m["padding_side"] == "packed"
    assert [i["name"] for i in m["inputs"]] == ["input_ids", "lengths"]
    assert set(m["models"]) == {"fp32", "int8", "fp16"}
    for name in m["models"].values():
        sess = ort.InferenceSession(str(packed_bundle / name), providers=["CPUExecutionProvider"])
        assert [i.name for i in sess.get_inputs()] == ["input_ids", "lengths"], name


@pytest.mark.parametrize("precision", ["fp32", "int8", "fp16"])
def test_classifier_logits_equal_checkpoint_logits(packed_run, packed_bundle, precision):
    from lstmtc.infer import Classifier
    from lstmtc.train.checkpoint import Checkpoint

    texts = _texts(300)
    clf = Classifier.load(packed_bundle, precision)
    want = Checkpoint.read(packed_run / "best.pt").logits(texts).numpy()
    got = clf.logits(texts, batch_size=7)
    if precision == "fp32":
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    else:  # weights rounded: the same classes nearly everywhere
        assert (got.argmax(1) == want.argmax(1)).mean() > 0.95


def test_scorer_sorts_but_answers_in_input_order(packed_bundle):
    from lstmtc.infer import Classifier
    from lstmtc.infer.scoring.scorer import WINDOW_BATCHES, Scorer

    clf = Classifier.load(packed_bundle, threads=1)  # one chunk: one sorted pass (chunks: the test below)
    texts = _texts(500)
    calls = []
    sorted_scorer = Scorer(clf, batch_size=16)
    run = sorted_scorer.run
    sorted_scorer.run = lambda ids, lengths: calls.append(lengths.copy()) or run(ids, lengths)
    got = sorted_scorer.logits(texts)
    # each batch sorted by length, and the batches in increasing length
    flat = np.concatenate(calls)
    assert (np.diff(flat) >= 0).all() and len(calls) == -(-500 // 16)
    unsorted = Scorer(clf, batch_size=16, sort=False).logits(texts)
    alone = np.concatenate([clf.logits([t]) for t in texts])
    # Sorted or not, the same answers: onnxruntime may round a row differently at another padded
    # width (up to ~1e-6 on real models), the bound is 1e-5.
    np.testing.assert_allclose(got, unsorted, rtol=0, atol=ATOL)
    assert (got.argmax(1) == unsorted.argmax(1)).all()
    np.testing.assert_allclose(got, alone, rtol=0, atol=ATOL)  # row i is text i
    assert sorted_scorer.window == 16 * WINDOW_BATCHES and Scorer(clf, 16, sort=False).window == 16  # one thread


def test_chunks_scored_on_several_threads_answer_in_input_order(packed_bundle):
    import threading

    from lstmtc.infer import Classifier
    from lstmtc.infer.scoring.scorer import WINDOW_BATCHES, Scorer

    texts = _texts(500)
    one = Scorer(Classifier.load(packed_bundle, threads=1), batch_size=16)
    three = Scorer(Classifier.load(packed_bundle, threads=3), batch_size=16)
    assert three.window == 3 * one.window == 3 * 16 * WINDOW_BATCHES
    calls, started = [], threading.Barrier(3)
    run = three.run

    def spy(ids, lengths):
        if all(ident != threading.get_ident() for ident, _ in calls):
            started.wait(timeout=30)  # each chunk's first call waits for the others: all three at once
        calls.append((threading.get_ident(), lengths.copy()))
        return run(ids, lengths)

    three.run = spy
    got = three.logits(texts)
    # three chunks of whole batches (176, 176, 148 texts), each sorted on its own thread
    assert len({ident for ident, _ in calls}) == 3 and len(calls) == 11 + 11 + 10
    for ident in {i for i, _ in calls}:
        flat = np.concatenate([lens for i, lens in calls if i == ident])
        assert (np.diff(flat) >= 0).all()
    np.testing.assert_allclose(got, one.logits(texts), rtol=0, atol=ATOL)
    assert (got.argmax(1) == one.logits(texts).argmax(1)).all()
    np.testing.assert_allclose(got, np.concatenate([one.logits([t]) for t in texts]), rtol=0, atol=ATOL)


def test_chunk_bounds():
    from lstmtc.infer.batching import chunk_bounds

    assert chunk_bounds(0, 16, 2) == []
    assert chunk_bounds(10, 16, 2) == [(0, 10)]  # one batch: one chunk
    assert chunk_bounds(33, 16, 2) == [(0, 32), (32, 33)]  # three batches: 2 + 1
    assert chunk_bounds(500, 16, 3) == [(0, 176), (176, 352), (352, 500)]
    assert chunk_bounds(64, 16, 8) == [(0, 16), (16, 32), (32, 48), (48, 64)]  # never more chunks than batches
    for n, size, parts in ((1, 1, 1), (999, 7, 4), (1024, 64, 2), (65, 64, 5)):
        bounds = chunk_bounds(n, size, parts)
        assert len(bounds) <= parts and bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
        assert all((stop - start) % size == 0 for start, stop in bounds[:-1])


def test_cli_output_is_identical_with_and_without_sorting(packed_bundle, tmp_path):
    from lstmtc.infer.apps.classify_cli import main

    texts = _texts(700)
    texts[100] = ""  # an empty line keeps its place
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n")
    outs = []
    for extra in ([], ["--no-sort"], ["--batch-size", "1"]):
        r = CliRunner().invoke(main, ["-m", str(packed_bundle), "--prob", str(src), *extra])
        assert r.exit_code == 0, r.output
        outs.append(r.output)
    assert outs[0] == outs[1] == outs[2]
    lines = outs[0].split("\n")
    assert len(lines) == 701 and lines[100] == ""


def test_stdin_pause_is_answered_at_once_with_sorting(packed_bundle):
    """A window is many batches, but a pipe that pauses gets its answer before it sends more."""
    from test_classify_stream import classify_cmd

    proc = subprocess.Popen(classify_cmd() + ["-m", str(packed_bundle)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        for text in ("the striker scored a goal", "shares fell after the merger"):
            proc.stdin.write(text + "\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() in ("World", "Sports", "Business", "Sci/Tech")
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_version_1_bundle_scores_exactly_as_before(tiny_bundle, tmp_path):
    """A format-1 manifest (written before lengths existed) loads, runs fixed-width in input order,
    and gives the same logits as the same model under a format-2 manifest."""
    from lstmtc.infer import Classifier
    from lstmtc.infer.scoring.scorer import Scorer

    old = tmp_path / "v1"
    shutil.copytree(tiny_bundle, old)
    m = json.loads((old / "bundle.json").read_text())
    m["version"] = 1
    m["input"] = m.pop("inputs")[0]
    (old / "bundle.json").write_text(json.dumps(m))
    a, b = Classifier.load(old), Classifier.load(tiny_bundle)
    assert not a.length_aware and Scorer(a, 16).window == 16 * a.threads  # a batch per thread
    texts = _texts(100)
    ids = a.pipeline(texts)
    assert ids.shape[1] == a.pipeline.max_tokens  # every batch at max_tokens, as format 1 always ran
    np.testing.assert_array_equal(Scorer(a, 16).logits(texts), b.logits_ids(ids))


def test_manifest_inputs_must_match_padding(packed_bundle, tmp_path):
    from lstmtc.infer.bundle import load_bundle
    from lstmtc.infer.errors import BundleError

    for edit, match in (
        (lambda m: m.update(version=1), "padding_side 'packed' is not one of"),
        (lambda m: m["inputs"].pop(), "'inputs' must be"),
        (lambda m: m.update(padding_side="post"), "'inputs' must be"),
    ):
        b = tmp_path / f"b{len(list(tmp_path.iterdir()))}"
        shutil.copytree(packed_bundle, b)
        m = json.loads((b / "bundle.json").read_text())
        edit(m)
        (b / "bundle.json").write_text(json.dumps(m))
        with pytest.raises(BundleError, match=match):
            load_bundle(b)


def test_session_without_lengths_input_is_refused(packed_bundle, tiny_bundle, tmp_path):
    """bundle.json says packed but the model takes one input: refused at load with one line."""
    from lstmtc.infer import Classifier
    from lstmtc.infer.bundle import file_digests
    from lstmtc.infer.errors import BundleError

    b = tmp_path / "mixed"
    shutil.copytree(packed_bundle, b)
    for name in ("model.int8.onnx", "model.fp16.onnx"):
        (b / name).unlink()
    shutil.copy(tiny_bundle / "model.onnx", b / "model.onnx")
    shutil.copy(tiny_bundle / "vocab.json", b / "vocab.json")
    m = json.loads((b / "bundle.json").read_text())
    m["models"] = {"fp32": "model.onnx"}
    m["files"] = {k: v for k, v in file_digests(b).items() if k != "bundle.json"}
    (b / "bundle.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="says the model takes input_ids .* lengths"):
        Classifier.load(b)


def test_only_default_ships_one_int8_model(packed_run, tmp_path):
    from lstmtc.export import export_bundle
    from lstmtc.infer import Classifier
    from lstmtc.infer.errors import BundleError

    out = tmp_path / "small"
    export_bundle(packed_run / "best.pt", out, precisions=("int8",), default_precision="int8", only_default=True)
    m = json.loads((out / "bundle.json").read_text())
    assert m["models"] == {"int8": "model.int8.onnx"} and m["default_precision"] == "int8"
    assert sorted(p.name for p in out.iterdir()) == ["bundle.json", "model.int8.onnx", "vocab.json"]
    clf = Classifier.load(out)
    assert clf.length_aware and clf.predict(["the striker scored"])[0][0][0] in clf.labels
    with pytest.raises(BundleError, match="no fp32 model in this bundle"):
        Classifier.load(out, "fp32")


def test_only_default_with_fp32_default_refuses_to_drop_new_models(packed_run, tmp_path):
    from lstmtc.export.cli import main

    r = CliRunner().invoke(main, [str(packed_run / "best.pt"), "-o", str(tmp_path / "x"), "--quantize", "int8",
                                  "--only-default"])
    assert r.exit_code == 2 and "--only-default with --default-precision fp32" in r.output
    assert not (tmp_path / "x").exists()


def test_classifier_logits_ids_needs_lengths_for_a_length_aware_model(packed_bundle):
    from lstmtc.infer import Classifier

    clf = Classifier.load(packed_bundle)
    tokens = clf.pipeline.model_tokens(["the striker scored a goal"])
    with pytest.raises(ValueError, match="length-aware"):
        clf.logits_ids(clf.pipeline.ids(tokens))
    assert clf.logits_ids(clf.pipeline.ids(tokens), clf.pipeline.lengths(tokens)).shape == (1, len(clf.labels))
