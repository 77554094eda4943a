"""The export's graph pass that sums a length-aware model's steps in float64, so a document's logits
keep their bits at any padded width, batch and neighbours."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from lstmtc.export.exact_sums import exact_sums


def _graph():
    """x (float, batch x steps x 3) summed over axis 1 and over axis -1; n (int64) over axis 1."""
    inits = [numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
             numpy_helper.from_array(np.array([-1], dtype=np.int64), "last")]
    nodes = [helper.make_node("ReduceSum", ["x", "axis1"], ["steps"], keepdims=0, name="steps"),
             helper.make_node("ReduceSum", ["x", "last"], ["features"], keepdims=0, name="features"),
             helper.make_node("ReduceSum", ["n", "axis1"], ["counts"], keepdims=0, name="counts"),
             helper.make_node("Mul", ["steps", "steps"], ["squared"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, 3]),
              helper.make_tensor_value_info("n", TensorProto.INT64, [None, None])]
    outputs = [helper.make_tensor_value_info(o, t, shape) for o, t, shape in
               [("squared", TensorProto.FLOAT, [None, 3]), ("features", TensorProto.FLOAT, [None, None]),
                ("counts", TensorProto.INT64, [None])]]
    return helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, inits),
                             opset_imports=[helper.make_opsetid("", 17)])


def _run(model, feed):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)


def test_only_float_sums_over_the_steps_are_taken_in_float64():
    rng = np.random.default_rng(0)
    model = _graph()
    feed = {"x": rng.normal(size=(4, 9, 3)).astype(np.float32), "n": rng.integers(0, 5, size=(4, 9))}
    before = _run(model, feed)
    assert exact_sums(model) == 1
    onnx.checker.check_model(model, full_check=True)
    steps = next(n for n in model.graph.node if n.name == "steps")
    casts = {n.name: n for n in model.graph.node if n.op_type == "Cast"}
    assert set(casts) == {"steps_to_f64", "steps_to_f32"}
    assert casts["steps_to_f64"].output[0] == steps.input[0] and casts["steps_to_f32"].input[0] == steps.output[0]
    after = _run(model, feed)
    np.testing.assert_allclose(after[0], before[0], rtol=1e-6)
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_array_equal(after[2], before[2])
    # The float64 sum rounded once: what numpy's float64 sum of the same numbers rounds to.
    np.testing.assert_array_equal(after[0], np.square(feed["x"].astype(np.float64).sum(1).astype(np.float32)))


def _bag_and_linear_model():
    """A length-aware model with the n-gram bag and a linear model of random weights (5-wide term
    sums: the shape whose float32 sums onnxruntime adds in a width-dependent order)."""
    from lstmtc.train.model import LSTMClassifier, ModelConfig

    torch.manual_seed(0)
    model = LSTMClassifier(ModelConfig(vocab_size=300, num_classes=4, embed_dim=6, hidden_sizes=(5,), pad_index=1,
                                       pooling="max", lengths=True, ngram_buckets=512, ngram_dim=8,
                                       linear_buckets=256)).eval()
    with torch.no_grad():
        for name in ("lin_uni", "lin_bi", "lin_bias"):
            getattr(model, name).normal_()
        model.lin_uni_idf.uniform_(1, 8)
        model.lin_bi_idf.uniform_(1, 8)
        model.lin_mix.fill_(0.3)
    return model


@pytest.mark.parametrize("width", [None, 89])
def test_an_exported_documents_logits_keep_their_bits_in_any_batch(tmp_path, width):
    from lstmtc.export.onnx_export import export_onnx

    export_onnx(_bag_and_linear_model(), tmp_path / "m.onnx", seq_len=12)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    docs = [list(rng.integers(2, 300, size=int(rng.integers(1, 60)))) for _ in range(300)]

    def run(chunk, w):
        ids = np.full((len(chunk), w), 1, dtype=np.int64)
        for i, d in enumerate(chunk):
            ids[i, :len(d)] = d
        return sess.run(None, {"input_ids": ids, "lengths": np.array([len(d) for d in chunk])})[0]

    alone = np.concatenate([run([d], len(d)) for d in docs])
    for size in (7, 64, 300):
        batched = np.concatenate([run(docs[i:i + size], width or max(map(len, docs[i:i + size])))
                                  for i in range(0, len(docs), size)])
        np.testing.assert_array_equal(batched, alone)
