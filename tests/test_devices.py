"""--device: any device torch runs on, checked before any data is read; auto falls back to the CPU."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from lstmtc.train import cli as train_cli
from lstmtc.train import devices
from lstmtc.train.devices import resolve_device
from lstmtc.train.prepare import TrainError


def _unavailable(kind: str) -> bool:
    try:
        torch.empty(1, device=kind)
    except Exception:  # noqa: BLE001
        return True
    return False


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("cpu:0") == torch.device("cpu:0")
    expected = next((k for k in devices.AUTO_DEVICES if not _unavailable(k)), "cpu")
    assert resolve_device("auto").type == expected


def test_auto_takes_the_first_device_that_works(monkeypatch):
    monkeypatch.setattr(devices, "_allocates", lambda d: d.type == "mps")
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(devices, "_allocates", lambda d: False)
    assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:1", "mps", "xpu"])
def test_a_device_that_is_not_here_is_one_clear_error(name):
    if not _unavailable(name):
        pytest.skip(f"{name} is available on this machine")
    with pytest.raises(TrainError) as e:
        resolve_device(name)
    message = str(e.value)
    assert message.startswith(f"--device {name}: not available here (") and message.endswith(
        "); use --device cpu or auto")
    assert "\n" not in message and len(message) < 260


@pytest.mark.parametrize(("name", "message"), [("gpu", "not a device name"), ("cuda:x", "not a device name"),
                                               ("meta", "holds no data")])
def test_names_that_are_not_devices(name, message):
    with pytest.raises(TrainError, match=message):
        resolve_device(name)


def test_cli_refuses_before_reading_the_data(tmp_path):
    # The training file does not exist: the device error comes first, as one line.
    if not _unavailable("mps"):
        pytest.skip("mps is available on this machine")
    r = CliRunner().invoke(train_cli.main, ["--train", str(tmp_path / "none.csv"), "--out", str(tmp_path / "r"),
                                            "--device", "mps"])
    assert r.exit_code == 1 and r.output.startswith("Error: --device mps: not available here (")
    assert "Traceback" not in r.output and not (tmp_path / "r").exists()
    help_text = CliRunner().invoke(train_cli.main, ["--help"]).output
    assert "cuda:N, mps, xpu" in help_text
