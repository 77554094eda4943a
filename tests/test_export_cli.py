"""``lstmtc-export`` through click's CliRunner: outputs, --force, --quantize, --fp16, one-line errors."""

from __future__ import annotations

import json
import os
import shutil

import onnx
import pytest
import torch
from click.testing import CliRunner

from lstmtc import __version__
from lstmtc.export.cli import main
from lstmtc.infer.bundle import load_bundle
from lstmtc.train.checkpoint import VERSION


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def error_line(r) -> str:
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert isinstance(r.exception, SystemExit), repr(r.exception)
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    return lines[0]


def test_help_and_version():
    r = invoke(["--help"])
    assert r.exit_code == 0
    for opt in ("--out", "--force", "--quantize", "--fp16", "--data"):
        assert opt in r.output
    r = invoke(["--version"])
    assert r.exit_code == 0 and __version__ in r.output


def test_export_writes_bundle_and_prints_path(tiny_run, tmp_path):
    out = tmp_path / "b"
    r = invoke([tiny_run / "best.pt", "-o", out])
    assert r.exit_code == 0, r.output
    assert r.output.strip().splitlines()[-1] == str(out)
    assert "export validation" in r.output
    bundle = load_bundle(out)
    assert bundle.manifest["provenance"]["validation_max_abs_diff"] <= 1e-4


def test_default_out_is_beside_the_checkpoint(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    r = invoke([run, "--no-validate"])
    assert r.exit_code == 0, r.output
    load_bundle(run / "bundle")
    assert r.output.strip().splitlines()[-1] == str(run / "bundle")


def test_existing_bundle_needs_force(tiny_run, tmp_path):
    out = tmp_path / "b"
    assert invoke([tiny_run / "best.pt", "-o", out, "--no-validate"]).exit_code == 0
    (out / "marker").write_text("old")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    line = error_line(invoke([tiny_run / "best.pt", "-o", out]))
    assert "--force" in line and str(out) in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    r = invoke([tiny_run / "best.pt", "-o", out, "--force"])
    assert r.exit_code == 0, r.output
    assert not (out / "marker").exists()
    load_bundle(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_quantize_int8_reports_agreement(tiny_run, synth_dir, tmp_path):
    out = tmp_path / "b"
    r = invoke([tiny_run / "best.pt", "-o", out, "--quantize", "int8", "--data", synth_dir / "test.csv",
                "--default-precision", "int8"])
    assert r.exit_code == 0, r.output
    assert "int8: agreement with fp32" in r.output and "on 200 texts" in r.output and "accuracy" in r.output
    ops = {n.op_type for n in onnx.load(str(out / "model.int8.onnx")).graph.node}
    assert "DynamicQuantizeLSTM" in ops
    m = json.loads((out / "bundle.json").read_text())
    assert m["default_precision"] == "int8"
    assert m["provenance"]["quantization"]["int8"]["agreement_with_fp32"] >= 0.9


def test_fp16_option(tiny_run, tmp_path):
    out = tmp_path / "b"
    r = invoke([tiny_run / "best.pt", "-o", out, "--fp16"])
    assert r.exit_code == 0, r.output
    assert "fp16: agreement with fp32" in r.output
    assert load_bundle(out).models == {"fp32": "model.onnx", "fp16": "model.fp16.onnx"}


def test_default_precision_needs_its_model(tiny_run, tmp_path):
    r = invoke([tiny_run / "best.pt", "-o", tmp_path / "b", "--default-precision", "fp16"])
    assert r.exit_code == 2 and "--fp16" in r.output
    assert not (tmp_path / "b").exists()


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "model.pt"
    junk.write_text("definitely not a checkpoint")
    line = error_line(invoke([junk, "-o", tmp_path / "b"]))
    assert str(junk) in line and "not an lstmtc checkpoint" in line
    assert not (tmp_path / "b").exists()


def test_newer_checkpoint_version(tiny_run, tmp_path):
    data = torch.load(tiny_run / "best.pt", weights_only=True)
    data["version"] = VERSION + 1
    future = tmp_path / "future.pt"
    torch.save(data, future)
    line = error_line(invoke([future, "-o", tmp_path / "b"]))
    assert "newer" in line and str(future) in line
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("depth", [1, 2])
def test_output_under_a_regular_file(tiny_run, tmp_path, depth):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "sub" if depth == 1 else blocker / "sub" / "deeper"
    line = error_line(invoke([tiny_run / "best.pt", "-o", out]))
    assert f"{blocker} is a file" in line
    assert blocker.read_text() == "x"


def test_output_is_a_file(tiny_run, tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    r = invoke([tiny_run / "best.pt", "-o", f, "--force"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "is a file" in r.output
    assert f.read_text() == "x"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_output_directory(tiny_run, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        line = error_line(invoke([tiny_run / "best.pt", "-o", locked / "b"]))
        assert "not writable" in line
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_validation_failure_is_one_line(tiny_run, tmp_path, monkeypatch):
    from lstmtc.export import bundle_writer

    real = bundle_writer.validate_export

    class Shifted(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, ids):
            return self.inner(ids) + 0.01

    monkeypatch.setattr(bundle_writer, "validate_export", lambda model, *a, **kw: real(Shifted(model), *a, **kw))
    out = tmp_path / "b"
    line = error_line(invoke([tiny_run / "best.pt", "-o", out]))
    assert "export validation failed" in line
    for bs in (1, 7, 1024):
        assert f"batch {bs}, seq 20" in line and f"batch {bs}, seq 10" in line
    assert list(tmp_path.iterdir()) == []
