"""Self-describing checkpoints: weights + model config + vocabulary + labels + training state.

Everything in the file is a tensor or a plain Python value, so ``torch.load(weights_only=True)``
reads it and nothing is ever unpickled.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from lstmtc import __version__
from lstmtc.infer.atomic import atomic_path
from lstmtc.infer.errors import CheckpointError, VocabError
from lstmtc.infer.labels import LabelSet
from lstmtc.infer.vectorize import TextPipeline
from lstmtc.infer.vocab import Vocab

from .model import LSTMClassifier, ModelConfig

FORMAT = "lstmtc-checkpoint"
VERSION = 1
LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Write atomically: a run killed mid-write leaves the previous file untouched."""
    payload = {"format": FORMAT, "version": VERSION, "lstmtc_version": __version__, **payload}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | os.PathLike) -> dict:
    path = Path(path)
    if path.is_dir():
        for name in (BEST, LAST):
            if (path / name).exists():
                path = path / name
                break
        else:
            raise CheckpointError(f"{path}: a directory without {BEST} or {LAST}; is it a training run directory?")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as e:  # torch raises many types for a file that is not a checkpoint
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable lstmtc checkpoint ({first[:200]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an lstmtc checkpoint (no '{FORMAT}' format tag)")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is newer than this lstmtc reads ({VERSION}); upgrade lstmtc"
        )
    data["path"] = str(path)
    return data


def model_from_checkpoint(ckpt: dict) -> LSTMClassifier:
    cfg = dict(ckpt["model_config"])
    model = LSTMClassifier(ModelConfig(**cfg))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def pipeline_from_checkpoint(ckpt: dict) -> TextPipeline:
    try:
        vocab = Vocab.from_dict(ckpt["vocab"], f"{ckpt.get('path', 'checkpoint')} vocabulary")
    except VocabError as e:
        raise CheckpointError(str(e)) from None
    p = ckpt["pipeline"]
    return TextPipeline(vocab, int(p["max_tokens"]), p["padding_side"], p["tokenizer"])


def labelset_from_checkpoint(ckpt: dict) -> LabelSet:
    return LabelSet(tuple(ckpt["labels"]), tuple(ckpt["label_values"]))


def load_model(path: str | os.PathLike) -> LSTMClassifier:
    """The model of a checkpoint (file or run directory), in eval mode. Its forward takes int64
    token ids (batch, seq) vectorized as ``pipeline_from_checkpoint`` says; returns logits."""
    return model_from_checkpoint(read_checkpoint(path))
