"""End-to-end on the real AG News test set: the 7,600 texts piped through the lstmtc-classify
process give exactly the classes the PyTorch checkpoint gives (issue: lstmtc-classify acceptance).

A small model is trained here on part of the training pool, so the check does not depend on any
run directory; docs/results.md has the same comparison for the five full presets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import NEEDS_SHARED, SHARED

pytestmark = NEEDS_SHARED


@pytest.fixture(scope="module")
def agnews_model(tmp_path_factory):
    import csv

    from lstmtc.export import export_bundle
    from lstmtc.train.config import TrainConfig
    from lstmtc.train.loop import train

    d = tmp_path_factory.mktemp("agnews")
    # The pool's first 20,000 rows are sorted by class; every 10th row of the whole pool is a
    # class-balanced sample of 6,920 rows.
    with open(SHARED / "train_pool.csv", newline="", encoding="utf-8") as f, \
            open(d / "train.csv", "w", newline="", encoding="utf-8") as out:
        rows = csv.reader(f)
        w = csv.writer(out)
        w.writerow(next(rows))
        for i, row in enumerate(rows):
            if i % 10 == 0:
                w.writerow(row)
    cfg = TrainConfig(epochs=2, batch_size=128, max_tokens=30, lr=5e-3, seed=0, padding_side="pre")
    train(d / "train.csv", d / "run", cfg, {"hidden_sizes": (24,), "embed_dim": 24, "pooling": "max"}, progress=False,
          log=lambda s: None)
    export_bundle(d / "run" / "best.pt", d / "bundle")
    return d / "run" / "best.pt", d / "bundle"


def test_piped_test_set_equals_pytorch(agnews_model):
    import torch

    from lstmtc.infer.data import read_labelled
    from lstmtc.train.checkpoint import (
        labelset_from_checkpoint,
        model_from_checkpoint,
        pipeline_from_checkpoint,
        read_checkpoint,
    )

    ckpt_path, bundle = agnews_model
    ckpt = read_checkpoint(ckpt_path)
    model, pipeline = model_from_checkpoint(ckpt), pipeline_from_checkpoint(ckpt)
    data = read_labelled(SHARED / "test.csv", labelset_from_checkpoint(ckpt))
    assert len(data) == 7600
    assert not any("\n" in t or "\r" in t for t in data.texts)
    with torch.no_grad():
        logits = np.concatenate([model(torch.from_numpy(pipeline(data.texts[i:i + 1000]))).numpy()
                                 for i in range(0, len(data), 1000)])
    expected = [ckpt["labels"][i] for i in logits.argmax(1)]

    exe = Path(sys.executable).parent / "lstmtc-classify"
    fallback = [sys.executable, "-c", "from lstmtc.infer.apps.classify_cli import run; run()"]
    cmd = [str(exe)] if exe.exists() else fallback
    proc = subprocess.run(cmd + ["--model", str(bundle), "-"], input="\n".join(data.texts) + "\n",
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr
    got = proc.stdout.splitlines()
    assert len(got) == 7600
    mismatches = [i for i, (a, b) in enumerate(zip(got, expected)) if a != b]
    assert not mismatches, f"{len(mismatches)} differences, first at test row {mismatches[0] + 1}"
    # and the model learned something, so the comparison is not between two constant outputs
    assert len(set(got)) == 4
    assert np.mean(np.asarray(logits.argmax(1)) == np.asarray(data.labels)) > 0.6
