"""``lstmtc-evaluate``: a checkpoint and its bundle give the same report."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from click.testing import CliRunner

from lstmtc import __version__
from lstmtc.train.evaluate import evaluate_model, predict_file
from lstmtc.train.evaluate_cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
AG = ["World", "Sports", "Business", "Sci/Tech"]


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def check_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100
    assert data.rstrip(b"\x00")[-8:-4] == b"IEND"


def check_metrics(m: dict, n: int):
    assert m["n"] == n
    assert 0.0 <= m["accuracy"] <= 1.0
    cm = np.asarray(m["confusion_matrix"])
    assert cm.shape == (4, 4) and cm.sum() == n
    assert m["accuracy"] == pytest.approx(np.trace(cm) / n)
    rep = m["classification_report"]
    for name in AG:
        assert {"precision", "recall", "f1-score", "support"} <= set(rep[name])
    assert [int(rep[name]["support"]) for name in AG] == cm.sum(axis=1).tolist()
    assert m["labels"] == AG


def test_checkpoint_and_bundle_same_predictions(tiny_run, tiny_bundle, synth_dir):
    test = synth_dir / "test.csv"
    g1, p1, l1, k1 = predict_file(tiny_run / "best.pt", test)
    g2, p2, l2, k2 = predict_file(tiny_bundle, test)
    assert (k1, k2) == ("checkpoint", "bundle")
    assert l1 == l2 == AG
    assert np.array_equal(g1, g2)
    assert np.array_equal(p1, p2)
    res = evaluate_model(tiny_run, test)
    check_metrics(res, 200)
    assert res["accuracy"] > 0.8  # the tiny model learned the synthetic topics


def test_cli_checkpoint_and_bundle_same_accuracy(tiny_run, tiny_bundle, synth_dir, tmp_path):
    test = synth_dir / "test.csv"
    results = {}
    for kind, model in (("checkpoint", tiny_run / "best.pt"), ("bundle", tiny_bundle)):
        out = tmp_path / kind
        r = invoke([model, test, "--out", out])
        assert r.exit_code == 0, r.output
        assert "accuracy" in r.output and "N=200" in r.output
        m = json.loads((out / "metrics.json").read_text())
        check_metrics(m, 200)
        assert m["model_kind"] == kind
        check_png(out / "confusion_matrix.png")
        results[kind] = m
    assert results["checkpoint"]["accuracy"] == results["bundle"]["accuracy"]
    assert results["checkpoint"]["confusion_matrix"] == results["bundle"]["confusion_matrix"]


def test_cli_without_out_writes_nothing(tiny_run, synth_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke([tiny_run, synth_dir / "test.csv"])
    assert r.exit_code == 0, r.output
    assert "classification report" in r.output and "confusion matrix" in r.output
    assert list(tmp_path.iterdir()) == []


def test_cli_version_and_help():
    r = invoke(["--version"])
    assert r.exit_code == 0 and __version__ in r.output
    r = invoke(["--help"])
    assert r.exit_code == 0 and "MODEL" in r.output


def _error_line(r) -> str:
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output and isinstance(r.exception, SystemExit)
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, r.output
    return lines[0]


def test_cli_not_a_model(tmp_path, synth_dir):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01 nothing")
    assert str(junk) in _error_line(invoke([junk, synth_dir / "test.csv"]))


def test_cli_unknown_label_names_file_and_line(tiny_run, tmp_path):
    data = tmp_path / "odd.csv"
    data.write_text('"1","t","a b"\n"9","t","c d"\n')
    line = _error_line(invoke([tiny_run, data]))
    assert f"{data}:2" in line and "'9'" in line


def test_cli_unwritable_out(tiny_run, synth_dir, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert "a_file" in _error_line(invoke([tiny_run, synth_dir / "test.csv", "--out", blocker / "sub"]))
