"""Checkpoint -> bundle directory (model.onnx, vocab.json, bundle.json), written atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmtc import __version__
from lstmtc.infer.bundle import FORMAT, MANIFEST, VERSION, VOCAB, sha256_file, training_columns
from lstmtc.infer.data import read_labelled
from lstmtc.infer.errors import LstmtcError
from lstmtc.train.checkpoint import (
    labelset_from_checkpoint,
    model_from_checkpoint,
    pipeline_from_checkpoint,
    read_checkpoint,
)

from .onnx_export import convert_fp16, export_onnx, quantize_int8
from .validate import SAMPLE_TEXTS, ValidationReport, validate_export

MODEL_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx", "fp16": "model.fp16.onnx"}


class ExportError(LstmtcError):
    """The export cannot be written (output in the way, unwritable directory, ...)."""


@dataclass
class ExportResult:
    path: Path
    validation: ValidationReport | None
    sizes: dict[str, int] = field(default_factory=dict)
    extra_models: dict[str, dict] = field(default_factory=dict)  # precision -> agreement/accuracy figures


def _session(path: Path, threads: int | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _predict(session, ids: np.ndarray, batch: int = 1024) -> np.ndarray:
    return np.concatenate([session.run(None, {"input_ids": ids[i:i + batch]})[0] for i in range(0, len(ids), batch)])


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise ExportError(f"{out} already exists; pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), parent)
        raise ExportError(f"cannot create {out}: {blocker} is a file, not a directory") from None
    except OSError as e:
        raise ExportError(f"cannot create {parent}: {e.strerror or e}") from None
    if not os.access(parent, os.W_OK):
        raise ExportError(f"{parent}: not writable; choose another -o directory")


def export_bundle(ckpt_path, out_dir, *, force: bool = False, validate: bool = True,
                  precisions: tuple[str, ...] = (), data: str | None = None, read_options: dict | None = None,
                  default_precision: str = "fp32", max_vocab: int | None = None) -> ExportResult:
    """Export a checkpoint as a bundle. ``precisions`` adds int8 and/or fp16 models beside fp32;
    ``data`` (a labelled file) supplies validation texts and the accuracy of each model."""
    ckpt = read_checkpoint(ckpt_path)
    out = Path(out_dir)
    _prepare_out(out, force)
    model = model_from_checkpoint(ckpt)
    pipeline = pipeline_from_checkpoint(ckpt)
    labelset = labelset_from_checkpoint(ckpt)
    dataset = read_labelled(data, labelset, **(read_options or {})) if data else None
    texts = dataset.texts if dataset else SAMPLE_TEXTS
    if max_vocab is not None:
        from .prune import prune_vocab

        model, pipeline = prune_vocab(model, pipeline, max_vocab)

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent if str(out.parent) else "."))
    try:
        export_onnx(model, tmp / MODEL_FILES["fp32"], seq_len=pipeline.max_tokens)
        pipeline.vocab.save(tmp / VOCAB)
        fp32 = _session(tmp / MODEL_FILES["fp32"])
        report = validate_export(model, fp32, pipeline, texts[:2048]) if validate else None
        result = ExportResult(out, report)
        models = {"fp32": MODEL_FILES["fp32"]}
        if precisions:
            ids = pipeline(texts)
            ref = _predict(fp32, ids).argmax(1)
            for prec in precisions:
                if prec == "fp32":
                    continue
                dst = tmp / MODEL_FILES[prec]
                (quantize_int8 if prec == "int8" else convert_fp16)(tmp / MODEL_FILES["fp32"], dst)
                pred = _predict(_session(dst), ids).argmax(1)
                info = {"agreement_with_fp32": float((pred == ref).mean()), "n": len(ids)}
                if dataset:
                    gold = np.asarray(dataset.labels)
                    info["accuracy"] = float((pred == gold).mean())
                    info["fp32_accuracy"] = float((ref == gold).mean())
                result.extra_models[prec] = info
                models[prec] = MODEL_FILES[prec]
        files = {name: sha256_file(tmp / name) for name in sorted(os.listdir(tmp))}
        result.sizes = {name: (tmp / name).stat().st_size for name in files}
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "labels": list(labelset.names),
            "label_values": list(labelset.values),
            "max_tokens": pipeline.max_tokens,
            "padding_side": pipeline.padding_side,
            "tokenizer": pipeline.tokenizer,
            # so that evaluating needs no --text-column/--label-column again (optional in version 1)
            "columns": training_columns(ckpt.get("read_options")),
            "files": files,
            "models": models,
            "precision": {name: prec for prec, name in models.items()},
            "default_precision": default_precision if default_precision in models else "fp32",
            "input": {"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]},
            "output": {"name": "logits", "dtype": "float32", "shape": ["batch", len(labelset)]},
            "provenance": {
                "lstmtc_version": __version__,
                "checkpoint": str(ckpt["path"]),
                "epoch": ckpt.get("epoch"),
                "model_config": model.config.to_dict(),
                "train_config": ckpt.get("train_config"),
                "train_file": ckpt.get("train_file"),
                "train_sha256": ckpt.get("train_sha256"),
                "history": ckpt.get("history"),
                "validation_max_abs_diff": report.max_abs_diff if report else None,
                "quantization": result.extra_models or None,
                "pruned_to": max_vocab,
            },
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old, out)  # put the previous bundle back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
        return result
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
