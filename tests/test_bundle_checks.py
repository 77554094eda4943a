"""Bundles that bundle.json cannot vouch for are refused at load with one line naming the bundle
(#17, part B): unlisted external data, a bundle.json that is not a bounded regular file, max_tokens
out of range, labels, vocabulary, input and output that do not fit the ONNX graph, class names with
control characters. Every case is a real bundle directory (copied from the tiny one and altered)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import onnx
import pytest

from lstmtc.infer.bundle import MANIFEST, MAX_MANIFEST_BYTES, external_files, load_bundle
from lstmtc.infer.classifier import Classifier
from lstmtc.infer.errors import BundleError, CheckpointError
from lstmtc.infer.files import sha256_file


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _manifest(b: Path) -> dict:
    return json.loads((b / MANIFEST).read_text())


def _rewrite(b: Path, **changes) -> None:
    """Change bundle.json's entries and re-hash every listed file, so only what is tested is wrong."""
    m = _manifest(b)
    m.update(changes)
    m["files"] = {name: sha256_file(b / name) for name in m["files"]}
    (b / MANIFEST).write_text(json.dumps(m))


def _one_line(e: pytest.ExceptionInfo, bundle: Path) -> str:
    message = str(e.value)
    assert "\n" not in message and str(bundle) in message, message
    return message


@pytest.fixture
def bundle(tiny_bundle, tmp_path) -> Path:
    return _copy(tiny_bundle, tmp_path / "b")


@pytest.fixture(scope="module")
def fp16_bundle(tiny_bundle, tmp_path_factory) -> Path:
    from lstmtc.export.onnx_export import convert_fp16

    b = _copy(tiny_bundle, tmp_path_factory.mktemp("fp16") / "b")
    convert_fp16(b / "model.onnx", b / "model.fp16.onnx")
    m = _manifest(b)
    m["files"]["model.fp16.onnx"] = ""
    m["models"]["fp16"] = "model.fp16.onnx"
    (b / MANIFEST).write_text(json.dumps(m))
    _rewrite(b)
    return b


PRECISIONS = ["fp32", "int8", "fp16"]


def test_the_intact_bundles_load_at_every_precision(tiny_bundle, fp16_bundle):
    for p in PRECISIONS:
        assert Classifier.load(fp16_bundle, p).predict(["stocks rose"])[0]


# --------------------------------------------------------------------------- external data


def _externalize(b: Path, location: str = "weights.bin") -> None:
    model = onnx.load(str(b / "model.onnx"))
    onnx.save_model(model, str(b / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)


def test_unlisted_external_data_is_refused(bundle):
    _externalize(bundle)
    _rewrite(bundle)  # model.onnx re-hashed, weights.bin not listed
    assert external_files((bundle / "model.onnx").read_bytes()) == {"weights.bin"}
    with pytest.raises(BundleError) as e:
        load_bundle(bundle)
    assert "weights.bin" in _one_line(e, bundle)


def test_listed_external_data_is_hash_checked(bundle):
    _externalize(bundle)
    m = _manifest(bundle)
    m["files"]["weights.bin"] = ""
    (bundle / MANIFEST).write_text(json.dumps(m))
    _rewrite(bundle)
    Classifier.load(bundle).predict(["stocks rose"])  # listed and intact: loads
    data = bytearray((bundle / "weights.bin").read_bytes())
    data[100:108] = b"\x7f" * 8  # scrambled weights: the predictions would change silently
    (bundle / "weights.bin").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="SHA-256 does not match"):
        load_bundle(bundle)


def test_external_files_finds_tensors_in_node_attributes(tmp_path):
    from onnx import TensorProto, helper

    t = helper.make_tensor("c", TensorProto.FLOAT, [1], [1.0])
    t.data_location = TensorProto.EXTERNAL
    t.ClearField("float_data")
    entry = t.external_data.add()
    entry.key, entry.value = "location", "inside.bin"
    node = helper.make_node("Constant", [], ["y"], value=t)
    graph = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    assert external_files(helper.make_model(graph).SerializeToString()) == {"inside.bin"}


# --------------------------------------------------------------------------- bundle.json itself


def _timed_load(b: Path):
    start = time.monotonic()
    with pytest.raises(BundleError) as e:
        load_bundle(b)
    assert time.monotonic() - start < 5
    return e


def test_manifest_symlinked_to_dev_zero_is_refused_unread(bundle):
    (bundle / MANIFEST).unlink()
    os.symlink("/dev/zero", bundle / MANIFEST)
    assert "not a regular file" in _one_line(_timed_load(bundle), bundle)


def test_manifest_fifo_is_refused_without_blocking(bundle):
    (bundle / MANIFEST).unlink()
    os.mkfifo(bundle / MANIFEST)
    assert "not a regular file" in _one_line(_timed_load(bundle), bundle)


