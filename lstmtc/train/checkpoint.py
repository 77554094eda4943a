"""The checkpoint format: self-describing files of weights + model config + vocabulary + labels +
training state. The writer (``save_checkpoint``, atomic), the reader (``read_checkpoint``: the
payload as stored) and the typed schema (``Checkpoint``: model config, text pipeline and classes
rebuilt and checked) side by side.

Everything in the file is a tensor or a plain Python value, so ``torch.load(weights_only=True)``
reads it and nothing is ever unpickled. The payload's keys (written by lstmtc.train.loop):
``model_config`` (``ModelConfig`` as a dict, read back whole), ``state_dict``, ``vocab`` (the
vocab.json format), ``pipeline`` (tokenizer, max_tokens, padding_side), ``labels`` and
``label_values``, ``train_config`` (``TrainConfig`` as a dict, read back whole by --resume),
``read_options`` (how the training file was read), ``train_file``, ``train_sha256``,
``valid_file``, ``n_train``, ``n_valid``, ``epoch``, ``history``, and in last.pt ``optimizer`` and
``rng``; plus ``format``, ``version`` and ``lstmtc_version``.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lstmtc import __version__
from lstmtc.infer.bundle import training_columns
from lstmtc.infer.errors import CheckpointError, VocabError
from lstmtc.infer.files import OutputError, atomic_path
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
    save_checkpoints(Path(path).parent, {Path(path).name: payload})


def save_checkpoints(directory: str | os.PathLike, files: dict[str, dict]) -> None:
    """Write several checkpoints (name -> payload) as one step: every file is written in full under
    a temporary name before any is renamed, so a failure (a full disk, an interrupt) leaves the
    previous set complete and raises a one-line ``OutputError``."""
    with ExitStack() as stack:
        for name, payload in files.items():
            path = Path(directory) / name
            tmp = stack.enter_context(atomic_path(path))
            payload = {"format": FORMAT, "version": VERSION, "lstmtc_version": __version__, **payload}
            try:
                torch.save(payload, tmp)
            except RuntimeError as e:  # torch reports a failed write (a full disk) as a RuntimeError
                raise OutputError(f"{path}: cannot write the checkpoint ({_write_failure(tmp, e)})") from None


def _write_failure(path: Path, error: RuntimeError) -> str:
    try:
        if os.statvfs(path.parent).f_bavail * os.statvfs(path.parent).f_frsize < (1 << 20):
            return "No space left on device"
    except OSError:
        pass
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return first[:160]


def read_checkpoint(path: str | os.PathLike) -> dict:
    path = Path(path)
    if path.is_dir():
        for name in (BEST, LAST):
            if (path / name).exists():
                path = path / name
                break
        else:
            raise CheckpointError(f"{path}: a directory without {BEST} or {LAST}; is it a training run directory?")
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    # torch.save writes a zip archive; anything else (text, a truncated copy, another format) is
    # refused here with a plain message instead of torch's unpickler errors.
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    if not is_zip:
        raise CheckpointError(f"{path}: not an lstmtc checkpoint (not a file written by torch.save)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path}: not an lstmtc checkpoint (it holds Python objects other than tensors and plain values; "
            "lstmtc never unpickles those)"
        ) from None
    except Exception as e:  # torch raises many types for a damaged file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable lstmtc checkpoint ({type(e).__name__}: {first[:160]})") from None
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
    where = ckpt.get("path", "checkpoint")
    try:
        cfg = dict(ckpt["model_config"])
        model = LSTMClassifier(ModelConfig(**cfg))
        model.load_state_dict(ckpt["state_dict"])
    except KeyError as e:
        raise CheckpointError(f"{where}: the checkpoint has no {e.args[0]!r} entry; it is incomplete") from None
    except (TypeError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{where}: the model in this checkpoint cannot be rebuilt ({first[:200]})") from None
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


@dataclass
class Checkpoint:
    """A checkpoint read back and typed: what export and evaluation need, checked once."""

    path: str
    model: LSTMClassifier  # in eval mode
    pipeline: TextPipeline
    labelset: LabelSet
    read_options: dict = field(default_factory=dict)
    payload: dict = field(default_factory=dict, repr=False)  # everything as stored

    @classmethod
    def read(cls, path: str | os.PathLike) -> Checkpoint:
        """A checkpoint file or run directory (best.pt, else last.pt)."""
        return cls.from_payload(read_checkpoint(path))

    @classmethod
    def from_payload(cls, ckpt: dict) -> Checkpoint:
        where = ckpt.get("path", "checkpoint")
        model = model_from_checkpoint(ckpt)
        try:
            pipeline, labelset = pipeline_from_checkpoint(ckpt), labelset_from_checkpoint(ckpt)
        except KeyError as e:
            raise CheckpointError(f"{where}: the checkpoint has no {e.args[0]!r} entry; it is incomplete") from None
        except ValueError as e:
            raise CheckpointError(f"{where}: {e}") from None
        opts = ckpt.get("read_options")
        return cls(str(where), model, pipeline, labelset, dict(opts) if isinstance(opts, dict) else {}, ckpt)

    def logits(self, texts) -> torch.Tensor:
        """(n, classes) logits of ``texts`` in one forward pass (ids, and lengths for a length-aware
        model, as the bundle's runtime makes them)."""
        tokens = self.pipeline.model_tokens(texts)
        ids = torch.from_numpy(self.pipeline.ids(tokens))
        lengths = torch.from_numpy(self.pipeline.lengths(tokens)) if self.pipeline.length_aware else None
        with torch.inference_mode():
            return self.model(ids, lengths)

    @property
    def columns(self) -> dict[str, str | None]:
        """The text/title/label columns of the training file, as the training command named them."""
        return training_columns(self.read_options)


def load_model(path: str | os.PathLike) -> LSTMClassifier:
    """The model of a checkpoint (file or run directory), in eval mode. Its forward takes int64
    token ids (batch, seq) vectorized as ``pipeline_from_checkpoint`` says; returns logits."""
    return model_from_checkpoint(read_checkpoint(path))
