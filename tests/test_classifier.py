"""The Python API: lstmtc.infer.Classifier and the bundle checks behind Classifier.load."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from lstmtc.infer import BundleError, Classifier
from lstmtc.infer.bundle import load_bundle
from lstmtc.infer.files import sha256_file

LABELS = ["World", "Sports", "Business", "Sci/Tech"]
TEXTS = [
    "Stocks and shares rose after the merger",
    "The striker scored a goal; the coach smiled",
    "New chip and laptop software from researchers",
    "Troops and rebels agree to a ceasefire",
    "",
    "words the model never saw: zyzzyva quux",
]


def _copy(tiny_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_bundle, tmp_path / "bundle"))


def _edit_manifest(bundle: Path, **changes) -> None:
    path = bundle / "bundle.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _test_texts(synth_dir: Path) -> tuple[list[str], list[int]]:
    with open(synth_dir / "test.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return [r[1] + " " + r[2] for r in rows], [int(r[0]) - 1 for r in rows]


def test_load_and_labels(tiny_bundle):
    clf = Classifier.load(tiny_bundle)
    assert clf.labels == LABELS
    assert clf.model_path.name == "model.onnx"  # the bundle's default precision is fp32
    assert Classifier.load(str(tiny_bundle)).labels == LABELS  # str and Path both work


def test_predict_shapes_default_k(tiny_classifier):
    labels, probs = tiny_classifier.predict(TEXTS)
    assert len(labels) == len(probs) == len(TEXTS)
    for names, p in zip(labels, probs):
        assert len(names) == 1 and names[0] in LABELS
        assert isinstance(p, np.ndarray) and p.shape == (1,)
    assert [names[0] for names in labels[:4]] == ["Business", "Sports", "Sci/Tech", "World"]


def test_predict_proba(tiny_classifier):
    proba = tiny_classifier.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 4) and proba.dtype == np.float32
    assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    labels, probs = tiny_classifier.predict(TEXTS)
    assert [n[0] for n in labels] == [LABELS[i] for i in proba.argmax(axis=1)]
    assert np.allclose([p[0] for p in probs], proba.max(axis=1))


def test_softmax_of_logits(tiny_classifier):
    logits = tiny_classifier.logits(TEXTS).astype(np.float64)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(tiny_classifier.predict_proba(TEXTS), expected, atol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 10])
def test_predict_top_k(tiny_classifier, k):
    labels, probs = tiny_classifier.predict(TEXTS, k=k)
    proba = tiny_classifier.predict_proba(TEXTS)
    for names, p, row in zip(labels, probs, proba):
        assert len(names) == len(p) == min(k, 4)  # capped at the number of classes
        assert len(set(names)) == len(names)
        assert list(p) == sorted(p, reverse=True)
        assert np.allclose(p, np.sort(row)[::-1][: len(p)])
        assert [row[LABELS.index(n)] for n in names] == list(p)


def test_predict_k_must_be_positive(tiny_classifier):
    with pytest.raises(ValueError, match="k must be at least 1"):
        tiny_classifier.predict(["x"], k=0)


def test_predict_threshold(tiny_classifier):
    proba = tiny_classifier.predict_proba(TEXTS)
    labels, probs = tiny_classifier.predict(TEXTS, k=4, threshold=0.2)
    for names, p, row in zip(labels, probs, proba):
        assert len(names) == int((row >= 0.2).sum())
        assert all(q >= 0.2 for q in p)
    labels, probs = tiny_classifier.predict(TEXTS, k=4, threshold=1.0)
    assert all(n == [] for n in labels) and all(p.shape == (0,) for p in probs)


def test_predict_empty_list(tiny_classifier):
    assert tiny_classifier.predict([]) == ([], [])
    assert tiny_classifier.predict_proba([]).shape == (0, 4)


def test_batch_predict_equals_one_at_a_time(synth_dir, tiny_classifier):
    texts, _ = _test_texts(synth_dir)
    texts = texts[:60] + TEXTS
    batch = tiny_classifier.predict_proba(texts)
    single = np.concatenate([tiny_classifier.predict_proba([t]) for t in texts])
    assert np.allclose(batch, single, atol=1e-6)
    labels_b, probs_b = tiny_classifier.predict(texts, k=2)
    for t, names, p in zip(texts, labels_b, probs_b):
        names_1, probs_1 = tiny_classifier.predict([t], k=2)
        assert names_1[0] == names
        assert np.allclose(probs_1[0], p, atol=1e-6)


def test_learns_the_synthetic_topics(synth_dir, tiny_classifier):
    texts, gold = _test_texts(synth_dir)
    accuracy = float((tiny_classifier.predict_proba(texts).argmax(axis=1) == np.array(gold)).mean())
    assert accuracy >= 0.85


def test_threads_do_not_change_results(tiny_bundle, tiny_classifier):
    one = Classifier.load(tiny_bundle, threads=1)
    assert np.allclose(one.predict_proba(TEXTS), tiny_classifier.predict_proba(TEXTS), atol=1e-6)
    many = TEXTS * 50  # more than UNSPLIT texts: one onnxruntime call per thread
    four = Classifier.load(tiny_bundle, threads=4)
    np.testing.assert_array_equal(four.logits(many), one.logits(many))  # fixed-width: rows do not mix
    np.testing.assert_array_equal(four.logits(many, batch_size=7), one.logits(many, batch_size=7))
    assert one.threads == 1 and four.threads == 4 and tiny_classifier.threads >= 1


def test_int8_precision_loads(synth_dir, tiny_bundle, tiny_classifier):
    int8 = Classifier.load(tiny_bundle, "int8")
    assert int8.model_path.name == "model.int8.onnx"
    assert int8.labels == LABELS
    texts, _ = _test_texts(synth_dir)
    p8 = int8.predict_proba(texts)
    p32 = tiny_classifier.predict_proba(texts)
    assert p8.shape == p32.shape and np.allclose(p8.sum(axis=1), 1.0, atol=1e-5)
    assert float((p8.argmax(axis=1) == p32.argmax(axis=1)).mean()) >= 0.9
    assert np.abs(p8 - p32).max() < 0.25


def test_precision_not_in_bundle(tiny_bundle):
    with pytest.raises(BundleError, match=r"no fp16 model in this bundle \(it has: fp32, int8\)"):
        Classifier.load(tiny_bundle, "fp16")


def test_default_precision_from_manifest(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    _edit_manifest(b, default_precision="int8")
    assert Classifier.load(b).model_path.name == "model.int8.onnx"


@pytest.mark.parametrize("victim", ["model.onnx", "vocab.json", "model.int8.onnx"])
def test_hash_mismatch_is_refused(tiny_bundle, tmp_path, victim):
    b = _copy(tiny_bundle, tmp_path)
    data = bytearray((b / victim).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (b / victim).write_bytes(bytes(data))
    with pytest.raises(BundleError, match=f"{victim}: SHA-256 does not match bundle.json"):
        Classifier.load(b)


def test_files_swapped_between_bundles_are_refused(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    shutil.copy(b / "model.int8.onnx", b / "model.onnx")
    with pytest.raises(BundleError, match="SHA-256 does not match"):
        Classifier.load(b)


def test_verify_false_skips_hashes(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    (b / "vocab.json").write_bytes((b / "vocab.json").read_bytes() + b"\n")
    assert load_bundle(b, verify=False).labelset.names == tuple(LABELS)


@pytest.mark.parametrize("version", [3, 0, "1", None, True])
def test_wrong_version_is_refused(tiny_bundle, tmp_path, version):
    b = _copy(tiny_bundle, tmp_path)
    _edit_manifest(b, version=version)
    with pytest.raises(BundleError, match="bundle format version .* is not supported"):
        Classifier.load(b)


def test_wrong_format_is_refused(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    _edit_manifest(b, format="something-else")
    with pytest.raises(BundleError, match="not an lstmtc bundle manifest"):
        Classifier.load(b)


def test_manifest_not_json(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    (b / "bundle.json").write_text("{ nope", encoding="utf-8")
    with pytest.raises(BundleError, match="not valid JSON"):
        Classifier.load(b)


@pytest.mark.parametrize("missing", ["model.onnx", "vocab.json", "model.int8.onnx"])
def test_missing_file_is_refused(tiny_bundle, tmp_path, missing):
    b = _copy(tiny_bundle, tmp_path)
    (b / missing).unlink()
    with pytest.raises(BundleError, match=f"{missing} is missing from the bundle"):
        Classifier.load(b)


def test_missing_manifest_is_refused(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    (b / "bundle.json").unlink()
    with pytest.raises(BundleError, match="not a model bundle"):
        Classifier.load(b)


def test_missing_directory_and_a_file_instead(tiny_bundle, tmp_path):
    with pytest.raises(BundleError, match="no such model bundle"):
        Classifier.load(tmp_path / "nope")
    with pytest.raises(BundleError, match="a model bundle is a directory"):
        Classifier.load(tiny_bundle / "model.onnx")


@pytest.mark.parametrize("changes, message", [
    ({"labels": "World"}, "'labels' is missing"),
    ({"labels": [1, 2, 3, 4]}, "'labels' must be a list of class names"),
    ({"label_values": "1234"}, "'label_values' must be a list"),
    ({"labels": ["A"], "label_values": ["1"]}, "at least two classes"),
    ({"max_tokens": "20"}, "'max_tokens' is missing or not of type int"),
    ({"padding_side": "middle"}, "padding_side 'middle'"),
    ({"tokenizer": "spacy"}, "unknown tokenizer"),
    ({"models": {"fp32": "other.onnx"}}, "is not a listed file"),
])
def test_malformed_manifest_is_refused(tiny_bundle, tmp_path, changes, message):
    b = _copy(tiny_bundle, tmp_path)
    _edit_manifest(b, **changes)
    with pytest.raises(BundleError, match=message):
        Classifier.load(b)


def test_file_entries_must_stay_inside_the_bundle(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    manifest = json.loads((b / "bundle.json").read_text(encoding="utf-8"))
    outside = tmp_path / "outside.onnx"
    shutil.copy(b / "model.onnx", outside)
    manifest["files"]["../outside.onnx"] = sha256_file(outside)
    (b / "bundle.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="not a plain file name"):
        Classifier.load(b)


def test_model_onnxruntime_cannot_load_is_a_bundle_error(tiny_bundle, tmp_path):
    # hashes rewritten to match garbage: the hash check passes, onnxruntime refuses the model
    b = _copy(tiny_bundle, tmp_path)
    (b / "model.onnx").write_bytes(b"this is not an onnx model")
    manifest = json.loads((b / "bundle.json").read_text(encoding="utf-8"))
    manifest["files"]["model.onnx"] = sha256_file(b / "model.onnx")
    (b / "bundle.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="onnxruntime cannot load this model") as e:
        Classifier.load(b)
    assert "\n" not in str(e.value)


def test_default_bundle_missing(tmp_path, monkeypatch):
    import lstmtc.default_model as pkg

    monkeypatch.setattr(pkg, "__file__", str(tmp_path / "__init__.py"))
    with pytest.raises(BundleError, match="bundled default model is missing"):
        Classifier.load()


def test_default_bundle_used_when_present(tiny_bundle, tiny_classifier, monkeypatch):
    import lstmtc.default_model as pkg

    monkeypatch.setattr(pkg, "__file__", str(tiny_bundle / "__init__.py"))
    clf = Classifier.load()
    assert clf.bundle.path == tiny_bundle
    assert np.array_equal(clf.predict_proba(TEXTS), tiny_classifier.predict_proba(TEXTS))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_scores_on_threads_of_its_own(tiny_bundle):
    """A classifier whose pool started before a fork (multiprocessing's fork start method, a
    pre-forking server) must not wait forever in the child for threads that did not survive."""
    import multiprocessing

    clf = Classifier.load(tiny_bundle, threads=2)
    many = TEXTS * 50  # more than UNSPLIT texts: two chunks, so the pool starts
    want = clf.logits(many)
    assert clf._pool is not None
    _FORKED["clf"] = clf  # the child gets this very object, pool and all, by fork
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            got = pool.apply_async(_score_in_child, (many,)).get(timeout=60)
    finally:
        _FORKED.clear()
    np.testing.assert_array_equal(got, want)


_FORKED: dict = {}


def _score_in_child(texts):
    return _FORKED["clf"].logits(texts)
