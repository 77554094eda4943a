"""benchmarks/device_train.py (the GPU check's script) end to end on the CPU: both runs train with
the configurations lstmtc-train builds, and the JSON records what a GPU run must report."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
bench = importlib.import_module("benchmarks.device_train")
DATA = REPO.parent / "shared" / "data" / "ag_news"


@pytest.mark.skipif(not (DATA / "train_pool.csv").is_file(), reason=f"needs {DATA} (CI always has it)")
def test_smoke_run_on_the_cpu(tmp_path, capsys):
    out = tmp_path / "device_train.json"
    bench.main(["--device", "cpu", "--epochs", "1", "--limit", "600", "--bf16", "--json", str(out)])
    data = json.loads(out.read_text())
    assert [r["run"] for r in data["runs"]] == ["recipe", "preset2", "recipe-bf16"]
    recipe, preset, bf16 = data["runs"]
    assert (recipe["precision"], preset["precision"], bf16["precision"]) == ("fp32", "fp32", "bf16")
    assert preset["batch_size"] == 1024 and recipe["batch_size"] == 16  # the preset's and the recipe's own
    for r in data["runs"]:
        assert r["device"] == "cpu" and r["epochs_run"] == 1 and len(r["epoch_seconds"]) == 1
        assert r["best_epoch"] == 1 and 0 <= r["best_valid_acc"] <= 1
        assert r["test_n"] == 7600 and 0 <= r["test_accuracy"] <= 1
    assert "lstmtc-train on cpu: AG News pool" in capsys.readouterr().out


@pytest.mark.skipif(not (DATA / "train_pool.csv").is_file(), reason=f"needs {DATA} (CI always has it)")
def test_profile_train_step_on_the_cpu(tmp_path, capsys):
    prof = importlib.import_module("benchmarks.profile_train_step")
    out = tmp_path / "profile.json"
    prof.main(["--device", "cpu", "--steps", "3", "--limit", "400", "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["device"] == "cpu" and data["batch_size"] == 16 and data["step_ms"] > 0
    assert data["top_host_ops"] and all(op["calls"] >= 1 for op in data["top_host_ops"])
    assert "device cpu, batch 16, 3 steps:" in capsys.readouterr().out
