"""Per-epoch training time: lstmtc's loop (tokenize once) vs a reference-style loop that
re-tokenizes every batch in the DataLoader's collate function. Same model, data, batch size and
threads, measured alternately in one process; the figure that matters is the ratio.

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


def lstmtc_epochs(train_path, preset: int, epochs: int) -> list[float]:
    arch = dict(PRESETS[preset])
    cfg = TrainConfig(epochs=epochs, max_tokens=arch.pop("max_tokens"), seed=0)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        payload = train(train_path, d, cfg, arch, progress=False, log=lambda s: None)
        total = time.perf_counter() - t0
    epoch_s = [h["seconds"] for h in payload["history"]]
    return epoch_s, total - sum(epoch_s)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", default=str(SHARED / "train_pool.csv"))
    ap.add_argument("--preset", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2, help="epochs per measurement")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    ours, ref, prep = [], [], []
    for _ in range(a.repeats):
        e, p = lstmtc_epochs(a.train, a.preset, a.epochs)
        ours += e
        prep.append(p)
        r = reference_run(a.train, a.preset, epochs=a.epochs, log=lambda s: None)
        ref += [h["seconds"] for h in r["history"]]
    med_ours, med_ref = statistics.median(ours), statistics.median(ref)
    ratio = med_ours / med_ref
    print_table(f"per-epoch training time, preset {a.preset} (train + validation), "
                f"torch threads {torch.get_num_threads()}",
                ["loop", "median s/epoch", "epochs measured", "one-time prep s"],
                [["lstmtc (tokenize once)", med_ours, len(ours), statistics.median(prep)],
                 ["reference (re-tokenize per batch)", med_ref, len(ref), 0.0]])
    print(f"ratio lstmtc / reference: {ratio:.3f} (target <= 0.6)")
    path = write_json(a.json, "train_speed", {"preset": a.preset, "train": a.train, "lstmtc_epoch_s": ours,
                                              "reference_epoch_s": ref, "lstmtc_prep_s": prep,
                                              "median_lstmtc": med_ours, "median_reference": med_ref,
                                              "ratio": ratio, "threads": torch.get_num_threads()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
