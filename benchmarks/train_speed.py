"""Per-epoch training time: lstmtc's loop (tokenize once) vs a reference-style loop that
re-tokenizes every batch in the DataLoader's collate function. Same model, data, batch size and
threads, measured alternately in one process; the figure that matters is the ratio.

lstmtc runs with its default precision ("auto": bf16 mixed precision where the CPU computes bf16
natively); when that is bf16, an fp32 lstmtc run is measured too, so the table shows what the
data path and the arithmetic each contribute. The reference loop is fp32, as the tutorial's.

    python -m benchmarks.train_speed [--preset 2] [--rows N] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from benchmarks.common import SHARED, print_table, write_json
from benchmarks.reference_loop import run as reference_run
from lstmtc.train.config import PRESETS, TrainConfig
from lstmtc.train.loop import train


def lstmtc_epochs(train_path, preset: int, epochs: int, precision: str = "auto") -> tuple[list[float], float, str]:
    """(seconds of each epoch, one-time preparation seconds, the precision "auto" resolved to)."""
    arch = dict(PRESETS[preset])
    cfg = TrainConfig(epochs=epochs, max_tokens=arch.pop("max_tokens"), seed=0, precision=precision)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        payload = train(train_path, d, cfg, arch, progress=False, log=lambda s: None)
        total = time.perf_counter() - t0
    epoch_s = [h["seconds"] for h in payload["history"]]
    return epoch_s, total - sum(epoch_s), payload["train_config"]["precision"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", default=str(SHARED / "train_pool.csv"))
    ap.add_argument("--preset", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2, help="epochs per measurement")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--no-fp32", action="store_true", help="skip the extra fp32 lstmtc row when the default is bf16")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    ours, fp32, ref, prep, collate = [], [], [], [], []
    used = "fp32"
    for _ in range(a.repeats):
        e, p, used = lstmtc_epochs(a.train, a.preset, a.epochs)
        ours += e
        prep.append(p)
        r = reference_run(a.train, a.preset, epochs=a.epochs, log=lambda s: None)
        ref += [h["seconds"] for h in r["history"]]
        collate += [h["collate_seconds"] for h in r["history"]]
        if used != "fp32" and not a.no_fp32:  # what the default's bf16 contributes, shown beside it
            fp32 += lstmtc_epochs(a.train, a.preset, a.epochs, "fp32")[0]
    med_ours, med_ref = statistics.median(ours), statistics.median(ref)
    ratio = med_ours / med_ref
    # Tokenizing once can save at most what the reference spends re-tokenizing; with the same
    # training step, the ratio cannot go below this floor.
    floor = 1 - statistics.median(collate) / med_ref
    print_table(f"per-epoch training time, preset {a.preset} (train + validation), "
                f"torch threads {torch.get_num_threads()}",
                ["loop", "median s/epoch", "ratio", "of which re-tokenizing s", "epochs measured", "one-time prep s"],
                [[f"lstmtc (tokenize once; default precision = {used})", med_ours, ratio, 0.0, len(ours),
                  statistics.median(prep)]]
                + ([["lstmtc --precision fp32", statistics.median(fp32), statistics.median(fp32) / med_ref, 0.0,
                     len(fp32), "-"]] if fp32 else [])
                + [["reference (re-tokenize per batch, fp32)", med_ref, 1.0, statistics.median(collate), len(ref),
                    0.0]])
    print(f"ratio lstmtc / reference: {ratio:.3f} (target <= 0.6); floor for any fp32 loop with the "
          f"reference's training step (the reference minus its re-tokenizing): {floor:.3f}")
    path = write_json(a.json, "train_speed", {"preset": a.preset, "train": a.train, "lstmtc_epoch_s": ours,
                                              "reference_epoch_s": ref, "lstmtc_prep_s": prep,
                                              "median_lstmtc": med_ours, "median_reference": med_ref,
                                              "precision": used, "lstmtc_fp32_epoch_s": fp32,
                                              "ratio_fp32": statistics.median(fp32) / med_ref if fp32 else None,
                                              "reference_collate_s": collate, "ratio": ratio,
                                              "floor_same_step": floor, "threads": torch.get_num_threads()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
