"""The training loop: tokenize once, reshuffle every epoch, validate on held-out data,
checkpoint atomically after every epoch, resume exactly."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lstmtc.infer.errors import CheckpointError
from lstmtc.infer.files import file_in_the_way
from lstmtc.infer.files import sha256_file as file_sha256
from lstmtc.infer.scoring.metrics import report as metrics_report
from lstmtc.infer.vocab import Vocab

from . import runrecord
from .batches import batch_inputs, epoch_batches, model_batches
from .checkpoint import BEST, LAST, read_checkpoint, save_checkpoints
from .config import AUTO, CHOICES, TrainConfig, auto_ngram_buckets
from .devices import PROGRESS_LOSS_EVERY, host_sum, native_bf16, resolve_device, resolve_precision
from .embeddings import open_vectors, start_embedding
from .linear import mix_into_best
from .model import LSTMClassifier, ModelConfig, distinct_pairs
from .prepare import TrainError, prepare, summary_lines

__all__ = ["TrainError", "train", "resume_config", "resolve_device", "resolve_precision", "native_bf16"]


def check_config(cfg: TrainConfig) -> None:
    """Library callers get the same refusals as the CLI's choices."""
    for name, allowed in CHOICES.items():
        if (value := getattr(cfg, name)) not in allowed:
            raise TrainError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    if not 0 <= cfg.warmup < 1:
        raise TrainError(f"warmup is a share of the planned steps, between 0 and 1, not {cfg.warmup}")
    if cfg.extend_vocab and not cfg.embeddings:
        raise TrainError("extending the vocabulary needs pretrained vectors (--embeddings)")
    if cfg.freeze_embeddings and not cfg.embeddings:
        raise TrainError("freezing the embeddings needs pretrained vectors (--embeddings)")


def lr_at(cfg: TrainConfig, step: int, total: int) -> float:
    """Learning rate for optimizer step ``step`` (1-based) of ``total`` planned steps."""
    if cfg.schedule == "constant":
        return cfg.lr
    warm = max(1, round(cfg.warmup * total)) if cfg.warmup > 0 else 0
    if step <= warm:
        return cfg.lr * step / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def class_weights(labels: torch.Tensor, num_classes: int, how: str) -> torch.Tensor | None:
    """Per-class loss weights: n / (classes * count), as scikit-learn's "balanced"; None = unweighted."""
    if how == "none":
        return None
    counts = torch.bincount(labels, minlength=num_classes).double()
    w = len(labels) / (num_classes * counts.clamp(min=1))
    return w.float()


@torch.no_grad()
def predict_tensors(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                    device: torch.device, lengths: torch.Tensor | None = None) -> tuple[float, np.ndarray]:
    """(mean cross-entropy, predicted classes) of ``model`` on (x, y)."""
    model.eval()
    # Losses and predictions stay on the device until the end: a transfer per batch would make the
    # host wait for an accelerator after every batch.
    sums, preds = [], []
    for rows, logits in model_batches(model, x, lengths, batch_size, device):
        yb = y[rows].to(device)
        sums.append(nn.functional.cross_entropy(logits, yb, reduction="sum"))
        preds.append(logits.argmax(1))
    return host_sum(sums) / len(x), torch.cat(preds).cpu().numpy()


def collapse_warning(pred: np.ndarray, gold: np.ndarray, names, epoch: int) -> str | None:
    """A line when the model puts nearly every validation row into one class that is far from
    nearly all of them: the signature of a model that learnt the class prior and nothing else."""
    counts = np.bincount(pred, minlength=len(names))
    top = int(counts.argmax())
    share_pred = counts[top] / len(pred)
    share_true = float((gold == top).mean())
    if share_pred >= COLLAPSE_PRED_SHARE and share_true <= COLLAPSE_TRUE_SHARE:
        return (f"warning: epoch {epoch} predicts {names[top]!r} for {share_pred:.0%} of validation rows, which "
                f"hold {share_true:.0%} of that class: the model is collapsing onto one class (try --class-weight "
                "balanced, a smaller --lr or --batch-size)")
    return None


