"""benchmarks/train_speed.py runs end to end on a small file (no timing assertions): both loops
train, and the reference loop accounts for the time its collate function spends re-tokenizing."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
from conftest import make_rows, write_agnews_csv

pytest.importorskip("torch")  # a training benchmark: needs the [train] extra

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
train_speed = importlib.import_module("benchmarks.train_speed")
reference_loop = importlib.import_module("benchmarks.reference_loop")


@pytest.fixture
def small_csv(tmp_path):
    return write_agnews_csv(tmp_path / "small.csv", make_rows(120, seed=3))


def test_reference_loop_times_its_collate(small_csv):
    r = reference_loop.run(small_csv, preset=1, epochs=2, batch_size=32, log=lambda s: None)
    assert [h["epoch"] for h in r["history"]] == [1, 2]
    for h in r["history"]:
        # reset every epoch: each epoch's figure is that epoch's alone, and part of its time
        assert 0 < h["collate_seconds"] < h["seconds"]


def test_main_reports_ratio_and_floor(small_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train_speed, "resolve_precision", lambda name, device: "bf16")  # as on a bf16 CPU
    out = tmp_path / "ts.json"
    train_speed.main(["--train", str(small_csv), "--preset", "1", "--epochs", "1", "--repeats", "1",
                      "--json", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["lstmtc_epoch_s"]) == {"fp32", "bf16"}  # the default and the cheaper arithmetic
    assert len(data["reference_epoch_s"]) == len(data["reference_collate_s"]) == 1
    for p, r in data["ratios"].items():
        assert r == pytest.approx(data["median_lstmtc"][p] / data["median_reference"])
    assert data["ratio"] == min(data["ratios"].values()) == data["ratios"][data["best_precision"]]
    assert data["floor_same_step"] == pytest.approx(1 - data["reference_collate_s"][0] / data["median_reference"])
    assert 0 < data["floor_same_step"] < 1
    printed = capsys.readouterr().out
    assert "ratio lstmtc / reference" in printed and "floor" in printed and "--precision bf16" in printed
