"""The output rules of lstmtc.infer.files, on real files, device nodes (mknod in a temporary
directory), FIFOs, sockets, symlinks and a full tmpfs -- no mocks of the filesystem: devices and
FIFOs are written through, symlinks followed, modes kept, read-only files and inputs refused, a full
disk is one line and leaves the old file; directories publish with one rename (exactly one of two
new exports wins); a training run never overwrites a file it did not write; a checkpoint pair is
written whole or not at all."""

from __future__ import annotations

import importlib
import os
import socket
import stat
import sys
import threading
from pathlib import Path

import pytest

from lstmtc.infer.files import (
    OutputError,
    atomic_directory,
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    protected_inputs,
)

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
hostile = importlib.import_module("benchmarks.hostile")

ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="mknod and mount need root")


@pytest.fixture
def full_disk():
    """A 256 KiB tmpfs filled to the last block (skipped where it cannot be mounted)."""
    try:
        with hostile.tmpfs("256k") as disk:
            (disk / "old.txt").write_text("old\n")
            hostile.fill(disk)
            yield disk
    except hostile.Skip as e:
        pytest.skip(str(e))


def _dev(path: Path, minor: int) -> Path:
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return path


def _names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


# ------------------------------------------------------------------------ not a regular file


@ROOT
def test_a_character_device_is_written_through_not_replaced(tmp_path):
    null = _dev(tmp_path / "null", 3)
    atomic_write_text(null, "x" * 100_000)
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert _names(tmp_path) == ["null"]


