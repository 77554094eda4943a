"""Export: all five presets to ONNX with native LSTM ops, validated against PyTorch; the bundle format;
int8/fp16 models; atomic output; validation failures collected."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from lstmtc.export import ExportValidationError, bundle_writer, export_bundle, validate_export
from lstmtc.export.onnx_export import export_onnx
from lstmtc.export.validate import BATCH_SIZES, SAMPLE_TEXTS
from lstmtc.infer.bundle import load_bundle
from lstmtc.infer.classifier import Classifier
from lstmtc.infer.errors import BundleError
from lstmtc.infer.vectorize import TextPipeline
from lstmtc.infer.vocab import Vocab
from lstmtc.train import PRESETS, LSTMClassifier, ModelConfig
from lstmtc.train.checkpoint import model_from_checkpoint, pipeline_from_checkpoint, read_checkpoint, save_checkpoint

AG = ["World", "Sports", "Business", "Sci/Tech"]

# Per preset: hidden_size of each ONNX LSTM node (multi-layer modules become one node per layer).
LSTM_NODES = {
    1: [75],
    2: [75],
    3: [75, 75, 75],
    4: [50, 60, 75],
    5: [75, 75, 75],
}


def session(path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def small_vocab() -> Vocab:
    pipe = TextPipeline(Vocab(["<unk>", "<pad>"], 0, 1), 10)
    return Vocab.build(pipe.tokenize(SAMPLE_TEXTS))


def preset_checkpoint(path, preset: int, seed: int = 0):
    """A checkpoint with a preset's architecture (random weights) and a small vocabulary."""
    vocab = small_vocab()
    arch = dict(PRESETS[preset])
    max_tokens = arch.pop("max_tokens")
    mcfg = ModelConfig(vocab_size=len(vocab), num_classes=4, pad_index=vocab.pad_index, **arch)
    torch.manual_seed(seed)
    model = LSTMClassifier(mcfg)
    save_checkpoint(path, {
        "model_config": mcfg.to_dict(),
        "state_dict": model.state_dict(),
        "vocab": vocab.to_dict(),
        "pipeline": {"tokenizer": "basic_english", "max_tokens": max_tokens, "padding_side": "post"},
        "labels": AG,
        "label_values": ["1", "2", "3", "4"],
        "epoch": 1,
    })
    return path


@pytest.fixture(scope="module", params=[1, 2, 3, 4, 5], ids=lambda p: f"preset{p}")
def exported(request, tmp_path_factory):
    preset = request.param
    d = tmp_path_factory.mktemp(f"preset{preset}")
    ckpt = preset_checkpoint(d / "best.pt", preset)
    result = export_bundle(ckpt, d / "bundle")
    c = read_checkpoint(ckpt)
    return {"preset": preset, "result": result, "bundle": d / "bundle", "model": model_from_checkpoint(c),
            "pipeline": pipeline_from_checkpoint(c)}