def test_oversized_manifest_is_refused_unread(bundle):
    with open(bundle / MANIFEST, "r+b") as f:
        f.truncate(MAX_MANIFEST_BYTES + 1)  # sparse: no disk used
    assert "more than a bundle manifest holds" in _one_line(_timed_load(bundle), bundle)


def test_manifest_symlink_to_a_regular_file_is_followed(bundle, tmp_path):
    real = tmp_path / "elsewhere.json"
    shutil.move(bundle / MANIFEST, real)
    os.symlink(real, bundle / MANIFEST)
    load_bundle(bundle)


@pytest.mark.parametrize("value", [0, -1, 10**9, 1e9, 1.5, "80", True, None])
def test_max_tokens_out_of_range_is_refused(bundle, value):
    _rewrite(bundle, max_tokens=value)
    with pytest.raises(BundleError) as e:
        load_bundle(bundle)
    assert "max_tokens" in _one_line(e, bundle)


# --------------------------------------------------------------------------- against the graph


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("precision", PRECISIONS)
def test_labels_not_matching_the_outputs_are_refused(fp16_bundle, tmp_path, n, precision):
    b = _copy(fp16_bundle, tmp_path / "b")
    names = [f"class{i}" for i in range(n)]
    _rewrite(b, labels=names, label_values=[str(i) for i in range(n)])
    with pytest.raises(BundleError) as e:
        Classifier.load(b, precision)
    assert "4 class scores" in _one_line(e, b) and f"names {n} classes" in str(e.value)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_vocabulary_larger_than_the_embedding_is_refused(fp16_bundle, tmp_path, precision):
    b = _copy(fp16_bundle, tmp_path / "b")
    vocab = json.loads((b / "vocab.json").read_text())
    vocab["tokens"] += [f"extra{i}" for i in range(5)]
    (b / "vocab.json").write_text(json.dumps(vocab))
    _rewrite(b)
    with pytest.raises(BundleError) as e:
        Classifier.load(b, precision)
    assert "largest id" in _one_line(e, b)


def test_vocabulary_smaller_than_the_embedding_still_loads(bundle):
    vocab = json.loads((bundle / "vocab.json").read_text())
    vocab["tokens"] = vocab["tokens"][:-3]
    (bundle / "vocab.json").write_text(json.dumps(vocab))
    _rewrite(bundle)
    Classifier.load(bundle).predict(["stocks rose"])


def _rename(b: Path, old: str, new: str) -> None:
    model = onnx.load(str(b / "model.onnx"))
    for v in list(model.graph.input) + list(model.graph.output):
        if v.name == old:
            v.name = new
    for node in model.graph.node:
        node.input[:] = [new if x == old else x for x in node.input]
        node.output[:] = [new if x == old else x for x in node.output]
    onnx.save(model, str(b / "model.onnx"))
    _rewrite(b)


@pytest.mark.parametrize("old,new,what", [("input_ids", "tokens", "input"), ("logits", "scores", "output")])
def test_input_and_output_names_are_checked(bundle, old, new, what):
    _rename(bundle, old, new)
    with pytest.raises(BundleError) as e:
        Classifier.load(bundle)
    assert f"the model's {what}" in _one_line(e, bundle) and new in str(e.value)


def test_input_dtype_is_checked(bundle):
    from onnx import TensorProto, helper

    model = onnx.load(str(bundle / "model.onnx"))
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.INT32  # input_ids as int32, cast inside
    for node in model.graph.node:
        node.input[:] = ["input_ids_cast" if x == "input_ids" else x for x in node.input]
    model.graph.node.insert(0, helper.make_node("Cast", ["input_ids"], ["input_ids_cast"], to=TensorProto.INT64))
    onnx.save(model, str(bundle / "model.onnx"))
    _rewrite(bundle)
    with pytest.raises(BundleError) as e:
        Classifier.load(bundle)
    assert "tensor(int32)" in _one_line(e, bundle)


# --------------------------------------------------------------------------- class names


def test_control_characters_in_bundle_class_names_are_refused(bundle):
    m = _manifest(bundle)
    _rewrite(bundle, labels=["World\nnews"] + m["labels"][1:])
    with pytest.raises(BundleError) as e:
        load_bundle(bundle)
    assert "World\\nnews" in _one_line(e, bundle)


def test_control_characters_in_an_old_checkpoint_are_refused_at_export(tiny_run, tmp_path):
    import torch

    from lstmtc.export import export_bundle

    payload = torch.load(tiny_run / "best.pt", map_location="cpu", weights_only=False)
    payload["labels"] = ["World\tnews"] + list(payload["labels"][1:])
    torch.save(payload, tmp_path / "old.pt")
    with pytest.raises(CheckpointError) as e:
        export_bundle(tmp_path / "old.pt", tmp_path / "out")
    assert "World\\tnews" in str(e.value) and "control character" in str(e.value)
    assert not (tmp_path / "out").exists()
