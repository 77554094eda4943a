"""Training: held-out validation, vocabulary from the training split, exact resume, class-sorted files."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from conftest import make_rows, write_agnews_csv

from lstmtc.train.checkpoint import read_checkpoint
from lstmtc.train.config import TrainConfig
from lstmtc.train.loop import TrainError, train
from lstmtc.train.prepare import prepare, split_indices

QUIET = {"progress": False, "log": lambda s: None}


def test_split_is_seeded_disjoint_and_five_percent_by_default():
    assert TrainConfig().valid_fraction == 0.05
    tr, va = split_indices(400, 0.05, seed=7)
    assert len(va) == 20 and len(tr) == 380
    assert set(tr).isdisjoint(va) and set(tr) | set(va) == set(range(400))
    tr2, va2 = split_indices(400, 0.05, seed=7)
    assert np.array_equal(va, va2) and np.array_equal(tr, tr2)
    _, va3 = split_indices(400, 0.05, seed=8)
    assert not np.array_equal(va, va3)
    # Not simply the tail of the file (a class-sorted file would lose a whole class to validation).
    assert not np.array_equal(va, np.arange(380, 400))


@pytest.mark.parametrize("n, fraction", [(1, 0.05), (10, 0.0), (10, 1.0)])
def test_split_rejects_impossible_requests(n, fraction):
    with pytest.raises(TrainError):
        split_indices(n, fraction, 0)


def _rows_with_marked_validation(n: int, seed: int):
    rows = [list(r) for r in make_rows(n, seed=seed)]
    _, va = split_indices(n, 0.05, seed)
    for j, i in enumerate(va):
        rows[i][2] += f" zzvalidonly{j}"
    train_row = next(i for i in range(n) if i not in set(va))
    rows[train_row][2] += " zztrainonly"
    return rows, va


def test_validation_held_out_and_vocab_from_training_split_only(tmp_path):
    seed = 4
    rows, va = _rows_with_marked_validation(200, seed)
    path = write_agnews_csv(tmp_path / "train.csv", rows)
    prep = prepare(path, TrainConfig(seed=seed, max_tokens=40))
    vocab = prep.pipeline.vocab
    assert len(prep.x_valid) == 10 and len(prep.x_train) == 190
    assert prep.y_valid.tolist() == [int(rows[i][0]) - 1 for i in va]
    assert "zztrainonly" in vocab
    assert not any(f"zzvalidonly{j}" in vocab for j in range(len(va)))
    # The validation-only words are unknown to the model: they vectorize to <unk>.
    assert (prep.x_valid == vocab.unk_index).any()


def test_train_run_records_split_and_vocab(tmp_path):
    seed = 5
    rows, va = _rows_with_marked_validation(120, seed)
    path = write_agnews_csv(tmp_path / "train.csv", rows)
    cfg = TrainConfig(epochs=1, batch_size=32, max_tokens=16, seed=seed)
    payload = train(path, tmp_path / "run", cfg, {"hidden_sizes": (8,), "embed_dim": 8}, **QUIET)
    assert payload["n_valid"] == 6 and payload["n_train"] == 114
    tokens = set(read_checkpoint(tmp_path / "run" / "last.pt")["vocab"]["tokens"])
    assert "zztrainonly" in tokens
    assert not any(t.startswith("zzvalidonly") for t in tokens)


def test_tiny_run_holds_out_five_percent(tiny_run):
    ckpt = read_checkpoint(tiny_run / "last.pt")
    assert (ckpt["n_train"], ckpt["n_valid"]) == (760, 40)
    assert ckpt["valid_file"] is None


# --- resume -----------------------------------------------------------------------------------------

RESUME_ARGS = {"hidden_sizes": (8, 8), "embed_dim": 8, "dropout": 0.2}  # dropout: the RNG state matters


def _resume_cfg(epochs: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=16, max_tokens=12, seed=3, lr=1e-2)


@pytest.fixture(scope="module")
def resume_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("resume")
    return write_agnews_csv(d / "train.csv", make_rows(160, seed=9))


@pytest.fixture(scope="module")
def uninterrupted(resume_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    return train(resume_data, out, _resume_cfg(3), RESUME_ARGS, **QUIET)


def _assert_same_run(a: dict, b: dict):
    assert a["epoch"] == b["epoch"]
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for k in a["state_dict"]:
        torch.testing.assert_close(a["state_dict"][k], b["state_dict"][k], rtol=0, atol=1e-6, msg=k)
    for ha, hb in zip(a["history"], b["history"], strict=True):
        assert ha["epoch"] == hb["epoch"]
        assert ha["train_loss"] == pytest.approx(hb["train_loss"], abs=1e-6)
        assert ha["valid_acc"] == hb["valid_acc"]


def test_resume_equals_uninterrupted_run(resume_data, uninterrupted, tmp_path):
    out = tmp_path / "run"
    first = train(resume_data, out, _resume_cfg(1), RESUME_ARGS, **QUIET)
    assert first["epoch"] == 1
    # Sanity: the interrupted run is really different from the finished one.
    assert not torch.allclose(first["state_dict"]["head.weight"], uninterrupted["state_dict"]["head.weight"])
    resumed = train(resume_data, out, _resume_cfg(3), RESUME_ARGS, resume=True, **QUIET)
    _assert_same_run(resumed, uninterrupted)
    _assert_same_run(read_checkpoint(out / "last.pt"), uninterrupted)


def test_resume_via_cli_equals_uninterrupted_run(resume_data, uninterrupted, tmp_path):
    from click.testing import CliRunner

    from lstmtc.train.cli import main

    out = tmp_path / "run"
    runner = CliRunner()
    # --preset: the reference settings the uninterrupted run used (without it the CLI trains the recipe)
    args = ["--train", str(resume_data), "--out", str(out), "--preset", "2", "--batch-size", "16", "--max-tokens", "12",
            "--seed", "3", "--lr", "0.01", "--hidden", "8,8", "--embed-dim", "8", "--dropout", "0.2"]
    r = runner.invoke(main, [*args, "--epochs", "2"])
    assert r.exit_code == 0, r.output
    assert read_checkpoint(out / "last.pt")["epoch"] == 2
    r = runner.invoke(main, ["--resume", str(out), "--train", str(resume_data), "--epochs", "3"])
    assert r.exit_code == 0, r.output
    assert "epoch   3/3" in r.output
    assert "epoch   1/" not in r.output  # finished epochs are not trained again
    _assert_same_run(read_checkpoint(out / "last.pt"), uninterrupted)


def test_resume_when_done_trains_nothing(resume_data, tmp_path):
    out = tmp_path / "run"
    first = train(resume_data, out, _resume_cfg(1), RESUME_ARGS, **QUIET)
    before = (out / "last.pt").read_bytes()
    again = train(resume_data, out, _resume_cfg(1), RESUME_ARGS, resume=True, **QUIET)
    assert again["epoch"] == first["epoch"] == 1
    assert (out / "last.pt").read_bytes() == before


def test_resume_refuses_changed_training_file(resume_data, tmp_path):
    out = tmp_path / "run"
    data = write_agnews_csv(tmp_path / "train.csv", make_rows(160, seed=9))
    train(data, out, _resume_cfg(1), RESUME_ARGS, **QUIET)
    write_agnews_csv(data, make_rows(161, seed=9))
    with pytest.raises(TrainError, match="changed"):
        train(data, out, _resume_cfg(2), RESUME_ARGS, resume=True, **QUIET)


def test_existing_run_refused_without_resume(resume_data, tmp_path):
    out = tmp_path / "run"
    train(resume_data, out, _resume_cfg(1), RESUME_ARGS, **QUIET)
    before = (out / "last.pt").read_bytes()
    with pytest.raises(TrainError, match="--resume"):
        train(resume_data, out, _resume_cfg(1), RESUME_ARGS, **QUIET)
    assert (out / "last.pt").read_bytes() == before


# --- class-sorted data ------------------------------------------------------------------------------


def test_class_sorted_file_trains(tmp_path):
    rows = make_rows(600, seed=11)
    shuffled = list(rows)
    random.Random(0).shuffle(shuffled)
    sorted_rows = sorted(rows, key=lambda r: r[0])
    assert [r[0] for r in sorted_rows[:150]] == ["1"] * 150
    cfg = TrainConfig(epochs=8, batch_size=32, max_tokens=20, seed=0, lr=1e-2, valid_fraction=0.1)
    args = {"hidden_sizes": (16,), "embed_dim": 16}
    accs = {}
    for name, data in (("sorted", sorted_rows), ("shuffled", shuffled)):
        path = write_agnews_csv(tmp_path / f"{name}.csv", data)
        prep = prepare(path, cfg)
        assert len(set(prep.y_valid.tolist())) == 4  # validation is not the tail of a sorted file
        payload = train(path, tmp_path / name, cfg, args, **QUIET)
        accs[name] = max(h["valid_acc"] for h in payload["history"])
    assert accs["sorted"] >= 0.8, accs  # chance is 0.25
    assert abs(accs["sorted"] - accs["shuffled"]) <= 0.12, accs