@ROOT
def test_a_full_device_is_one_line_and_kept(tmp_path):
    full = _dev(tmp_path / "full", 7)
    with pytest.raises(OutputError) as e:
        atomic_write_text(full, "x" * 100_000)
    assert str(e.value) == f"{full}: cannot write it (No space left on device)"
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_a_fifo_is_written_through_and_its_reader_gets_everything(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write_bytes(fifo, b"a\nb\n")
    reader.join(10)
    assert got == [b"a\nb\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and _names(tmp_path) == ["fifo"]


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    try:
        with pytest.raises(OutputError, match="is a socket"):
            atomic_write_text(path, "x")
    finally:
        s.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_file_descriptor_path_is_written_through_and_appended_to(tmp_path):
    # what -o /dev/stdout reaches when the shell said `>> log`: the file is appended to, never
    # truncated or replaced
    log = tmp_path / "log"
    log.write_text("earlier\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        with atomic_open(f"/dev/fd/{fd}") as f:
            f.write("new\n")
    finally:
        os.close(fd)
    assert log.read_text() == "earlier\nnew\n"
    assert _names(tmp_path) == ["log"]


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(OutputError, match="is a directory"):
        atomic_write_text(tmp_path, "x")


# ----------------------------------------------------------------------------- regular files


def test_a_symlink_is_followed_and_its_target_replaced_in_its_own_directory(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.txt"
    target.write_text("old")
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "out.txt"
    link.symlink_to(Path("..") / "real" / "out.txt")
    seen = []
    with atomic_path(link) as tmp:
        seen.append(tmp.parent)
        tmp.write_text("new")
    assert seen == [tmp_path / "real"]
    assert link.is_symlink() and target.read_text() == "new"
    assert _names(tmp_path / "real") == ["out.txt"] and _names(tmp_path / "links") == ["out.txt"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "new.txt")
    atomic_write_text(link, "made")
    assert link.is_symlink() and (tmp_path / "new.txt").read_text() == "made"


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    out = tmp_path / "out.txt"
    out.write_text("old")
    out.chmod(mode)
    atomic_write_text(out, "new")
    assert stat.S_IMODE(out.stat().st_mode) == mode and out.read_text() == "new"


def test_a_new_file_gets_the_umask_mode(tmp_path):
    out = tmp_path / "new.txt"
    mask = os.umask(0o027)
    try:
        atomic_write_text(out, "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_a_read_only_file_is_refused_even_for_root(tmp_path):
    out = tmp_path / "ro.txt"
    out.write_text("precious")
    out.chmod(0o444)
    with pytest.raises(OutputError, match="read-only"):
        atomic_write_text(out, "new")
    assert out.read_text() == "precious" and _names(tmp_path) == ["ro.txt"]


def test_an_input_is_refused_by_any_name_while_it_is_read(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("texts")
    (tmp_path / "alias").symlink_to(f)
    os.link(f, tmp_path / "hard")
    with protected_inputs(str(f), "-", None, "glob*.csv"):
        for name in ("in.txt", "alias", "hard"):
            with pytest.raises(OutputError, match="is also an input"):
                atomic_write_text(tmp_path / name, "labels")
    assert f.read_text() == "texts"
    atomic_write_text(f, "labels")  # once the command is done, it is a file like any other
    assert f.read_text() == "labels"


def test_a_missing_parent_or_a_file_in_the_way_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="afile is a file, not a directory"):
        atomic_write_text(tmp_path / "afile" / "sub" / "out.txt", "x")
    with pytest.raises(OutputError, match="does not exist"):
        atomic_write_text(tmp_path / "nodir" / "out.txt", "x")


@ROOT
def test_a_full_disk_is_one_line_and_keeps_the_old_file(full_disk):
    with pytest.raises(OutputError) as e:
        atomic_write_bytes(full_disk / "old.txt", b"x" * 1_000_000)
    assert str(e.value) == f"{full_disk / 'old.txt'}: cannot write it (No space left on device)"
    assert (full_disk / "old.txt").read_text() == "old\n"
    assert _names(full_disk) == ["filler", "old.txt"]


# ------------------------------------------------------------------------------- directories


def test_a_new_directory_is_published_by_exactly_one_of_two_runs(tmp_path):
    target = tmp_path / "bundle"
    with pytest.raises(OutputError, match="already exists; pass --force"):
        with atomic_directory(target, replace=False, exists_hint="pass --force to replace it") as mine:
            (mine / "model").write_text("mine")
            with atomic_directory(target, replace=False) as theirs:  # a concurrent run finishes first
                (theirs / "model").write_text("theirs")
    assert (target / "model").read_text() == "theirs"
    assert _names(tmp_path) == ["bundle"]  # the loser's temporary directory is gone


def test_replace_semantics_are_kept(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale").write_text("old")
    with atomic_directory(target) as tmp:
        (tmp / "new").write_text("new")
    assert _names(target) == ["new"] and _names(tmp_path) == ["out"]


def test_an_empty_directory_is_taken_without_force(tmp_path):
    (tmp_path / "out").mkdir()
    with atomic_directory(tmp_path / "out", replace=False) as tmp:
        (tmp / "f").write_text("x")
    assert _names(tmp_path / "out") == ["f"]


def test_a_directory_symlink_is_followed(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    with atomic_directory(tmp_path / "link") as tmp:
        (tmp / "f").write_text("x")
    assert (tmp_path / "link").is_symlink() and _names(tmp_path / "real") == ["f"]


def test_an_output_directory_holding_an_input_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "in.csv").write_text("text\n")
    with protected_inputs(tmp_path / "out" / "in.csv"):
        with pytest.raises(OutputError, match="an input of this command"):
            with atomic_directory(tmp_path / "out"):
                pass
    assert (tmp_path / "out" / "in.csv").exists()


def test_a_read_only_directory_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out").chmod(0o555)
    try:
        with pytest.raises(OutputError, match="read-only"):
            with atomic_directory(tmp_path / "out"):
                pass
    finally:
        (tmp_path / "out").chmod(0o755)


@ROOT
def test_a_directory_on_a_full_disk_is_one_line_and_leaves_nothing(full_disk):
    with pytest.raises(OutputError, match="No space left on device"):
        with atomic_directory(full_disk / "bundle") as tmp:
            (tmp / "model.onnx").write_bytes(b"x" * 1_000_000)
    assert _names(full_disk) == ["filler", "old.txt"]


# ---------------------------------------------------------------------------------- training


@pytest.mark.parametrize("name", ["best.pt", "last.pt", "config.json", "data.json", "history.jsonl", "curves.png"])
def test_a_new_run_never_overwrites_a_run_file_it_did_not_write(tmp_path, synth_dir, name):
    from lstmtc.train.config import TrainConfig
    from lstmtc.train.loop import train
    from lstmtc.train.prepare import TrainError

    (tmp_path / name).write_bytes(b"not ours")
    with pytest.raises(TrainError, match="already holds|--resume"):
        train(synth_dir / "train.csv", tmp_path, TrainConfig(epochs=1, max_tokens=8), {"embed_dim": 4,
              "hidden_sizes": (4,)})
    assert _names(tmp_path) == [name] and (tmp_path / name).read_bytes() == b"not ours"


def test_run_directory_under_a_file_is_one_line(tmp_path, synth_dir):
    from lstmtc.train.config import TrainConfig
    from lstmtc.train.loop import train
    from lstmtc.train.prepare import TrainError

    (tmp_path / "afile").write_text("x")
    with pytest.raises(TrainError, match="afile is a file, not a directory"):
        train(synth_dir / "train.csv", tmp_path / "afile" / "run", TrainConfig(epochs=1), {})


@ROOT
def test_a_full_disk_keeps_the_previous_checkpoint_pair(tmp_path):
    import torch

    from lstmtc.train.checkpoint import read_checkpoint, save_checkpoints

    try:
        with hostile.tmpfs("4m") as disk:
            save_checkpoints(disk, {"best.pt": {"epoch": 1}, "last.pt": {"epoch": 1}})
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            (disk / "filler").write_bytes(b"\0" * (free - 1_200_000))
            big = {"epoch": 2, "w": torch.ones(200_000)}  # 800 kB: the first file fits, the second does not
            with pytest.raises(OutputError) as e:
                save_checkpoints(disk, {"last.pt": big, "best.pt": big})
            assert "No space left on device" in str(e.value) and "\n" not in str(e.value)
            assert read_checkpoint(disk / "best.pt")["epoch"] == 1
            assert read_checkpoint(disk / "last.pt")["epoch"] == 1
            assert _names(disk) == ["best.pt", "filler", "last.pt"]
    except hostile.Skip as e:
        pytest.skip(str(e))


# ---------------------------------------------------------------------------- scored tables


def test_an_input_with_the_added_column_names_is_refused_or_prefixed(tmp_path, tiny_bundle):
    from click.testing import CliRunner

    from lstmtc.infer.apps.classify_cli import main

    f = tmp_path / "in.csv"
    f.write_text("label,text,prob_World\ngold,stocks profit,x\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["-m", str(tiny_bundle), "--csv", str(f), "--text-column", "text"])
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr == (f"Error: {f} already has the column label that scoring adds; name the added columns apart "
                        "with --output-prefix (e.g. pred_)\n")
    r = CliRunner().invoke(main, ["-m", str(tiny_bundle), "--csv", str(f), "--text-column", "text", "--prob"])
    assert "columns label, prob_World that scoring adds" in r.stderr
    r = CliRunner().invoke(main, ["-m", str(tiny_bundle), "--csv", str(f), "--text-column", "text", "--prob",
                                  "--output-prefix", "pred_"])
    assert r.exit_code == 0, r.output
    header = r.stdout.splitlines()[0].split(",")
    assert header == ["label", "text", "prob_World", "pred_label", "pred_prob_World", "pred_prob_Sports",
                      "pred_prob_Business", "pred_prob_Sci/Tech"]
    r = CliRunner().invoke(main, ["-m", str(tiny_bundle), "--output-prefix", "p_"], input="x\n")
    assert r.exit_code == 1 and "needs --csv, --tsv or --jsonl" in r.stderr
