"""A run's data, made ready once: read, split, tokenized, vocabulary built (optionally extended
with pretrained words), vectorized, and summarised for the user before any training step."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch

from lstmtc.infer.data import Dataset, read_labelled
from lstmtc.infer.errors import LstmtcError
from lstmtc.infer.text import NO_SPACE_SCRIPT, TOKENIZERS
from lstmtc.infer.vectorize import TextPipeline, vectorize
from lstmtc.infer.vocab import Vocab

from .config import TrainConfig, auto_batch_size, auto_max_tokens


class TrainError(LstmtcError):
    """Training cannot start or continue (bad options, a run directory in the way, ...)."""


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded hold-out split: (train indices, validation indices)."""
    if not 0 < fraction < 1:
        raise TrainError(f"validation fraction must be between 0 and 1, not {fraction}")
    n_valid = max(1, round(n * fraction))
    if n - n_valid < 1:
        raise TrainError(f"{n} rows are too few to hold out a validation split")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


def stratified_indices(labels, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded hold-out split that takes ``fraction`` of every class, at least one row of each class
    with two or more rows (a class of one stays in training: it cannot be both learnt and checked)."""
    if not 0 < fraction < 1:
        raise TrainError(f"validation fraction must be between 0 and 1, not {fraction}")
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        if len(rows) < 2:
            continue
        k = min(len(rows) - 1, max(1, round(len(rows) * fraction)))
        held.append(rng.permutation(rows)[:k])
    if not held:
        raise TrainError(f"no class has two rows, so none can be both learnt and checked ({len(y)} rows, "
                         f"{len(np.unique(y))} labels): check that --label-column names the label, not an id, "
                         "or give --valid FILE")
    va = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(y)), va), va


@dataclass
class Prepared:
    """A run's data, tokenized and vectorized once."""

    pipeline: TextPipeline
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    train: Dataset
    # tokens of each row that reach the model (what a length-aware model takes beside the ids)
    len_train: torch.Tensor | None = None
    len_valid: torch.Tensor | None = None
    # token -> occurrences in the training split (for the vectors' coverage)
    counts: Counter = field(default_factory=Counter)
    # what was read, for the user and DIR/data.json (``summarise``)
    summary: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def prepare(train_path, cfg: TrainConfig, valid_path=None, vocab: Vocab | None = None,
            read_options: dict | None = None, vectors=None) -> Prepared:
    """Read and vectorize a run's data. ``cfg.max_tokens`` / ``cfg.batch_size`` left as None are
    resolved here from the training split and written back into ``cfg``. ``vectors`` (from
    ``embeddings.load_vectors``) only matters with ``cfg.extend_vocab``."""
    opts = read_options or {}
    data = read_labelled(train_path, **opts)
    warnings = list(data.notes)
    if valid_path:
        valid = read_labelled(valid_path, data.labelset, **{k: v for k, v in opts.items() if k != "label_names"})
        warnings += valid.notes
        tr_texts, tr_labels = data.texts, data.labels
        va_texts, va_labels = valid.texts, valid.labels
        how = f"from {valid_path}"
    else:
        try:
            if cfg.split == "stratified":
                tr_idx, va_idx = stratified_indices(data.labels, cfg.valid_fraction, cfg.seed)
            else:
                tr_idx, va_idx = split_indices(len(data), cfg.valid_fraction, cfg.seed)
        except TrainError as e:
            raise TrainError(f"{train_path}: {e}") from None
        tr_texts = [data.texts[i] for i in tr_idx]
        tr_labels = [data.labels[i] for i in tr_idx]
        va_texts = [data.texts[i] for i in va_idx]
        va_labels = [data.labels[i] for i in va_idx]
        how = f"{cfg.split} {cfg.valid_fraction:.0%} of {train_path}"
    # Tokenized once per run (the vocabulary needs the tokens before any pipeline exists).
    if cfg.tokenizer not in TOKENIZERS:
        raise TrainError(f"unknown tokenizer {cfg.tokenizer!r}; known: {', '.join(TOKENIZERS)}")
    tokenize = TOKENIZERS[cfg.tokenizer]
    tr_tokens = [tokenize(t) for t in tr_texts]
    counts: Counter = Counter()
    for tokens in tr_tokens:
        counts.update(tokens)
    if vocab is None:
        vocab = Vocab.from_counts(counts, min_freq=cfg.min_freq, max_tokens=cfg.max_vocab)
        if cfg.extend_vocab and vectors is not None:
            from .embeddings import extend_vocab

            vocab = extend_vocab(vocab, vectors, cfg.extend_vocab, tokenize)
    lengths = np.fromiter((len(t) for t in tr_tokens), dtype=np.int64, count=len(tr_tokens))
    if cfg.max_tokens is None:
        cfg.max_tokens = auto_max_tokens(lengths, cfg.padding_side == "packed")
    if cfg.batch_size is None:
        cfg.batch_size = auto_batch_size(len(tr_tokens))
    pipeline = TextPipeline(vocab, cfg.max_tokens, cfg.padding_side, cfg.tokenizer)
    x_train = torch.from_numpy(vectorize(tr_tokens, vocab, cfg.max_tokens, cfg.padding_side))
    va_tokens = pipeline.tokenize(va_texts)
    x_valid = torch.from_numpy(vectorize(va_tokens, vocab, cfg.max_tokens, cfg.padding_side))
    summary = summarise(data, valid_path, how, tr_labels, va_labels, vocab, cfg, lengths, va_tokens)
    for name, n_train, n_valid in zip(data.labelset.names, summary["classes"]["train"], summary["classes"]["valid"]):
        if n_train + n_valid == 1:
            warnings.append(f"class {name!r} has a single example: it is trained on but never validated")
        elif n_valid == 0:
            warnings.append(f"class {name!r} has no validation row: its recall is not measured")
    if cfg.tokenizer == "basic_english" and tr_texts:
        share = sum(1 for t in tr_texts if NO_SPACE_SCRIPT.search(t)) / len(tr_texts)
        if share >= NO_SPACE_WARN_SHARE:
            warnings.append(f"{share:.0%} of training texts are in a script written without spaces (Chinese, "
                            "Japanese, Thai, ...): basic_english makes each clause one token; --tokenizer "
                            "multilingual (the recipe's default) makes each character one")
    empty = float((lengths == 0).mean()) if len(lengths) else 0.0
    if empty > EMPTY_WARN_SHARE:
        warnings.append(f"{empty:.0%} of training texts have no token (empty, or only characters the tokenizer "
                        "drops): is --text-column the column with the text?")
    if summary["valid_unknown_token_rate"] > UNKNOWN_WARN_RATE:
        warnings.append(f"{summary['valid_unknown_token_rate']:.0%} of validation tokens are not in the vocabulary "
                        f"(min_freq {cfg.min_freq}): the model reads mostly <unk>; give it more training text, "
                        "--min-freq 1, --embeddings ... --extend-vocab N, or another --tokenizer")
    summary["warnings"] = warnings
    return Prepared(pipeline, x_train, torch.tensor(tr_labels), x_valid, torch.tensor(va_labels), data,
                    torch.from_numpy(pipeline.lengths(tr_tokens)), torch.from_numpy(pipeline.lengths(va_tokens)),
                    counts, summary, warnings)


# Warn from this share of training texts with a character of a script without spaces: a few Chinese
# names in English news are fine; a tenth of the rows read as one-token clauses is not.
NO_SPACE_WARN_SHARE = 0.1
# Warn above this unknown-token rate on validation (AG News 1.9%, SMS spam 9.5%, BANKING77 1.1%;
# ChnSentiCorp read by basic_english 52.8%).
UNKNOWN_WARN_RATE = 0.5
# ... and above this share of training texts without a single token.
EMPTY_WARN_SHARE = 0.5


def summarise(data: Dataset, valid_path, how: str, tr_labels, va_labels, vocab: Vocab, cfg: TrainConfig,
              lengths: np.ndarray, va_tokens) -> dict:
    """What was read: the summary printed before training and kept as DIR/data.json."""
    k = len(data.labelset)
    pct = {f"p{q}": int(np.percentile(lengths, q)) if len(lengths) else 0 for q in (50, 90, 95, 99)}
    kept = [t[: cfg.max_tokens] for t in va_tokens]
    va_total = sum(len(t) for t in kept)
    va_unk = sum(1 for t in kept for w in t if w not in vocab)
    return {
        "train_file": str(data.path),
        "valid_file": str(valid_path) if valid_path else None,
        "validation": how,
        "rows_read": len(data) + (len(va_labels) if valid_path else 0),
        "rows": {"train": len(tr_labels), "valid": len(va_labels)},
        "classes": {
            "names": list(data.labelset.names),
            "train": np.bincount(np.asarray(tr_labels, dtype=np.int64), minlength=k).tolist(),
            "valid": np.bincount(np.asarray(va_labels, dtype=np.int64), minlength=k).tolist(),
        },
        "vocab_size": len(vocab),
        "min_freq": cfg.min_freq,
        "tokens_per_document": {**pct, "max": int(lengths.max()) if len(lengths) else 0,
                                "mean": float(lengths.mean()) if len(lengths) else 0.0},
        "max_tokens": cfg.max_tokens,
        "truncated_share": float((lengths > cfg.max_tokens).mean()) if len(lengths) else 0.0,
        "valid_unknown_token_rate": va_unk / va_total if va_total else 0.0,
    }


def summary_lines(summary: dict) -> list[str]:
    """The summary as a few short lines for the terminal."""
    c = summary["classes"]
    total = [a + b for a, b in zip(c["train"], c["valid"])]
    pairs = sorted(zip(c["names"], total), key=lambda p: -p[1])
    if len(pairs) <= 12:
        classes = ", ".join(f"{n} {t:,}" for n, t in pairs)
    else:
        classes = (f"{pairs[-1][1]:,}..{pairs[0][1]:,} rows each; largest {pairs[0][0]} {pairs[0][1]:,}, "
                   f"smallest {pairs[-1][0]} {pairs[-1][1]:,}")
    t = summary["tokens_per_document"]
    lines = [
        f"data: {summary['rows_read']:,} rows read; train {summary['rows']['train']:,}, "
        f"validation {summary['rows']['valid']:,} ({summary['validation']})",
        f"classes ({len(pairs)}): {classes}",
        f"vocabulary {summary['vocab_size']:,} tokens (min_freq {summary['min_freq']}); tokens per document "
        f"p50 {t['p50']}, p95 {t['p95']}, max {t['max']}; max_tokens {summary['max_tokens']} "
        f"({summary['truncated_share']:.1%} of training documents truncated)",
        f"validation unknown-token rate {summary['valid_unknown_token_rate']:.1%}",
    ]
    if "embeddings" in summary:
        lines.append(summary["embeddings"]["line"])
    return lines
