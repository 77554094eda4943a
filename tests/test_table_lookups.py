"""The export's graph pass that reads the tables of one index tensor with a single Gather."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from lstmtc.export.table_lookups import fuse_table_lookups


def _graph(rng):
    """ids -> three tables (2-D, 2-D, 1-D) of 50 rows; pairs -> one 2-D table of 50 rows and one of
    70 (another row count: never fused with it); a constant table read by a computed index."""
    tables = {"emb": rng.normal(size=(50, 6)), "bag": rng.normal(size=(50, 3)), "idf": rng.normal(size=50),
              "pair": rng.normal(size=(50, 4)), "other": rng.normal(size=(70, 2))}
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in tables.items()]
    reads = [("emb", "ids"), ("bag", "ids"), ("idf", "ids"), ("pair", "pairs"), ("other", "pairs")]
    nodes = [helper.make_node("Gather", [t, i], [f"{t}_out"], name=f"g_{t}") for t, i in reads]
    outputs = [helper.make_tensor_value_info(f"{t}_out", TensorProto.FLOAT, [None, None, *tables[t].shape[1:]])
               for t, _ in reads]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, [None, None]) for n in ("ids", "pairs")]
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model, feed):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def test_tables_read_with_the_same_indices_become_one_lookup_with_the_same_outputs():
    rng = np.random.default_rng(0)
    model = _graph(rng)
    feed = {"ids": rng.integers(0, 50, size=(3, 7)), "pairs": rng.integers(0, 50, size=(3, 6))}
    before = _run(model, feed)
    assert fuse_table_lookups(model) == 2  # emb + bag + idf -> 1; pair and other stay apart
    onnx.checker.check_model(model, full_check=True)
    gathers = [n for n in model.graph.node if n.op_type == "Gather"]
    assert len(gathers) == 3
    names = {i.name for i in model.graph.initializer}
    assert not names & {"emb", "bag", "idf"} and {"pair", "other"} <= names  # the old tables are gone
    after = _run(model, feed)
    for a, b in zip(before, after):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)  # the same numbers copied: bit-identical


def test_a_graph_without_shared_lookups_is_left_as_it_was():
    rng = np.random.default_rng(1)
    model = _graph(rng)
    # ids -> emb alone; pairs -> pair (50 rows) and other (70 rows): nothing to share
    keep = [n for n in model.graph.node if n.input[0] in ("emb", "pair", "other")]
    del model.graph.node[:]
    model.graph.node.extend(keep)
    del model.graph.output[1:3]  # bag_out, idf_out
    before = model.SerializeToString()
    assert fuse_table_lookups(model) == 0
    assert model.SerializeToString() == before
