"""The training loop: tokenize once, reshuffle every epoch, validate on held-out data,
checkpoint atomically after every epoch, resume exactly."""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lstmtc.infer.data import Dataset, read_labelled
from lstmtc.infer.errors import CheckpointError, LstmtcError
from lstmtc.infer.text import basic_english
from lstmtc.infer.vectorize import TextPipeline, vectorize
from lstmtc.infer.vocab import Vocab

from .checkpoint import BEST, LAST, read_checkpoint, save_checkpoint
from .config import PRECISIONS, TrainConfig
from .model import LSTMClassifier, ModelConfig


class TrainError(LstmtcError):
    """Training cannot start or continue (bad options, a run directory in the way, ...)."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 matrix products in hardware (AVX512-BF16 or AMX on CPU)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def resolve_precision(name: str, device: torch.device) -> str:
    if name == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if name not in PRECISIONS:
        raise TrainError(f"precision must be one of {', '.join(PRECISIONS)}, not {name!r}")
    return name


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded hold-out split: (train indices, validation indices)."""
    if not 0 < fraction < 1:
        raise TrainError(f"validation fraction must be between 0 and 1, not {fraction}")
    n_valid = max(1, round(n * fraction))
    if n - n_valid < 1:
        raise TrainError(f"{n} rows are too few to hold out a validation split")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


@dataclass
class Prepared:
    """A run's data, tokenized and vectorized once."""

    pipeline: TextPipeline
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    train: Dataset


def prepare(train_path, cfg: TrainConfig, valid_path=None, vocab: Vocab | None = None,
            read_options: dict | None = None) -> Prepared:
    opts = read_options or {}
    data = read_labelled(train_path, **opts)
    if valid_path:
        valid = read_labelled(valid_path, data.labelset, **{k: v for k, v in opts.items() if k != "label_names"})
        tr_texts, tr_labels = data.texts, data.labels
        va_texts, va_labels = valid.texts, valid.labels
    else:
        tr_idx, va_idx = split_indices(len(data), cfg.valid_fraction, cfg.seed)
        tr_texts = [data.texts[i] for i in tr_idx]
        tr_labels = [data.labels[i] for i in tr_idx]
        va_texts = [data.texts[i] for i in va_idx]
        va_labels = [data.labels[i] for i in va_idx]
    # Tokenized once per run (the vocabulary needs the tokens before any pipeline exists).
    tr_tokens = [basic_english(t) for t in tr_texts]
    if vocab is None:
        vocab = Vocab.build(tr_tokens, min_freq=cfg.min_freq, max_tokens=cfg.max_vocab)
    pipeline = TextPipeline(vocab, cfg.max_tokens, cfg.padding_side)
    x_train = torch.from_numpy(vectorize(tr_tokens, vocab, cfg.max_tokens, cfg.padding_side))
    x_valid = torch.from_numpy(pipeline(va_texts))
    return Prepared(pipeline, x_train, torch.tensor(tr_labels), x_valid, torch.tensor(va_labels), data)


@torch.no_grad()
def evaluate_tensors(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                     device: torch.device) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on (x, y)."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i : i + batch_size].to(device), y[i : i + batch_size].to(device)
        logits = model(xb)
        loss_sum += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    return loss_sum / len(x), correct / len(x)


def _progress(enabled: bool):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[dps]:.0f} docs/s"),
        TimeElapsedColumn(), transient=True,
        console=__import__("rich.console", fromlist=["Console"]).Console(stderr=True),
    )


