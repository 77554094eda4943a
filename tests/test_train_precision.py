"""Training precision: "auto" follows the hardware, bf16 autocast really runs and keeps fp32
weights, each precision resumes exactly, and runs from before the option resume in fp32."""

from __future__ import annotations

import pytest
import torch
from conftest import make_rows, write_agnews_csv

from lstmtc.train import devices, loop
from lstmtc.train.checkpoint import read_checkpoint, save_checkpoint
from lstmtc.train.config import TrainConfig
from lstmtc.train.loop import TrainError, resolve_precision, resume_config, train

QUIET = {"progress": False, "log": lambda s: None}
ARGS = {"hidden_sizes": (8,), "embed_dim": 8, "dropout": 0.2}
CPU = torch.device("cpu")


def _cfg(epochs: int, precision: str) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=16, max_tokens=12, seed=3, lr=1e-2, precision=precision)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_agnews_csv(tmp_path_factory.mktemp("prec") / "train.csv", make_rows(160, seed=9))


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_follows_the_hardware(monkeypatch, native, expected):
    monkeypatch.setattr(devices, "native_bf16", lambda device: native)
    assert resolve_precision("auto", CPU) == expected
    assert resolve_precision("fp32", CPU) == "fp32" and resolve_precision("bf16", CPU) == "bf16"
    with pytest.raises(TrainError, match="fp32, bf16, auto"):
        resolve_precision("fp16", CPU)


def test_run_stores_what_auto_resolved_to(data, tmp_path, monkeypatch):
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    train(data, tmp_path / "run", _cfg(1, "auto"), ARGS, **QUIET)
    assert read_checkpoint(tmp_path / "run" / "last.pt")["train_config"]["precision"] == "fp32"


def test_bf16_autocast_runs_and_weights_stay_fp32(data, tmp_path):
    logs: list[str] = []
    bf16 = train(data, tmp_path / "bf16", _cfg(1, "bf16"), ARGS, progress=False, log=logs.append)
    fp32 = train(data, tmp_path / "fp32", _cfg(1, "fp32"), ARGS, **QUIET)
    assert read_checkpoint(tmp_path / "bf16" / "best.pt")["train_config"]["precision"] == "bf16"
    assert all(v.dtype == torch.float32 for v in bf16["state_dict"].values() if v.is_floating_point())
    assert any("bf16 mixed precision" in line for line in logs)
    # Same seed and data: only the arithmetic differs, and it shows in the weights.
    assert not torch.allclose(bf16["state_dict"]["head.weight"], fp32["state_dict"]["head.weight"], atol=1e-6)
    # ...but not in what was learned: both reach a similar loss.
    assert bf16["history"][0]["train_loss"] == pytest.approx(fp32["history"][0]["train_loss"], rel=0.05)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_resume_equals_uninterrupted_run(data, tmp_path, precision):
    full = train(data, tmp_path / "full", _cfg(3, precision), ARGS, **QUIET)
    train(data, tmp_path / "part", _cfg(1, precision), ARGS, **QUIET)
    resumed = train(data, tmp_path / "part", _cfg(3, precision), ARGS, resume=True, **QUIET)
    for k, v in full["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][k], v, rtol=0, atol=1e-6, msg=k)


def test_run_from_before_the_option_resumes_in_fp32(data, tmp_path):
    out = tmp_path / "run"
    train(data, out, _cfg(1, "fp32"), ARGS, **QUIET)
    state = read_checkpoint(out / "last.pt")
    del state["train_config"]["precision"]
    save_checkpoint(out / "last.pt", state)
    cfg, _, _ = resume_config(out)
    assert cfg.precision == "fp32"


def test_bf16_without_native_support_warns(data, tmp_path, monkeypatch):
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    monkeypatch.setattr(loop, "native_bf16", lambda device: False)
    logs: list[str] = []
    train(data, tmp_path / "run", _cfg(1, "bf16"), ARGS, progress=False, log=logs.append)
    assert any("NOT native" in line and "slower than fp32" in line for line in logs)


def test_fused_adam_only_in_bf16(data, tmp_path):
    """fp32 keeps the Adam update the published fp32 runs were made with; bf16 takes the fused kernel."""
    for precision, fused in (("fp32", False), ("bf16", True)):
        state = train(data, tmp_path / precision, _cfg(1, precision), ARGS, **QUIET)
        assert bool(state["optimizer"]["param_groups"][0]["fused"]) is fused
