"""The model shipped in artifacts/ag_news (installed as lstmtc.default_model)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import NEEDS_SHARED, SHARED

from lstmtc.infer import Classifier
from lstmtc.infer.apps.classify_cli import main
from lstmtc.infer.bundle import load_bundle
from lstmtc.infer.data import read_labelled
from lstmtc.infer.default_model import default_bundle_path
from lstmtc.infer.files import sha256_file

ROOT = Path(__file__).resolve().parents[1]
ARTIFACT = ROOT / "artifacts" / "ag_news"


def test_default_bundle_is_the_committed_artifact_and_small_enough():
    path = default_bundle_path()
    assert path.resolve() == ARTIFACT.resolve()
    bundle = load_bundle(path)  # verifies every SHA-256
    size = sum((path / name).stat().st_size for name in [*bundle.manifest["files"], "bundle.json"])
    assert size <= 10 * 1000 * 1000, f"bundle is {size} bytes, the limit is 10 MB"
    assert bundle.labelset.names == ("World", "Sports", "Business", "Sci/Tech")


def test_model_card_lists_the_files_sha256():
    card = (ARTIFACT / "README.md").read_text()
    names = load_bundle(ARTIFACT).manifest["files"]
    assert "vocab.json" in names and any(n.endswith(".onnx") for n in names)
    for name in names:
        assert sha256_file(ARTIFACT / name) in card, f"model card does not list {name}'s sha256"


def test_classify_without_model_uses_the_default_and_help_says_so():
    runner = CliRunner()
    help_text = runner.invoke(main, ["--help"]).output
    assert "Default: the AG News model shipped" in help_text
    news = (ROOT / "examples" / "news.txt").read_text().splitlines()
    assert len(news) >= 12
    r = runner.invoke(main, [str(ROOT / "examples" / "news.txt")])
    assert r.exit_code == 0, r.output
    labels = r.output.splitlines()
    assert len(labels) == len(news)
    assert set(labels) <= {"World", "Sports", "Business", "Sci/Tech"}
    assert labels == [ls[0] for ls in Classifier.load(None).predict(news)[0]]


@NEEDS_SHARED
def test_default_model_reaches_the_model_card_accuracy():
    card = json.loads((ARTIFACT / "card.json").read_text())
    clf = Classifier.load(None)
    data = read_labelled(SHARED / "test.csv", clf.bundle.labelset)
    assert len(data) == card["n_test"] == 7600
    pred = clf.predict_proba(data.texts).argmax(1)
    acc = float((pred == data.labels).mean())
    assert abs(acc - card["test_accuracy"]) < 1e-4, (acc, card["test_accuracy"])


def test_default_model_is_length_aware_and_answers_a_line_the_same_anywhere():
    """Format 2 and deterministic weights (not int8, whose activations are quantized per batch): a
    line gets the same probabilities alone, in a batch, sorted or not."""
    import numpy as np

    from lstmtc.infer.scoring.scorer import Scorer

    clf = Classifier.load(None)
    assert clf.length_aware and clf.bundle.manifest["version"] == 2
    assert clf.bundle.default_precision != "int8"
    news = [t for t in (ROOT / "examples" / "news.txt").read_text().splitlines() if t.strip()] * 20
    together = Scorer(clf, 7).probabilities(news)
    np.testing.assert_array_equal(together, Scorer(clf, 7, sort=False).probabilities(news))
    alone = np.concatenate([Scorer(clf, 1).probabilities([t]) for t in news[:12]])
    np.testing.assert_array_equal(together[:12], alone)


@NEEDS_SHARED
def test_default_model_answers_the_test_set_to_the_bit_in_any_batch():
    """The same on 2,000 real documents (the linear model's term sums over the steps once differed in
    the last bit with the padded width: lstmtc.export.exact_sums)."""
    import numpy as np

    from lstmtc.infer.scoring.scorer import Scorer

    clf = Classifier.load(None)
    texts = read_labelled(SHARED / "test.csv", clf.bundle.labelset).texts[:2000]
    sorted_64 = Scorer(clf, 64).probabilities(texts)
    np.testing.assert_array_equal(Scorer(clf, 64, sort=False).probabilities(texts), sorted_64)
    np.testing.assert_array_equal(Scorer(clf, 7).probabilities(texts), sorted_64)
    alone = np.concatenate([Scorer(clf, 1).probabilities([t]) for t in texts[:300]])
    np.testing.assert_array_equal(alone, sorted_64[:300])
