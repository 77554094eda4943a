"""Where a training step of the default recipe spends its time on a device: the recipe's data,
model and optimizer exactly as ``lstmtc-train --device D`` builds them, then ``--steps`` steps timed
(synchronised) and profiled with torch.profiler; prints the mean step time, the share of it the
host spends launching work, and the top operators by host and by device time.

    python -m benchmarks.profile_train_step --device cuda [--train DIR/train_pool.csv] [--steps 100]
        [--limit N] [--json out.json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from benchmarks.common import SHARED, write_json
from benchmarks.device_train import limited_copy
from lstmtc.train.batches import batch_inputs, epoch_batches
from lstmtc.train.cli import resolve_settings
from lstmtc.train.devices import resolve_device
from lstmtc.train.embeddings import open_vectors
from lstmtc.train.loop import build_model
from lstmtc.train.prepare import prepare


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile_train_step", description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--train", default=str(SHARED / "train_pool.csv"))
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--limit", type=int, help="use this many rows of the file (smoke runs)")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    device = resolve_device(a.device)
    cfg, model_args = resolve_settings(None, {}, a.device)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = limited_copy(Path(a.train), a.limit, Path(d)) if a.limit else Path(a.train)
        prep = prepare(path, cfg)
    model, _ = build_model(cfg, model_args, prep, open_vectors(cfg.embeddings, print), device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    plan = epoch_batches(len(prep.x_train), cfg.batch_size, torch.Generator().manual_seed(0), prep.len_train)
    plan = (plan * (1 + (2 * a.steps) // len(plan)))[: 2 * a.steps]

    def step(idx):
        xb, lb = batch_inputs(model, prep.x_train, prep.len_train, idx, device)
        yb = prep.y_train[idx].to(device)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb, lb), yb)
        loss.backward()
        nn.utils.clip_grad_norm_(list(model.parameters()), cfg.clip_norm)
        opt.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    model.train()
    for idx in plan[: a.steps]:  # warm-up (cuDNN plans, allocator)
        step(idx)
    sync()
    t0 = time.perf_counter()
    for idx in plan[a.steps:]:
        step(idx)
    sync()
    step_ms = (time.perf_counter() - t0) / a.steps * 1000
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        for idx in plan[a.steps: a.steps + min(a.steps, 30)]:
            step(idx)
        sync()
    averages = prof.key_averages()
    print(f"device {device}, batch {cfg.batch_size}, {a.steps} steps: {step_ms:.2f} ms a step")
    print(averages.table(sort_by="self_cpu_time_total", row_limit=20, max_name_column_width=48))
    if device.type == "cuda":
        print(averages.table(sort_by="self_cuda_time_total", row_limit=12, max_name_column_width=48))
    top = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:20]
    result = {"device": str(device), "batch_size": cfg.batch_size, "steps": a.steps, "step_ms": step_ms,
              "top_host_ops": [{"name": e.key, "calls": e.count, "self_cpu_us": e.self_cpu_time_total} for e in top]}
    if a.json:
        write_json(Path(a.json), "profile_train_step", result)
    return result


if __name__ == "__main__":
    main()
