"""Checkpoints: plain tensors only, atomic writes (also under SIGKILL), load_model, one-line errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from lstmtc.infer.errors import CheckpointError
from lstmtc.infer.files import OutputError
from lstmtc.train import checkpoint as ckmod
from lstmtc.train import load_model, read_checkpoint
from lstmtc.train.checkpoint import (
    FORMAT,
    VERSION,
    labelset_from_checkpoint,
    pipeline_from_checkpoint,
    save_checkpoint,
)

REPO = Path(__file__).resolve().parents[1]


def _one_line(msg: str) -> None:
    assert msg and "\n" not in msg.strip(), msg


@pytest.mark.parametrize("name", ["best.pt", "last.pt"])
def test_checkpoints_load_with_weights_only(tiny_run, name):
    data = torch.load(tiny_run / name, map_location="cpu", weights_only=True)
    assert data["format"] == FORMAT and data["version"] == VERSION
    for key in ("model_config", "state_dict", "vocab", "pipeline", "labels", "label_values", "train_config",
                "history", "epoch", "train_sha256"):
        assert key in data, key
    assert all(isinstance(v, torch.Tensor) for v in data["state_dict"].values())
    if name == "last.pt":
        assert data["epoch"] == 4
        assert data["optimizer"] is not None and data["rng"] is not None


def test_best_is_the_best_validation_epoch(tiny_run):
    best = read_checkpoint(tiny_run / "best.pt")
    last = read_checkpoint(tiny_run / "last.pt")
    accs = {h["epoch"]: h["valid_acc"] for h in last["history"]}
    assert best["epoch"] == max(accs, key=lambda e: (accs[e], -e))
    assert best["optimizer"] is None  # best.pt is for export/evaluation only


@pytest.mark.parametrize("which", ["best.pt", "last.pt", "dir"])
def test_load_model_eval_mode_int64_logits(tiny_run, which):
    path = tiny_run if which == "dir" else tiny_run / which
    model = load_model(path)
    assert isinstance(model, torch.nn.Module)
    assert not model.training
    assert not any(m.training for m in model.modules())
    ckpt = read_checkpoint(path)
    pipeline = pipeline_from_checkpoint(ckpt)
    labels = labelset_from_checkpoint(ckpt)
    assert list(labels.names) == ["World", "Sports", "Business", "Sci/Tech"]
    texts = ["profit shares investors merger stocks", "striker goal coach tournament season", ""]
    ids = torch.from_numpy(pipeline(texts))
    assert ids.dtype == torch.int64 and ids.shape == (3, 20)
    with torch.no_grad():
        logits = model(ids)
    assert logits.shape == (3, 4)
    assert logits.dtype == torch.float32
    # The tiny model learned its topics.
    assert logits[0].argmax().item() == 2 and logits[1].argmax().item() == 1


def test_checkpoint_pipeline_pads_with_its_own_id(tiny_run):
    ckpt = read_checkpoint(tiny_run / "best.pt")
    pipeline = pipeline_from_checkpoint(ckpt)
    vocab = pipeline.vocab
    assert vocab.pad_index != vocab.unk_index
    assert vocab.tokens[vocab.unk_index] == "<unk>" and vocab.tokens[vocab.pad_index] == "<pad>"
    assert ckpt["model_config"]["pad_index"] == vocab.pad_index
    ids = pipeline(["qqqunseenword"])[0]
    assert ids[0] == vocab.unk_index
    assert (ids[1:] == vocab.pad_index).all()
    model = load_model(tiny_run / "best.pt")
    assert model.embedding.padding_idx == vocab.pad_index
    assert torch.count_nonzero(model.embedding.weight[vocab.pad_index]) == 0


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "notes.pt"
    junk.write_text("this is not a checkpoint\n")
    with pytest.raises(CheckpointError) as e:
        load_model(junk)
    _one_line(str(e.value))
    assert str(junk) in str(e.value)
    assert "weights_only" not in str(e.value)  # no advice to unpickle an untrusted file


def test_truncated_checkpoint(tiny_run, tmp_path):
    cut = tmp_path / "cut.pt"
    data = (tiny_run / "best.pt").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as e:
        load_model(cut)
    _one_line(str(e.value))


def test_tensor_file_without_format_tag(tmp_path):
    p = tmp_path / "plain.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, p)
    with pytest.raises(CheckpointError, match="not an lstmtc checkpoint") as e:
        read_checkpoint(p)
    _one_line(str(e.value))


class _Pickled:
    pass


def test_arbitrary_pickle_is_refused_not_unpickled(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": 1, "obj": _Pickled()}, p)
    with pytest.raises(CheckpointError, match="other than tensors") as e:
        read_checkpoint(p)
    _one_line(str(e.value))


def test_newer_format_version(tiny_run, tmp_path):
    data = torch.load(tiny_run / "best.pt", weights_only=True)
    data["version"] = VERSION + 1
    p = tmp_path / "future.pt"
    torch.save(data, p)
    with pytest.raises(CheckpointError, match="newer") as e:
        load_model(p)
    _one_line(str(e.value))


def test_missing_file_and_empty_dir(tmp_path):
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(tmp_path / "nope.pt")
    _one_line(str(e.value))
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(tmp_path)
    _one_line(str(e.value))


def test_incomplete_checkpoint_is_a_checkpoint_error(tmp_path):
    p = tmp_path / "half.pt"
    save_checkpoint(p, {"epoch": 1})
    with pytest.raises(CheckpointError) as e:
        load_model(p)
    _one_line(str(e.value))


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.arange(10.0)})

    def partial_save(obj, f, *a, **kw):
        with open(f, "wb") as fh:
            fh.write(b"PK\x03\x04 half a zip file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckmod.torch, "save", partial_save)
    with pytest.raises(OutputError) as e:  # a full disk is a one-line error naming the file
        save_checkpoint(path, {"epoch": 2, "w": torch.zeros(10)})
    assert str(e.value) == f"{path}: cannot write it (No space left on device)"
    monkeypatch.undo()
    data = read_checkpoint(path)
    assert data["epoch"] == 1
    assert torch.equal(data["w"], torch.arange(10.0))
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]  # no temp file left behind


def test_save_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "last.pt"
    for epoch in (1, 2):
        save_checkpoint(path, {"epoch": epoch})
    assert read_checkpoint(path)["epoch"] == 2
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]


KILL_SCRIPT = textwrap.dedent("""
    import sys
    import torch
    from lstmtc.train.checkpoint import save_checkpoint
    path = sys.argv[1]
    big = torch.ones(4_000_000)  # 16 MB: each write takes a while
    save_checkpoint(path, {"epoch": 0, "w": big})
    print("ready", flush=True)
    epoch = 0
    while True:
        epoch += 1
        save_checkpoint(path, {"epoch": epoch, "w": big * epoch})
""")


def test_sigkill_while_saving_leaves_loadable_checkpoint(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(KILL_SCRIPT)
    path = tmp_path / "ckpt" / "last.pt"
    path.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        # Kill while a temp file is being written (a partial checkpoint exists beside the real one).
        deadline = time.monotonic() + 60
        killed_mid_write = False
        while time.monotonic() < deadline:
            tmps = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
            if tmps and any(0 < p.stat().st_size < 16_000_000 for p in tmps if p.exists()):
                proc.send_signal(signal.SIGKILL)
                killed_mid_write = True
                break
            time.sleep(0.001)
        if not killed_mid_write:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    data = read_checkpoint(path)
    epoch = data["epoch"]
    assert isinstance(epoch, int) and epoch >= 0
    assert torch.equal(data["w"], torch.full((4_000_000,), float(epoch)) if epoch else torch.ones(4_000_000))
