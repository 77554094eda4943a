"""benchmarks/tokenizer.py runs end to end on a small file (no timing assertions)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
from conftest import make_rows, write_agnews_csv

# benchmarks/ is a package at the repo root, not installed: make it importable under plain `pytest` too.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
bench = importlib.import_module("benchmarks.tokenizer")


@pytest.fixture
def small_csv(tmp_path):
    rows = make_rows(30, seed=5)
    rows.append(("1", "It's \"quoted\" (really)!", "Yes: <br />a; b, c? Done."))
    return write_agnews_csv(tmp_path / "small.csv", rows)


def test_main_writes_json(small_csv, tmp_path, capsys):
    out = tmp_path / "deep" / "dir" / "tokenizer.json"  # the directory is created
    result = bench.main(["--data", str(small_csv), "--repeats", "2", "--json", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(result))
    assert data["texts"] == 31
    assert data["identical"] is True and data["mismatches"] == 0
    for key in ("lstmtc_texts_per_s", "torchtext_texts_per_s", "speedup"):
        assert isinstance(data[key], float) and data[key] > 0
    assert len(data["lstmtc_seconds"]) == len(data["torchtext_seconds"]) == 2
    assert data["tokens"] > 31 * 3
    printed = capsys.readouterr().out
    assert "texts/s" in printed and "identical" in printed


def test_limit(small_csv, tmp_path):
    out = tmp_path / "o.json"
    result = bench.main(["--data", str(small_csv), "--repeats", "1", "--limit", "5", "--json", str(out)])
    assert result["texts"] == 5


def test_reports_a_difference(small_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "reference_tokenizer", lambda: ("plain split", str.split))
    out = tmp_path / "o.json"
    with pytest.raises(SystemExit) as info:
        bench.main(["--data", str(small_csv), "--repeats", "1", "--json", str(out)])
    assert info.value.code == 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["identical"] is False and data["mismatches"] >= 1
    assert data["reference"] == "plain split"


def test_falls_back_to_the_reference_loop_copy(small_csv, monkeypatch):
    pytest.importorskip("torch")  # benchmarks.reference_loop is a training-side module
    monkeypatch.setattr(bench, "torchtext_tokenizer", lambda: None)
    name, tok = bench.reference_tokenizer()
    assert "reference_loop" in name
    result = bench.run(small_csv, repeats=1)
    assert result["identical"] is True and result["reference"] == name