def test_preset_passes_fp32_validation(exported):
    report = exported["result"].validation
    assert report is not None and report.failures == []
    assert report.max_abs_diff <= 1e-4
    assert all(c.argmax_mismatches == 0 and c.ok for c in report.checks)
    max_tokens = exported["pipeline"].max_tokens
    assert {(c.batch, c.seq) for c in report.checks} == {
        (b, s) for b in BATCH_SIZES for s in (max_tokens, max_tokens // 2)}


def test_preset_graph_native_lstm_opset_checker(exported):
    model = onnx.load(str(exported["bundle"] / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    opset = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    assert opset["ai.onnx"] >= 17
    lstms = [n for n in model.graph.node if n.op_type == "LSTM"]
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in lstms]
    assert [a["hidden_size"] for a in attrs] == LSTM_NODES[exported["preset"]]
    directions = {a.get("direction", b"forward") for a in attrs}
    assert directions == ({b"bidirectional"} if exported["preset"] == 5 else {b"forward"})
    assert not any(n.op_type == "Loop" or n.op_type == "Scan" for n in model.graph.node)
    (inp,) = model.graph.input
    assert inp.name == "input_ids" and inp.type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [d.dim_param for d in inp.type.tensor_type.shape.dim] == ["batch", "sequence"]
    (out,) = model.graph.output
    assert out.name == "logits" and out.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = out.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 4


def test_preset_dynamic_axes_match_pytorch(exported):
    sess = session(exported["bundle"] / "model.onnx")
    model, max_tokens = exported["model"], exported["pipeline"].max_tokens
    vocab_size = model.config.vocab_size
    gen = torch.Generator().manual_seed(exported["preset"])
    for batch in (1, 3, 64):
        for seq in (1, 5, max_tokens, 2 * max_tokens):
            ids = torch.randint(0, vocab_size, (batch, seq), generator=gen)
            ids[0, seq // 2:] = 1  # some padding, as the pipeline writes it
            with torch.no_grad():
                want = model(ids).numpy()
            got = sess.run(None, {"input_ids": ids.numpy()})[0]
            assert got.shape == (batch, 4)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-4, err_msg=f"batch {batch}, seq {seq}")
            assert np.array_equal(got.argmax(1), want.argmax(1))


def test_preset_reference_evaluator_agrees_with_onnxruntime(exported):
    from onnx.reference import ReferenceEvaluator

    path = exported["bundle"] / "model.onnx"
    ids = np.array([[2, 3, 4, 5, 1, 1], [7, 0, 6, 9, 10, 3]], dtype=np.int64)
    ref = ReferenceEvaluator(str(path)).run(None, {"input_ids": ids})[0]
    got = session(path).run(None, {"input_ids": ids})[0]
    np.testing.assert_allclose(ref, got, rtol=0, atol=1e-5)


def test_preset_bundle_loads_and_classifies_like_pytorch(exported):
    clf = Classifier.load(exported["bundle"])
    assert clf.labels == AG
    texts = SAMPLE_TEXTS[:5]
    with torch.no_grad():
        want = exported["model"](torch.from_numpy(exported["pipeline"](texts))).numpy()
    np.testing.assert_allclose(clf.logits(texts), want, rtol=0, atol=1e-4)


def check_manifest(bundle, max_tokens: int):
    m = json.loads((bundle / "bundle.json").read_text())
    assert m["format"] == "lstmtc-bundle" and m["version"] == 2
    # a preset is fixed-width: format 2 names its one input
    assert m["inputs"] == [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}]
    assert m["labels"] == AG
    assert m["max_tokens"] == max_tokens
    assert m["padding_side"] == "post"
    assert m["tokenizer"] == "basic_english"
    on_disk = {p.name for p in bundle.iterdir()} - {"bundle.json"}
    assert set(m["files"]) == on_disk
    for name, digest in m["files"].items():
        assert digest == sha256(bundle / name), name
    assert m["models"]["fp32"] == "model.onnx"
    assert set(m["models"].values()) <= set(m["files"])
    return m


def test_preset_manifest(exported):
    m = check_manifest(exported["bundle"], exported["pipeline"].max_tokens)
    assert set(m["files"]) == {"model.onnx", "vocab.json"}
    assert m["provenance"]["model_config"]["hidden_sizes"] == list(PRESETS[exported["preset"]]["hidden_sizes"])


# --- the tiny trained bundle ------------------------------------------------------------------------


def test_tiny_bundle_manifest(tiny_bundle, tiny_run):
    m = check_manifest(tiny_bundle, 20)
    assert set(m["files"]) == {"model.onnx", "model.int8.onnx", "vocab.json"}
    assert m["models"] == {"fp32": "model.onnx", "int8": "model.int8.onnx"}
    assert m["default_precision"] == "fp32"
    vocab = Vocab.load(tiny_bundle / "vocab.json")
    assert vocab == Vocab.from_dict(read_checkpoint(tiny_run / "best.pt")["vocab"])
    assert vocab.pad_index != vocab.unk_index


def test_bundle_records_training_columns_and_reads_bundles_without_them(tiny_bundle, tmp_path):
    # trained with the columns detected: recorded as null
    m = json.loads((tiny_bundle / "bundle.json").read_text())
    assert m["columns"] == {"text": None, "title": None, "label": None}
    assert load_bundle(tiny_bundle).columns == m["columns"]
    # a format-1 bundle from before the field (as the previous bundled model was) loads unchanged
    old = tmp_path / "v1"
    shutil.copytree(tiny_bundle, old)
    v1 = dict(m, version=1, input=m["inputs"][0])
    del v1["inputs"], v1["columns"]
    (old / "bundle.json").write_text(json.dumps(v1))
    shipped = load_bundle(old)
    assert "columns" not in shipped.manifest and shipped.manifest["version"] == 1
    assert shipped.columns == {"text": None, "title": None, "label": None}
    b = tmp_path / "b"
    shutil.copytree(tiny_bundle, b)
    for bad in ({"text": 3}, {"body": "x"}, ["text"]):
        m["columns"] = bad
        (b / "bundle.json").write_text(json.dumps(m))
        with pytest.raises(BundleError, match="'columns' must map text, title, label"):
            load_bundle(b)
    m["columns"] = {"text": "body", "label": "intent"}  # roles left out read as null
    (b / "bundle.json").write_text(json.dumps(m))
    assert load_bundle(b).columns == {"text": "body", "title": None, "label": "intent"}


def test_training_columns_from_read_options():
    from lstmtc.infer.bundle import training_columns

    assert training_columns(None) == {"text": None, "title": None, "label": None}
    assert training_columns({"text_column": "body", "label_column": 1, "header": False, "delimiter": ";"}) == {
        "text": "body", "title": None, "label": "1"}


@pytest.mark.parametrize("victim", ["model.onnx", "vocab.json", "model.int8.onnx"])
def test_hash_mismatch_refused(tiny_bundle, tmp_path, victim):
    b = tmp_path / "b"
    shutil.copytree(tiny_bundle, b)
    load_bundle(b)  # intact copy loads
    with open(b / victim, "ab") as f:
        f.write(b" ")
    with pytest.raises(BundleError, match="SHA-256") as e:
        load_bundle(b)
    assert victim in str(e.value) and "\n" not in str(e.value)


def test_int8_model_has_dynamic_quantize_lstm(tiny_bundle):
    model = onnx.load(str(tiny_bundle / "model.int8.onnx"))
    ops = {n.op_type for n in model.graph.node}
    assert "DynamicQuantizeLSTM" in ops and "LSTM" not in ops
    sess = session(tiny_bundle / "model.int8.onnx")
    clf = Classifier.load(tiny_bundle)
    ids = clf.pipeline(SAMPLE_TEXTS)
    q = sess.run(None, {"input_ids": ids})[0]
    f = clf.logits_ids(ids)
    assert q.shape == f.shape
    assert (q.argmax(1) == f.argmax(1)).mean() >= 0.8


def test_int8_reports_agreement(tiny_run, synth_dir, tmp_path):
    res = export_bundle(tiny_run / "best.pt", tmp_path / "b", precisions=("int8",), data=str(synth_dir / "test.csv"))
    info = res.extra_models["int8"]
    assert info["n"] == 200
    assert info["agreement_with_fp32"] >= 0.9
    assert abs(info["accuracy"] - info["fp32_accuracy"]) <= 0.1
    assert res.validation is not None and not res.validation.failures


def test_fp16_model_loads_and_agrees(tiny_run, synth_dir, tmp_path):
    out = tmp_path / "b"
    res = export_bundle(tiny_run / "best.pt", out, precisions=("fp16",), default_precision="fp16")
    check_manifest(out, 20)
    assert res.extra_models["fp16"]["agreement_with_fp32"] >= 0.9
    m = onnx.load(str(out / "model.fp16.onnx"))
    onnx.checker.check_model(m, full_check=True)
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in m.graph.initializer)
    assert (out / "model.fp16.onnx").stat().st_size < 0.75 * (out / "model.onnx").stat().st_size
    bundle = load_bundle(out)
    assert bundle.model_path().name == "model.fp16.onnx"  # the default precision
    from lstmtc.infer.data import read_labelled

    texts = read_labelled(synth_dir / "test.csv").texts
    half = Classifier.load(out, "fp16").logits(texts)
    full = Classifier.load(out, "fp32").logits(texts)
    assert half.dtype == np.float32
    np.testing.assert_allclose(half, full, rtol=0, atol=5e-2)
    assert (half.argmax(1) == full.argmax(1)).mean() >= 0.97


def test_prune_vocab_export(tiny_run, tmp_path):
    out = tmp_path / "b"
    res = export_bundle(tiny_run / "best.pt", out, max_vocab=12)
    vocab = Vocab.load(out / "vocab.json")
    assert len(vocab) == 12
    assert vocab.tokens[:2] == ["<unk>", "<pad>"]
    assert not res.validation.failures
    m = onnx.load(str(out / "model.onnx"))
    emb = next(i for i in m.graph.initializer if list(i.dims) == [12, 16])
    assert emb is not None


# --- validation failures ----------------------------------------------------------------------------


class Noisy(nn.Module):
    """The exported model, but PyTorch now answers differently: validation must catch it."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, ids):
        out = self.inner(ids)
        g = torch.Generator().manual_seed(int(ids.shape[0]))
        return out + 0.5 + torch.rand(out.shape, generator=g)


def test_validation_failures_collected_for_every_batch_size(tiny_run, tmp_path):
    ckpt = read_checkpoint(tiny_run / "best.pt")
    model, pipeline = model_from_checkpoint(ckpt), pipeline_from_checkpoint(ckpt)
    export_onnx(model, tmp_path / "m.onnx", seq_len=pipeline.max_tokens)
    sess = session(tmp_path / "m.onnx")
    assert not validate_export(model, sess, pipeline).failures  # the honest model passes
    with pytest.raises(ExportValidationError) as e:
        validate_export(Noisy(model), sess, pipeline)
    failures = e.value.failures
    for seq in (20, 10):
        for bs in BATCH_SIZES:
            assert any(f"batch {bs}, seq {seq}:" in f and "logit diff" in f for f in failures), (bs, seq)
    assert "\n" not in str(e.value)
    report = validate_export(Noisy(model), sess, pipeline, raise_on_failure=False)
    assert report.failures == failures
    assert not any(c.ok for c in report.checks)


@pytest.mark.filterwarnings("ignore")
def test_wrong_output_name_is_a_failure(tiny_run, tmp_path):
    ckpt = read_checkpoint(tiny_run / "best.pt")
    model, pipeline = model_from_checkpoint(ckpt), pipeline_from_checkpoint(ckpt)
    torch.onnx.export(model, (torch.zeros(1, 20, dtype=torch.long),), str(tmp_path / "m.onnx"),
                      input_names=["input_ids"], output_names=["scores"],
                      dynamic_axes={"input_ids": {0: "b", 1: "s"}, "scores": {0: "b"}}, dynamo=False)
    report = validate_export(model, session(tmp_path / "m.onnx"), pipeline, raise_on_failure=False)
    assert any("outputs are ['scores']" in f for f in report.failures)


# --- atomic output ----------------------------------------------------------------------------------


def _boom(*a, **kw):
    raise RuntimeError("simulated failure")


@pytest.mark.parametrize("target", ["export_onnx", "validate_export", "noisy"])
def test_failed_export_leaves_nothing(tiny_run, tmp_path, monkeypatch, target):
    parent = tmp_path / "out"
    parent.mkdir()
    if target == "noisy":
        real = bundle_writer.validate_export
        monkeypatch.setattr(bundle_writer, "validate_export", lambda model, *a, **kw: real(Noisy(model), *a, **kw))
        expected = ExportValidationError
    else:
        monkeypatch.setattr(bundle_writer, target, _boom)
        expected = RuntimeError
    with pytest.raises(expected):
        export_bundle(tiny_run / "best.pt", parent / "bundle")
    assert list(parent.iterdir()) == []  # neither the bundle nor a temp directory


@pytest.mark.parametrize("target", ["export_onnx", "validate_export"])
def test_failed_forced_export_keeps_existing_bundle(tiny_bundle, tiny_run, tmp_path, monkeypatch, target):
    parent = tmp_path / "out"
    parent.mkdir()
    b = parent / "bundle"
    shutil.copytree(tiny_bundle, b)
    before = {p.name: p.read_bytes() for p in b.iterdir()}
    monkeypatch.setattr(bundle_writer, target, _boom)
    with pytest.raises(RuntimeError):
        export_bundle(tiny_run / "best.pt", b, force=True)
    assert [p.name for p in parent.iterdir()] == ["bundle"]
    assert {p.name: p.read_bytes() for p in b.iterdir()} == before


def test_failed_final_rename_restores_existing_bundle(tiny_bundle, tiny_run, tmp_path, monkeypatch):
    parent = tmp_path / "out"
    parent.mkdir()
    b = parent / "bundle"
    shutil.copytree(tiny_bundle, b)
    before = {p.name: p.read_bytes() for p in b.iterdir()}
    real_replace = os.replace

    def replace(src, dst):
        if os.fspath(dst) == os.fspath(b) and ".old-" not in os.fspath(src):
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(bundle_writer.os, "replace", replace)
    with pytest.raises(OSError):
        export_bundle(tiny_run / "best.pt", b, force=True)
    monkeypatch.undo()
    assert [p.name for p in parent.iterdir()] == ["bundle"]
    assert {p.name: p.read_bytes() for p in b.iterdir()} == before


def test_force_replaces_existing_bundle(tiny_run, tmp_path):
    b = tmp_path / "bundle"
    export_bundle(tiny_run / "best.pt", b)
    (b / "stale.txt").write_text("from the old bundle")
    with pytest.raises(bundle_writer.ExportError, match="--force"):
        export_bundle(tiny_run / "best.pt", b)
    assert (b / "stale.txt").exists()
    export_bundle(tiny_run / "best.pt", b, force=True, validate=False)
    assert not (b / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]
    load_bundle(b)


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_pooled_heads_export_and_match_pytorch(tmp_path, pooling):
    if "pooling" not in ModelConfig.__dataclass_fields__:
        pytest.skip("this ModelConfig has no pooling option")
    vocab = small_vocab()
    torch.manual_seed(3)
    model = LSTMClassifier(ModelConfig(vocab_size=len(vocab), num_classes=3, embed_dim=8, hidden_sizes=(8,),
                                       bidirectional=True, pad_index=vocab.pad_index, pooling=pooling)).eval()
    pipeline = TextPipeline(vocab, 12)
    export_onnx(model, tmp_path / "m.onnx", seq_len=12)
    sess = session(tmp_path / "m.onnx")
    report = validate_export(model, sess, pipeline, batch_sizes=(1, 7, 64))
    assert not report.failures
    for batch, seq in ((1, 1), (3, 5), (64, 24)):
        ids = torch.randint(0, len(vocab), (batch, seq))
        ids[0, :] = vocab.pad_index  # an all-padding row must not divide by zero
        with torch.no_grad():
            want = model(ids).numpy()
        got = sess.run(None, {"input_ids": ids.numpy()})[0]
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