# A collapse: at least this share of predictions in one class ...
COLLAPSE_PRED_SHARE = 0.95
# ... that holds at most this share of the validation rows.
COLLAPSE_TRUE_SHARE = 0.90


def recall_line(recall: list[float], names) -> str:
    pairs = list(zip(names, recall))
    if len(pairs) > 12:
        worst = sorted(pairs, key=lambda p: p[1])[:8]
        return ("validation recall, the 8 lowest of " f"{len(pairs)} classes: "
                + ", ".join(f"{n} {r:.2f}" for n, r in worst))
    return "validation recall per class: " + ", ".join(f"{n} {r:.2f}" for n, r in pairs)


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
    check_config(cfg)
    device = resolve_device(cfg.device)
    state = None
    vectors = None
    if resume:
        state = read_checkpoint(out / LAST)
        if state.get("train_sha256") != file_sha256(train_path):
            raise TrainError(f"{train_path}: the training file changed since {out / LAST} was written; cannot resume")
        vocab = Vocab.from_dict(state["vocab"])
        if cfg.embeddings == AUTO:  # what the run resolved it to
            cfg.embeddings = state["train_config"].get("embeddings")
        if state["train_config"].get("embeddings"):  # the vectors set the size of its embedding
            model_args = {**model_args, "embed_dim": state["model_config"]["embed_dim"]}
    else:
        check_new_run_dir(out)
        vocab = None
        vectors = open_vectors(cfg.embeddings, log)

    cfg.precision = resolve_precision(cfg.precision, device)
    torch.manual_seed(cfg.seed)
    prep = prepare(train_path, cfg, valid_path, vocab, read_options, vectors)
    labels = prep.train.labelset
    model, bag_line = build_model(cfg, model_args, prep, vectors, device)
    mcfg = model.config
    if state is None:
        for line in summary_lines(prep.summary) + ([bag_line] if bag_line else []) + [model.describe()]:
            log(line)
    for line in prep.warnings:
        log(line if line.startswith("warning") else f"warning: {line}")
    # Created only once the data has loaded, so a bad file leaves no empty run directory behind.
    out.mkdir(parents=True, exist_ok=True)
    opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in (read_options or {}).items()}
    if state is None:
        runrecord.write_config(out, cfg.to_dict(), mcfg.to_dict(), opts, str(train_path),
                               str(valid_path) if valid_path else None)
        runrecord.write_data(out, prep.summary)
    params = [p for p in model.parameters() if p.requires_grad]
    # bf16 is the fast mode: there the fused Adam kernel (one kernel per step instead of a dozen
    # per parameter) cuts a preset-2 epoch by another ~10%. fp32 keeps the per-parameter update the
    # published fp32 runs were made with (docs/results.md): fused rounds differently, and that
    # alone moved preset 5's test accuracy by 0.3 point.
    fused = cfg.precision == "bf16" and device.type in ("cpu", "cuda")
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    else:
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    weight = class_weights(prep.y_train, len(labels), cfg.class_weight)
    if weight is not None:
        weight = weight.to(device)
    shuffle_gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    start_epoch = 1
    if state is not None:
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        shuffle_gen.set_state(state["rng"]["shuffle"])
        torch.set_rng_state(state["rng"]["torch"])
        history = list(state["history"])
        start_epoch = int(state["epoch"]) + 1
        if start_epoch > cfg.epochs or stopped_early(history, cfg):
            log(f"{out}: the run is already complete ({len(history)} epochs)")
            if cfg.linear:  # unless it stopped before the linear model was mixed in
                mix_into_best(out, cfg, prep, device, log)
            return state
    best = max((runrecord.score(h, cfg.select, cfg.tie_break) for h in history), default=None)

    base = {
        "model_config": mcfg.to_dict(),
        "vocab": prep.pipeline.vocab.to_dict(),
        "pipeline": {"tokenizer": prep.pipeline.tokenizer, "max_tokens": prep.pipeline.max_tokens,
                     "padding_side": prep.pipeline.padding_side},
        "labels": list(labels.names),
        "label_values": list(labels.values),
        "train_config": cfg.to_dict(),
        "train_file": str(train_path),
        "read_options": opts,
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
    total_steps = batches * cfg.epochs
    show = sys.stderr.isatty() if progress is None else progress
    payload = state
    gold = prep.y_valid.numpy()
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        plan = epoch_batches(n, cfg.batch_size, shuffle_gen, prep.len_train if mcfg.lengths else None)
        losses, sizes = [], []
        bar = _progress(show)
        task = None
        if bar:
            bar.start()
            task = bar.add_task("train", total=batches, epoch=epoch, loss=0.0, dps=0.0)
        try:
            for b, idx in enumerate(plan):
                xb, lb = batch_inputs(model, prep.x_train, prep.len_train, idx, device)
                yb = prep.y_train[idx].to(device)
                if cfg.schedule != "constant":
                    for group in opt.param_groups:
                        group["lr"] = lr_at(cfg, (epoch - 1) * batches + b + 1, total_steps)
                opt.zero_grad()
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                    logits = model(xb, lb)
                loss = nn.functional.cross_entropy(logits.float(), yb, weight=weight)
                loss.backward()
                if cfg.clip_norm:
                    nn.utils.clip_grad_norm_(params, cfg.clip_norm)
                opt.step()
                losses.append(loss.detach())
                sizes.append(len(idx))
                if bar:
                    done = min((b + 1) * cfg.batch_size, n)
                    if b % PROGRESS_LOSS_EVERY == 0 or b == batches - 1:  # reading the loss waits for the device
                        shown = host_sum(losses, sizes) / done
                    bar.update(task, advance=1, loss=shown, dps=done / max(time.perf_counter() - t0, 1e-9))
        finally:
            if bar:
                bar.stop()
        train_loss = host_sum(losses, sizes) / n
        valid_loss, pred = predict_tensors(model, prep.x_valid, prep.y_valid, cfg.batch_size, device,
                                            prep.len_valid)
        rep = metrics_report(gold, pred, labels.names)
        seconds = time.perf_counter() - t0
        entry = {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                 "valid_acc": rep["accuracy"], "valid_macro_f1": rep["macro_f1"],
                 "valid_recall": [c["recall"] for c in rep["per_class"].values()],
                 "lr": opt.param_groups[0]["lr"], "seconds": seconds}
        history.append(entry)
        log(f"epoch {epoch:>3}/{cfg.epochs}  train loss {train_loss:.4f}  valid loss {valid_loss:.4f}  "
            f"valid acc {rep['accuracy'] * 100:.2f}%  macro-F1 {rep['macro_f1']:.4f}  {seconds:.1f}s")
        warning = collapse_warning(pred, gold, labels.names, epoch)
        if warning:
            log(warning)
        payload = {
            **base,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "rng": {"shuffle": shuffle_gen.get_state(), "torch": torch.get_rng_state()},
            "epoch": epoch,
            "history": history,
        }
        files = {LAST: payload}
        if best is None or runrecord.score(entry, cfg.select, cfg.tie_break) > best:
            best = runrecord.score(entry, cfg.select, cfg.tie_break)
            files[BEST] = {**payload, "optimizer": None, "rng": None}
        save_checkpoints(out, files)  # both or neither: a failed write keeps the previous pair
        runrecord.write_history(out, history, cfg.select, cfg.tie_break)
        if stopped_early(history, cfg):
            log(f"stopping early: no better validation {cfg.select} for {cfg.patience} epochs")
            break
    final = runrecord.best_entry(history, cfg.select, cfg.tie_break)
    log(f"best epoch {final['epoch']}: valid acc {final['valid_acc'] * 100:.2f}%, macro-F1 "
        f"{final.get('valid_macro_f1', float('nan')):.4f} -> {out / BEST}")
    if "valid_recall" in final:
        log(recall_line(final["valid_recall"], labels.names))
    if cfg.linear:
        mix_into_best(out, cfg, prep, device, log)
    return payload


def build_model(cfg: TrainConfig, model_args: dict, prep, vectors, device: torch.device) -> tuple[
        LSTMClassifier, str | None]:
    """The run's model on ``device``, as its data and settings make it: the embedding from ``vectors``
    where the run starts from them (``embeddings.start_embedding``, which also resolves "auto" and
    puts the coverage in ``prep.summary``) and the n-gram bag's rows from the data; with the line
    that reports the bag's size (None when its size was given)."""
    start, about = start_embedding(cfg, vectors, prep.pipeline.vocab, prep.counts)
    if about is not None:
        prep.summary["embeddings"] = about
    if start is not None:
        model_args = {**model_args, "embed_dim": start.shape[1]}
    pairs = None
    if model_args.get("ngram_buckets") == "auto":
        pairs = distinct_pairs(prep.x_train, prep.pipeline.vocab.pad_index)
        model_args = {**model_args, "ngram_buckets": auto_ngram_buckets(pairs)}
    mcfg = ModelConfig(vocab_size=len(prep.pipeline.vocab), num_classes=len(prep.train.labelset),
                       pad_index=prep.pipeline.vocab.pad_index, lengths=prep.pipeline.length_aware, **model_args)
    bag_line = (f"n-gram bag: {mcfg.ngram_buckets:,} pair rows x {mcfg.ngram_dim} ({pairs:,} distinct word pairs "
                "in training)") if pairs is not None else None
    model = LSTMClassifier(mcfg).to(device)
    if start is not None:
        with torch.no_grad():
            model.embedding.weight.copy_(torch.from_numpy(start))
    if cfg.freeze_embeddings:
        model.embedding.weight.requires_grad_(False)
    return model, bag_line


def check_new_run_dir(out: Path) -> None:
    """A new run's directory: creatable, and holding none of the files a run writes (they would be
    replaced), so a run never overwrites a file it did not write."""
    if (out / LAST).exists():
        raise TrainError(f"{out} already holds a run; use --resume {out} to continue it or choose another --out")
    if out.exists() and not out.is_dir():
        raise TrainError(f"--out {out}: is a file, not a directory")
    blocker = file_in_the_way(out)
    if blocker is not None:
        raise TrainError(f"--out {out}: {blocker} is a file, not a directory")
    taken = [name for name in RUN_FILES if (out / name).exists() or (out / name).is_symlink()]
    if taken:
        raise TrainError(f"--out {out}: already holds {', '.join(taken)} (not written by this run); choose a new "
                         "directory or remove them")


RUN_FILES = (BEST, LAST, runrecord.CONFIG, runrecord.DATA, runrecord.HISTORY, runrecord.CURVES)


def stopped_early(history: list[dict], cfg: TrainConfig) -> bool:
    """Whether the last ``cfg.patience`` epochs brought no better selection score (derived from the
    history alone, so a resumed run stops exactly where an uninterrupted one would)."""
    if not cfg.patience or not history:
        return False
    scores = [runrecord.score(h, cfg.select, cfg.tie_break) for h in history]
    best_at = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return len(scores) - 1 - best_at >= cfg.patience


def resume_config(out_dir) -> tuple[TrainConfig, dict, dict]:
    """The stored (training config, model args, read info) of a run, for --resume."""
    try:
        state = read_checkpoint(Path(out_dir) / LAST)
    except CheckpointError as e:
        raise TrainError(f"cannot resume: {e}") from None
    # Keys a run did not store take TrainConfig's defaults, which are the behaviour of the lstmtc
    # that wrote it (fp32, Adam, constant lr, ...).
    cfg = TrainConfig(**state["train_config"])
    # The whole model config except what the data decides again (vocabulary, classes, padding id).
    # (Length-awareness follows the pipeline's padding, also in train_config.)
    derived = ("vocab_size", "num_classes", "pad_index", "lengths")
    model_args = {k: v for k, v in state["model_config"].items() if k not in derived}
    return cfg, model_args, state
