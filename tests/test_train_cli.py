"""``lstmtc-train`` through click's CliRunner."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import make_rows, write_agnews_csv

from lstmtc import __version__
from lstmtc.train import cli as train_cli
from lstmtc.train import loop
from lstmtc.train.checkpoint import read_checkpoint

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = ["--hidden", "8", "--embed-dim", "8", "--max-tokens", "12", "--batch-size", "32", "--epochs", "1"]


def invoke(args):
    return CliRunner().invoke(train_cli.main, [str(a) for a in args])


def error_line(result) -> str:
    """The single error line of a failed run; asserts there is no traceback."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    return write_agnews_csv(tmp_path_factory.mktemp("cli") / "train.csv", make_rows(120, seed=3))


def test_help():
    r = invoke(["--help"])
    assert r.exit_code == 0
    for opt in ("--train", "--preset", "--resume", "--test", "--out", "--valid-fraction"):
        assert opt in r.output


def test_version():
    r = invoke(["--version"])
    assert r.exit_code == 0
    assert __version__ in r.output and "lstmtc-train" in r.output


def test_missing_train():
    r = invoke(["--out", "somewhere"])
    assert r.exit_code == 2
    assert "--train" in error_line(r)


def test_missing_out(small_csv):
    r = invoke(["--train", small_csv])
    assert r.exit_code == 2
    assert "--out" in error_line(r)


class _Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, train_path, out_dir, cfg, model_args, valid_path=None, read_options=None, resume=False,
                 **kw):
        self.calls.append((cfg, model_args))
        return {"read_options": read_options}


@pytest.mark.parametrize("preset, max_tokens, hidden, layers, bidir", [
    (1, 25, (75,), 1, False),
    (2, 50, (75,), 1, False),
    (3, 50, (75,), 3, False),
    (4, 50, (50, 60, 75), 1, False),
    (5, 50, (75,), 3, True),
])
def test_preset_options_reach_the_trainer(monkeypatch, small_csv, tmp_path, preset, max_tokens, hidden, layers,
                                          bidir):
    rec = _Recorder()
    monkeypatch.setattr(loop, "train", rec)
    r = invoke(["--train", small_csv, "--out", tmp_path / "run", "--preset", preset])
    assert r.exit_code == 0, r.output
    (cfg, args), = rec.calls
    assert cfg.max_tokens == max_tokens
    assert (tuple(args["hidden_sizes"]), args["num_layers"], args["bidirectional"]) == (hidden, layers, bidir)
    assert args["embed_dim"] == 50
    # The reference training settings are the defaults.
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.valid_fraction) == (1e-3, 1024, 10, 0.05)


def test_resume_rejects_conflicting_options(small_csv, tmp_path):
    run = tmp_path / "run"
    r = invoke(["--train", small_csv, "--out", run, *TINY])
    assert r.exit_code == 0, r.output
    before = (run / "last.pt").read_bytes()
    for extra, named in ((["--lr", "0.5"], "--lr"), (["--preset", "3"], "--preset"),
                         (["--hidden", "16"], "--hidden"), (["--out", tmp_path / "other"], "--out"),
                         (["--seed", "1"], "--seed"), (["--precision", "bf16"], "--precision")):
        r = invoke(["--resume", run, "--train", small_csv, *extra])
        assert r.exit_code == 2, (extra, r.output)
        assert named in error_line(r)
    assert (run / "last.pt").read_bytes() == before
    # --out naming the same directory and --test are not conflicts; one more epoch is trained.
    r = invoke(["--resume", run, "--train", small_csv, "--out", run, "--epochs", "2", "--test", small_csv])
    assert r.exit_code == 0, r.output
    assert read_checkpoint(run / "last.pt")["epoch"] == 2
    assert json.loads((run / "eval" / "metrics.json").read_text())["n"] == 120


def test_resume_of_a_directory_without_a_run(small_csv, tmp_path):
    r = invoke(["--resume", tmp_path, "--train", small_csv])
    assert r.exit_code == 1
    assert "cannot resume" in error_line(r)


def test_existing_run_dir_refused_without_resume(tiny_run, synth_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    r = invoke(["--train", synth_dir / "train.csv", "--out", run, *TINY])
    assert r.exit_code == 1
    line = error_line(r)
    assert "--resume" in line and str(run) in line
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_bad_data_file_names_file_and_line(tmp_path):
    rows = make_rows(20, seed=0)
    bad = tmp_path / "bad.csv"
    write_agnews_csv(bad, rows)
    lines = bad.read_text().splitlines(keepends=True)
    lines[6] = '"2","only two fields"\n'
    bad.write_text("".join(lines))
    r = invoke(["--train", bad, "--out", tmp_path / "run", *TINY])
    assert r.exit_code == 1
    assert f"{bad}:7" in error_line(r)
    assert not (tmp_path / "run").exists(), "a failed start must not leave an empty run directory"


def test_non_utf8_data_file(tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b'"1","ok","fine"\n"2","caf\xe9","bad byte"\n')
    r = invoke(["--train", bad, "--out", tmp_path / "run", *TINY])
    assert r.exit_code == 1
    assert f"{bad}:2" in error_line(r)


def test_missing_data_file(tmp_path):
    r = invoke(["--train", tmp_path / "nope.csv", "--out", tmp_path / "run", *TINY])
    assert r.exit_code == 1
    assert "nope.csv" in error_line(r)


def test_train_with_test_writes_eval(small_csv, synth_dir, tmp_path):
    run = tmp_path / "run"
    r = invoke(["--train", small_csv, "--out", run, "--test", synth_dir / "test.csv", *TINY])
    assert r.exit_code == 0, r.output
    assert (run / "best.pt").exists() and (run / "last.pt").exists()
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    for key in ("n", "accuracy", "classification_report", "confusion_matrix"):
        assert key in metrics
    assert metrics["n"] == 200
    assert sum(map(sum, metrics["confusion_matrix"])) == 200
    png = (run / "eval" / "confusion_matrix.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 1000
    assert "epoch   1/1" in r.output


@pytest.mark.parametrize("flags, hidden", [
    ([], (64,)),  # the recipe: 64 units beside the linear model
    (["--no-linear"], (128,)),  # the network alone is the model: the recipe keeps 128 units
    (["--no-linear", "--hidden", "32"], (32,)),  # a width given is a width kept
    (["--linear", "--hidden", "16,8"], (16, 8)),
])
def test_recipe_width_follows_the_linear_model(monkeypatch, small_csv, tmp_path, flags, hidden):
    rec = _Recorder()
    monkeypatch.setattr(loop, "train", rec)
    r = invoke(["--train", small_csv, "--out", tmp_path / "run", *flags])
    assert r.exit_code == 0, r.output
    (cfg, args), = rec.calls
    assert tuple(args["hidden_sizes"]) == hidden
    assert cfg.linear is ("--no-linear" not in flags)