def train(
    train_path,
    out_dir,
    cfg: TrainConfig,
    model_args: dict,
    valid_path=None,
    read_options: dict | None = None,
    resume: bool = False,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
    progress: bool | None = None,
) -> dict:
    """Train (or resume) a run in ``out_dir``; returns the final checkpoint payload."""
    out = Path(out_dir)
    device = resolve_device(cfg.device)
    state = None
    if resume:
        state = read_checkpoint(out / LAST)
        if state.get("train_sha256") != file_sha256(train_path):
            raise TrainError(f"{train_path}: the training file changed since {out / LAST} was written; cannot resume")
        vocab = Vocab.from_dict(state["vocab"])
    else:
        if (out / LAST).exists():
            raise TrainError(f"{out} already holds a run; use --resume {out} to continue it or choose another --out")
        vocab = None

    cfg.precision = resolve_precision(cfg.precision, device)
    torch.manual_seed(cfg.seed)
    prep = prepare(train_path, cfg, valid_path, vocab, read_options)
    # Created only once the data has loaded, so a bad file leaves no empty run directory behind.
    out.mkdir(parents=True, exist_ok=True)
    labels = prep.train.labelset
    mcfg = ModelConfig(vocab_size=len(prep.pipeline.vocab), num_classes=len(labels),
                       pad_index=prep.pipeline.vocab.pad_index, **model_args)
    model = LSTMClassifier(mcfg).to(device)
    # bf16 is the fast mode: there the fused Adam kernel (one kernel per step instead of a dozen
    # per parameter) cuts a preset-2 epoch by another ~10%. fp32 keeps the per-parameter update the
    # published fp32 runs were made with (docs/results.md): fused rounds differently, and that
    # alone moved preset 5's test accuracy by 0.3 point.
    fused = cfg.precision == "bf16" and device.type in ("cpu", "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=fused)
    shuffle_gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    best_acc = -1.0
    start_epoch = 1
    if state is not None:
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        shuffle_gen.set_state(state["rng"]["shuffle"])
        torch.set_rng_state(state["rng"]["torch"])
        history = list(state["history"])
        best_acc = max((h["valid_acc"] for h in history), default=-1.0)
        start_epoch = int(state["epoch"]) + 1
        if start_epoch > cfg.epochs:
            log(f"{out}: all {cfg.epochs} epochs are already done")
            return state

    base = {
        "model_config": mcfg.to_dict(),
        "vocab": prep.pipeline.vocab.to_dict(),
        "pipeline": {"tokenizer": prep.pipeline.tokenizer, "max_tokens": prep.pipeline.max_tokens,
                     "padding_side": prep.pipeline.padding_side},
        "labels": list(labels.names),
        "label_values": list(labels.values),
        "train_config": cfg.to_dict(),
        "train_file": str(train_path),
        "read_options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in (read_options or {}).items()},
        "train_sha256": file_sha256(train_path),
        "valid_file": str(valid_path) if valid_path else None,
        "n_train": len(prep.x_train),
        "n_valid": len(prep.x_valid),
    }
    if cfg.precision == "bf16" and start_epoch == 1:
        how = "computed natively" if native_bf16(device) else "NOT native here: emulated, expect it slower than fp32"
        log(f"training in bf16 mixed precision ({how}); weights and validation stay fp32")
    n = len(prep.x_train)
    batches = math.ceil(n / cfg.batch_size)
    show = sys.stderr.isatty() if progress is None else progress
    payload = state
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=shuffle_gen)
        loss_sum = 0.0
        bar = _progress(show)
        task = None
        if bar:
            bar.start()
            task = bar.add_task("train", total=batches, epoch=epoch, loss=0.0, dps=0.0)
        try:
            for b in range(batches):
                idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                xb, yb = prep.x_train[idx].to(device), prep.y_train[idx].to(device)
                opt.zero_grad()
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                    logits = model(xb)
                loss = nn.functional.cross_entropy(logits.float(), yb)
                loss.backward()
                opt.step()
                loss_sum += loss.item() * len(idx)
                if bar:
                    done = min((b + 1) * cfg.batch_size, n)
                    bar.update(task, advance=1, loss=loss_sum / done,
                               dps=done / max(time.perf_counter() - t0, 1e-9))
        finally:
            if bar:
                bar.stop()
        train_loss = loss_sum / n
        valid_loss, valid_acc = evaluate_tensors(model, prep.x_valid, prep.y_valid, cfg.batch_size, device)
        seconds = time.perf_counter() - t0
        history.append({"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                        "valid_acc": valid_acc, "seconds": seconds})
        log(f"epoch {epoch:>3}/{cfg.epochs}  train loss {train_loss:.4f}  valid loss {valid_loss:.4f}  "
            f"valid acc {valid_acc * 100:.2f}%  {seconds:.1f}s")
        payload = {
            **base,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "rng": {"shuffle": shuffle_gen.get_state(), "torch": torch.get_rng_state()},
            "epoch": epoch,
            "history": history,
        }
        if valid_acc > best_acc:
            best_acc = valid_acc
            save_checkpoint(out / BEST, {**payload, "optimizer": None, "rng": None})
        save_checkpoint(out / LAST, payload)
    return payload


def resume_config(out_dir) -> tuple[TrainConfig, dict, dict]:
    """The stored (training config, model args, read info) of a run, for --resume."""
    try:
        state = read_checkpoint(Path(out_dir) / LAST)
    except CheckpointError as e:
        raise TrainError(f"cannot resume: {e}") from None
    tc = dict(state["train_config"])
    tc.setdefault("precision", "fp32")  # runs from before the option trained in fp32
    cfg = TrainConfig(**tc)
    mc = dict(state["model_config"])
    model_args = {k: mc[k] for k in ("embed_dim", "hidden_sizes", "num_layers", "bidirectional", "dropout", "pooling")
                  if k in mc}
    return cfg, model_args, state
