"""Per-epoch training time: lstmtc's loop (tokenize once) vs a reference-style loop that
re-tokenizes every batch in the DataLoader's collate function. Same model, data, batch size and
threads, measured alternately in one process; the figure that matters is the ratio.

lstmtc runs twice per repeat: with its default fp32 (what tokenizing once saves) and with
``--precision auto`` (bf16 mixed precision where the CPU computes bf16 natively: what the cheaper
arithmetic adds); the ratio the target is judged on is lstmtc's fastest precision. The reference
loop is fp32, as the tutorial's.

    python -m benchmarks.train_speed [--preset 2] [--epochs 2] [--repeats 2] [--threads T] [--json out.json]
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
from lstmtc.train.loop import resolve_precision, train


def lstmtc_epochs(train_path, preset: int, epochs: int, precision: str = "fp32") -> tuple[list[float], float, str]:
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
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    ours: dict[str, list[float]] = {}
    ref, prep, collate = [], [], []

    def lstmtc(precision: str) -> None:
        e, p, used = lstmtc_epochs(a.train, a.preset, a.epochs, precision)
        ours.setdefault(used, []).extend(e)
        prep.append(p)

    def reference() -> None:
        r = reference_run(a.train, a.preset, epochs=a.epochs, log=lambda s: None)
        ref.extend(h["seconds"] for h in r["history"])
        collate.extend(h["collate_seconds"] for h in r["history"])

    loops = [lambda: lstmtc("fp32"), reference]
    if resolve_precision("auto", torch.device("cpu")) == "bf16":  # elsewhere auto is the fp32 run again
        loops.insert(1, lambda: lstmtc("auto"))
    for r in range(a.repeats):
        for run in loops[r % len(loops):] + loops[:r % len(loops)]:  # rotate: no loop always runs first
            run()
    med_ref = statistics.median(ref)
    med = {p: statistics.median(v) for p, v in ours.items()}
    ratios = {p: m / med_ref for p, m in med.items()}
    best = min(ratios, key=ratios.get)
    # Tokenizing once can save at most what the reference spends re-tokenizing: an fp32 loop with
    # the reference's training step cannot go below this floor.
    floor = 1 - statistics.median(collate) / med_ref
    rows = [[f"lstmtc --precision {p} (tokenize once)", med[p], ratios[p], 0.0, len(ours[p])] for p in med]
    rows.append(["reference (re-tokenize every batch, fp32)", med_ref, 1.0, statistics.median(collate), len(ref)])
    print_table(f"per-epoch training time, preset {a.preset} (train + validation), "
                f"torch threads {torch.get_num_threads()}",
                ["loop", "median s/epoch", "ratio", "of which re-tokenizing s", "epochs measured"], rows)
    print(f"ratio lstmtc / reference: {ratios[best]:.3f} with --precision {best} (target <= 0.6); fp32: "
          f"{ratios['fp32']:.3f}, floor for any fp32 loop with the reference's step "
          f"(the reference minus its re-tokenizing): {floor:.3f}")
    path = write_json(a.json, "train_speed", {
        "preset": a.preset, "train": a.train, "threads": torch.get_num_threads(),
        "lstmtc_epoch_s": ours, "median_lstmtc": med, "ratios": ratios, "best_precision": best,
        "ratio": ratios[best], "reference_epoch_s": ref, "median_reference": med_ref,
        "reference_collate_s": collate, "floor_same_step": floor, "lstmtc_prep_s": prep})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
