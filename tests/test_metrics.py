"""lstmtc.infer.scoring.metrics (numpy only: the one metrics stack, torch- and scikit-learn-free) against
scikit-learn on random data."""

from __future__ import annotations

import numpy as np
import pytest

from lstmtc.infer.scoring.metrics import classification_report, confusion_matrix, report

sk = pytest.importorskip("sklearn.metrics")


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 8))
    n = int(rng.integers(1, 400))
    gold = rng.integers(0, n_classes, n)
    # mostly right, like a classifier; sometimes a class is never predicted or never present
    pred = np.where(rng.random(n) < rng.uniform(0.2, 0.95), gold, rng.integers(0, n_classes, n))
    if seed % 3 == 0:
        pred[pred == n_classes - 1] = 0
    if seed % 4 == 0:
        gold[gold == 1] = 0
    return gold, pred, n_classes


@pytest.mark.parametrize("seed", range(40))
def test_report_matches_scikit_learn(seed):
    gold, pred, n_classes = _random_case(seed)
    names = [f"class{i}" for i in range(n_classes)]
    labels = list(range(n_classes))
    r = report(gold.tolist(), pred.tolist(), names)

    assert r["n"] == len(gold)
    assert r["labels"] == names
    assert r["accuracy"] == pytest.approx(sk.accuracy_score(gold, pred), abs=1e-12)
    assert r["confusion_matrix"] == sk.confusion_matrix(gold, pred, labels=labels).tolist()
    expected = sk.classification_report(gold, pred, labels=labels, target_names=names, output_dict=True,
                                        zero_division=0)
    assert list(r["per_class"]) == names
    for name in names:
        for key in ("precision", "recall", "f1-score"):
            assert r["per_class"][name][key] == pytest.approx(expected[name][key], abs=1e-12), (name, key)
        assert r["per_class"][name]["support"] == expected[name]["support"]
    assert r["macro_f1"] == pytest.approx(sk.f1_score(gold, pred, labels=labels, average="macro", zero_division=0),
                                          abs=1e-12)


@pytest.mark.parametrize("seed", range(40))
def test_classification_report_has_scikit_learns_layout_and_figures(seed):
    """lstmtc-evaluate's metrics.json: scikit-learn's classification_report(output_dict=True), from numpy."""
    gold, pred, n_classes = _random_case(200 + seed)
    names = [f"class{i}" for i in range(n_classes)]
    got = classification_report(report(gold.tolist(), pred.tolist(), names))
    expected = sk.classification_report(gold, pred, labels=list(range(n_classes)), target_names=names,
                                        output_dict=True, zero_division=0)
    assert list(got) == list(expected)
    assert got["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-12)
    for row in names + ["macro avg", "weighted avg"]:
        assert list(got[row]) == list(expected[row])
        for key, value in expected[row].items():
            assert got[row][key] == pytest.approx(value, abs=1e-12), (row, key)
            assert type(got[row][key]) is type(value), (row, key)


@pytest.mark.parametrize("seed", range(10))
def test_confusion_matrix_matches_scikit_learn(seed):
    gold, pred, n_classes = _random_case(100 + seed)
    m = confusion_matrix(gold, pred, n_classes)
    assert m.dtype == np.int64 and m.shape == (n_classes, n_classes)
    assert np.array_equal(m, sk.confusion_matrix(gold, pred, labels=list(range(n_classes))))
    assert m.sum() == len(gold)


def test_perfect_and_all_wrong():
    r = report([0, 1, 2, 1], [0, 1, 2, 1], ["a", "b", "c"])
    assert r["accuracy"] == 1.0 and r["macro_f1"] == 1.0
    assert r["confusion_matrix"] == [[1, 0, 0], [0, 2, 0], [0, 0, 1]]
    r = report([0, 0, 1], [1, 1, 0], ["a", "b"])
    assert r["accuracy"] == 0.0
    assert r["per_class"]["a"] == {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 2}


def test_empty_input():
    r = report([], [], ["a", "b"])
    assert r["n"] == 0 and r["accuracy"] == 0.0
    assert r["confusion_matrix"] == [[0, 0], [0, 0]]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix([0, 1, 1], [0], 2)
    with pytest.raises(ValueError, match="gold holds a class index outside 0..1"):
        confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="pred holds a class index outside 0..1"):
        confusion_matrix([0, 1], [0, -1], 2)
