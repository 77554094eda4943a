"""The model bundle: a directory holding ``model.onnx`` (and int8/fp16 variants), ``vocab.json``
and ``bundle.json``. This module is the bundle format: its manifest's schema (``Manifest``), the
writer (``Manifest.write``, used by lstmtc-export) and the reader (``load_bundle``), side by side.

``bundle.json`` names every file with its SHA-256, so a model paired with the wrong vocabulary
(or a truncated copy) is refused before anything is scored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BundleError, VocabError
from .files import sha256_file
from .labels import LabelSet
from .vectorize import PADDING_SIDES, TextPipeline
from .vocab import Vocab

FORMAT = "lstmtc-bundle"
VERSION = 1
MANIFEST = "bundle.json"
VOCAB = "vocab.json"
PRECISIONS = ("fp32", "int8", "fp16")
MODEL_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx", "fp16": "model.fp16.onnx"}
# The optional "columns" object: the text/title/label columns the model was trained with, as the
# training command named them (null: detected). Bundles without it (older ones) read as all null.
COLUMN_ROLES = ("text", "title", "label")
INPUT = {"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}


def training_columns(read_options: dict | None) -> dict[str, str | None]:
    """{"text": ..., "title": ..., "label": ...} from a checkpoint's ``read_options``."""
    opts = read_options if isinstance(read_options, dict) else {}
    out = {}
    for role in COLUMN_ROLES:
        value = opts.get(f"{role}_column")
        out[role] = None if value is None else str(value)
    return out


def file_digests(directory: str | os.PathLike) -> dict[str, str]:
    """{file name: SHA-256} of every file in ``directory``, in name order (the manifest's "files")."""
    root = Path(directory)
    return {name: sha256_file(root / name) for name in sorted(os.listdir(root))}


def _require(data: dict, key: str, kind, where: str):
    value = data.get(key)
    if not isinstance(value, kind):
        raise BundleError(f"{where}: '{key}' is missing or not of type {getattr(kind, '__name__', kind)}")
    return value


