"""Checkpoint -> bundle directory (model.onnx, vocab.json, bundle.json), written atomically: the
bundle format itself (its manifest's schema and writer) is ``lstmtc.infer.bundle``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmtc import __version__
from lstmtc.infer.bundle import MODEL_FILES, VOCAB, Manifest, file_digests
from lstmtc.infer.classifier import open_session, session_logits
from lstmtc.infer.data import read_labelled
from lstmtc.infer.errors import LstmtcError
from lstmtc.infer.files import atomic_directory, file_in_the_way
from lstmtc.train.checkpoint import Checkpoint

from .onnx_export import convert_fp16, export_onnx, quantize_int8
from .validate import SAMPLE_TEXTS, ValidationReport, validate_export


class ExportError(LstmtcError):
    """The export cannot be written (output in the way, unwritable directory, ...)."""


@dataclass
class ExportResult:
    path: Path
    validation: ValidationReport | None
    sizes: dict[str, int] = field(default_factory=dict)
    extra_models: dict[str, dict] = field(default_factory=dict)  # precision -> agreement/accuracy figures


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise ExportError(f"{out} already exists; pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = parent if parent.exists() else file_in_the_way(parent) or parent
        raise ExportError(f"cannot create {out}: {blocker} is a file, not a directory") from None
    except OSError as e:
        raise ExportError(f"cannot create {parent}: {e.strerror or e}") from None
    if not os.access(parent, os.W_OK):
        raise ExportError(f"{parent}: not writable; choose another -o directory")


def export_bundle(ckpt_path, out_dir, *, force: bool = False, validate: bool = True,
                  precisions: tuple[str, ...] = (), data: str | None = None, read_options: dict | None = None,
                  default_precision: str = "fp32", max_vocab: int | None = None,
                  only_default: bool = False) -> ExportResult:
    """Export a checkpoint as a bundle. ``precisions`` adds int8 and/or fp16 models beside fp32;
    ``data`` (a labelled file) supplies validation texts and the accuracy of each model.
    ``only_default``: the bundle keeps only the ``default_precision`` model (the others are made,
    validated and compared first)."""
    ckpt = Checkpoint.read(ckpt_path)
    out = Path(out_dir)
    _prepare_out(out, force)
    model, pipeline, labelset = ckpt.model, ckpt.pipeline, ckpt.labelset
    dataset = read_labelled(data, labelset, **(read_options or {})) if data else None
    texts = dataset.texts if dataset else SAMPLE_TEXTS
    if max_vocab is not None:
        from .prune import prune_vocab

        model, pipeline = prune_vocab(model, pipeline, max_vocab)

    with atomic_directory(out, replace=force, exists_hint="pass --force to replace it") as tmp:
        export_onnx(model, tmp / MODEL_FILES["fp32"], seq_len=pipeline.max_tokens)
        pipeline.vocab.save(tmp / VOCAB)
        fp32 = open_session(tmp / MODEL_FILES["fp32"])
        report = validate_export(model, fp32, pipeline, texts[:2048]) if validate else None
        result = ExportResult(out, report)
        models = {"fp32": MODEL_FILES["fp32"]}
        if precisions:
            ids = pipeline.model_ids(texts)
            ref = session_logits(fp32, pipeline, ids, len(labelset), 1024).argmax(1)
            for prec in precisions:
                if prec == "fp32":
                    continue
                dst = tmp / MODEL_FILES[prec]
                (quantize_int8 if prec == "int8" else convert_fp16)(tmp / MODEL_FILES["fp32"], dst)
                pred = session_logits(open_session(dst), pipeline, ids, len(labelset), 1024).argmax(1)
                info = {"agreement_with_fp32": float((pred == ref).mean()), "n": len(ids)}
                if dataset:
                    gold = np.asarray(dataset.labels)
                    info["accuracy"] = float((pred == gold).mean())
                    info["fp32_accuracy"] = float((ref == gold).mean())
                result.extra_models[prec] = info
                models[prec] = MODEL_FILES[prec]
        if only_default and default_precision in models:
            for prec, name in list(models.items()):
                if prec != default_precision:
                    (tmp / name).unlink()
                    del models[prec]
        files = file_digests(tmp)
        result.sizes = {name: (tmp / name).stat().st_size for name in files}
        stored = ckpt.payload
        Manifest(
            labels=list(labelset.names), label_values=list(labelset.values), max_tokens=pipeline.max_tokens,
            padding_side=pipeline.padding_side, tokenizer=pipeline.tokenizer,
            # so that evaluating needs no --text-column/--label-column again (optional in version 1)
            columns=ckpt.columns, files=files, models=models,
            default_precision=default_precision if default_precision in models else "fp32",
            provenance={
                "lstmtc_version": __version__,
                "checkpoint": ckpt.path,
                "epoch": stored.get("epoch"),
                "model_config": model.config.to_dict(),
                "train_config": stored.get("train_config"),
                "train_file": stored.get("train_file"),
                "train_sha256": stored.get("train_sha256"),
                "history": stored.get("history"),
                "validation_max_abs_diff": report.max_abs_diff if report else None,
                "quantization": result.extra_models or None,
                "pruned_to": max_vocab,
                "left_out": "every precision but the default (validated, then left out)" if only_default else None,
            },
        ).write(tmp)
    return result
