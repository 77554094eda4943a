"""The model bundle: a directory holding ``model.onnx``, ``vocab.json`` and ``bundle.json``.

``bundle.json`` names every file with its SHA-256, so a model paired with the wrong vocabulary
(or a truncated copy) is refused before anything is scored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BundleError, VocabError
from .labels import LabelSet
from .vectorize import PADDING_SIDES, TextPipeline
from .vocab import Vocab

FORMAT = "lstmtc-bundle"
VERSION = 1
MANIFEST = "bundle.json"
VOCAB = "vocab.json"
PRECISIONS = ("fp32", "int8", "fp16")
# The optional "columns" object: the text/title/label columns the model was trained with, as the
# training command named them (null: detected). Bundles without it (older ones) read as all null.
COLUMN_ROLES = ("text", "title", "label")


def training_columns(read_options: dict | None) -> dict[str, str | None]:
    """{"text": ..., "title": ..., "label": ...} from a checkpoint's ``read_options``."""
    opts = read_options if isinstance(read_options, dict) else {}
    out = {}
    for role in COLUMN_ROLES:
        value = opts.get(f"{role}_column")
        out[role] = None if value is None else str(value)
    return out


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Bundle:
    path: Path
    manifest: dict
    labelset: LabelSet
    pipeline: TextPipeline
    models: dict[str, str] = field(default_factory=dict)  # precision -> file name

    def model_path(self, precision: str | None = None) -> Path:
        if precision is None:
            precision = self.manifest.get("default_precision", "fp32")
        if precision not in self.models:
            raise BundleError(
                f"{self.path}: no {precision} model in this bundle (it has: {', '.join(sorted(self.models))})"
            )
        return self.path / self.models[precision]

    @property
    def columns(self) -> dict[str, str | None]:
        """The training columns by role; all None for a bundle that does not record them."""
        found = self.manifest.get("columns") or {}
        return {role: found.get(role) for role in COLUMN_ROLES}


def _require(manifest: dict, key: str, kind, where: str):
    value = manifest.get(key)
    if not isinstance(value, kind):
        raise BundleError(f"{where}: '{key}' is missing or not of type {getattr(kind, '__name__', kind)}")
    return value


def load_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Read and validate a bundle directory; with ``verify`` check every file's SHA-256."""
    root = Path(path)
    if not root.exists():
        raise BundleError(f"{root}: no such model bundle (a directory with {MANIFEST}, {VOCAB} and model.onnx)")
    if not root.is_dir():
        raise BundleError(f"{root}: a model bundle is a directory (made by lstmtc-export), not a file")
    mpath = root / MANIFEST
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{root}: not a model bundle ({MANIFEST} is missing); make one with lstmtc-export") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"{mpath}: not valid JSON ({e})") from None
    where = str(mpath)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{where}: not an lstmtc bundle manifest (format is not {FORMAT!r})")
    version = manifest.get("version")
    if type(version) is not int or version != VERSION:
        raise BundleError(f"{where}: bundle format version {version!r} is not supported (this lstmtc reads {VERSION})")
    files = _require(manifest, "files", dict, where)
    models = _require(manifest, "models", dict, where)
    labels = _require(manifest, "labels", list, where)
    values = manifest.get("label_values", labels)
    max_tokens = _require(manifest, "max_tokens", int, where)
    padding_side = _require(manifest, "padding_side", str, where)
    tokenizer = _require(manifest, "tokenizer", str, where)
    if not all(isinstance(x, str) for x in labels):
        raise BundleError(f"{where}: 'labels' must be a list of class names (strings)")
    if not isinstance(values, list) or not all(isinstance(x, str) for x in values):
        raise BundleError(f"{where}: 'label_values' must be a list of strings")
    columns = manifest.get("columns")
    if columns is not None and not (
        isinstance(columns, dict) and set(columns) <= set(COLUMN_ROLES)
        and all(v is None or isinstance(v, str) for v in columns.values())
    ):
        raise BundleError(f"{where}: 'columns' must map {', '.join(COLUMN_ROLES)} to column names (strings or null)")
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
        labelset = LabelSet(tuple(labels), tuple(values))
        pipeline = TextPipeline(vocab, max_tokens, padding_side, tokenizer)
    except (VocabError, ValueError) as e:
        raise BundleError(f"{root}: {e}") from None
    return Bundle(root, manifest, labelset, pipeline, dict(models))