@dataclass
class Manifest:
    """``bundle.json``, version 1."""

    labels: list[str]  # class names, in the model's output order
    label_values: list[str]  # how the training data spelled each class
    max_tokens: int
    padding_side: str
    tokenizer: str
    files: dict[str, str]  # file name -> SHA-256, every file of the bundle but bundle.json
    models: dict[str, str]  # precision -> file name
    default_precision: str = "fp32"
    columns: dict[str, str | None] | None = None  # optional: the training columns by role
    provenance: dict = field(default_factory=dict)  # free-form: where the model came from

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "labels": self.labels, "label_values": self.label_values,
            "max_tokens": self.max_tokens, "padding_side": self.padding_side, "tokenizer": self.tokenizer,
            "columns": self.columns, "files": self.files, "models": self.models,
            "precision": {name: prec for prec, name in self.models.items()},
            "default_precision": self.default_precision,
            "input": INPUT, "output": {"name": "logits", "dtype": "float32", "shape": ["batch", len(self.labels)]},
            "provenance": self.provenance,
        }

    def write(self, directory: str | os.PathLike) -> None:
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"
        (Path(directory) / MANIFEST).write_text(text, encoding="utf-8")

    @classmethod
    def from_dict(cls, data: object, where: str) -> Manifest:
        """Validate a parsed ``bundle.json``; every problem is a BundleError naming ``where``."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BundleError(f"{where}: not an lstmtc bundle manifest (format is not {FORMAT!r})")
        version = data.get("version")
        if type(version) is not int or version != VERSION:
            raise BundleError(f"{where}: bundle format version {version!r} is not supported "
                              f"(this lstmtc reads {VERSION})")
        files = _require(data, "files", dict, where)
        models = _require(data, "models", dict, where)
        labels = _require(data, "labels", list, where)
        values = data.get("label_values", labels)
        max_tokens = _require(data, "max_tokens", int, where)
        padding_side = _require(data, "padding_side", str, where)
        tokenizer = _require(data, "tokenizer", str, where)
        if not all(isinstance(x, str) for x in labels):
            raise BundleError(f"{where}: 'labels' must be a list of class names (strings)")
        if not isinstance(values, list) or not all(isinstance(x, str) for x in values):
            raise BundleError(f"{where}: 'label_values' must be a list of strings")
        columns = data.get("columns")
        if columns is not None and not (
            isinstance(columns, dict) and set(columns) <= set(COLUMN_ROLES)
            and all(v is None or isinstance(v, str) for v in columns.values())
        ):
            raise BundleError(f"{where}: 'columns' must map {', '.join(COLUMN_ROLES)} to column names "
                              "(strings or null)")
        if padding_side not in PADDING_SIDES:
            raise BundleError(f"{where}: padding_side {padding_side!r} is not one of {PADDING_SIDES}")
        for precision, name in models.items():
            if precision not in PRECISIONS or name not in files:
                raise BundleError(f"{where}: model entry {precision!r}: {name!r} is not a listed file")
        if VOCAB not in files:
            raise BundleError(f"{where}: {VOCAB} is not listed under 'files'")
        for name, digest in files.items():
            if not isinstance(digest, str) or Path(name).name != name or name in (".", ".."):
                raise BundleError(f"{where}: file entry {name!r} is not a plain file name with a SHA-256 string")
        return cls(labels, values, max_tokens, padding_side, tokenizer, files, models,
                   data.get("default_precision", "fp32"), columns, data.get("provenance") or {})


@dataclass
class Bundle:
    path: Path
    manifest: dict  # bundle.json as read
    labelset: LabelSet
    pipeline: TextPipeline
    models: dict[str, str] = field(default_factory=dict)  # precision -> file name
    schema: Manifest | None = None  # bundle.json, checked and typed

    def model_path(self, precision: str | None = None) -> Path:
        if precision is None:
            precision = self.default_precision
        if precision not in self.models:
            raise BundleError(
                f"{self.path}: no {precision} model in this bundle (it has: {', '.join(sorted(self.models))})"
            )
        return self.path / self.models[precision]

    @property
    def default_precision(self) -> str:
        return self.manifest.get("default_precision", "fp32")

    @property
    def columns(self) -> dict[str, str | None]:
        """The training columns by role; all None for a bundle that does not record them."""
        found = self.manifest.get("columns") or {}
        return {role: found.get(role) for role in COLUMN_ROLES}


def load_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Read and validate a bundle directory; with ``verify`` check every file's SHA-256."""
    root = Path(path)
    if not root.exists():
        raise BundleError(f"{root}: no such model bundle (a directory with {MANIFEST}, {VOCAB} and model.onnx)")
    if not root.is_dir():
        raise BundleError(f"{root}: a model bundle is a directory (made by lstmtc-export), not a file")
    mpath = root / MANIFEST
    try:
        raw = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{root}: not a model bundle ({MANIFEST} is missing); make one with lstmtc-export") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"{mpath}: not valid JSON ({e})") from None
    manifest = Manifest.from_dict(raw, str(mpath))
    for name, digest in manifest.files.items():
        fpath = root / name
        if not fpath.is_file():
            raise BundleError(f"{root}: {name} is missing from the bundle")
        if verify and sha256_file(fpath) != digest:
            raise BundleError(
                f"{fpath}: SHA-256 does not match {MANIFEST}; the file was changed or comes from another "
                "bundle — re-export the model instead of mixing files"
            )
    try:
        vocab = Vocab.load(root / VOCAB)
        labelset = LabelSet(tuple(manifest.labels), tuple(manifest.label_values))
        pipeline = TextPipeline(vocab, manifest.max_tokens, manifest.padding_side, manifest.tokenizer)
    except (VocabError, ValueError) as e:
        raise BundleError(f"{root}: {e}") from None
    return Bundle(root, raw, labelset, pipeline, dict(manifest.models), manifest)
