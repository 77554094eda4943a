"""The model bundle: a directory holding ``model.onnx`` (and int8/fp16 variants), ``vocab.json``
and ``bundle.json``. This module is the bundle format: its manifest's schema (``Manifest``), the
writer (``Manifest.write``, used by lstmtc-export) and the reader (``load_bundle``), side by side.

``bundle.json`` names every file with its SHA-256, so a model paired with the wrong vocabulary
(or a truncated copy) is refused before anything is scored. What is not listed is not used: every
file a model references (ONNX external data) must be listed, hence hash-checked, or the bundle is
refused (``external_files``). ``bundle.json`` itself is read only as a regular file of at most
``MAX_MANIFEST_BYTES``, and its values are bounded (``max_tokens``, control characters in class
names). What can only be checked against the model (input and output names, types, the number of
classes, the vocabulary against the embedding rows) is checked when a session is opened
(``classifier.check_session``).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BundleError, VocabError
from .files import sha256_file
from .labels import LabelSet
from .vectorize import PADDING_SIDES, TextPipeline
from .vocab import Vocab

FORMAT = "lstmtc-bundle"
# 2: the model may take each row's length beside the ids ("inputs"; padding_side "packed").
# Version-1 bundles (one input, fixed width) are read and scored exactly as before.
VERSION = 2
VERSIONS = (1, 2)
MANIFEST = "bundle.json"
VOCAB = "vocab.json"
PRECISIONS = ("fp32", "int8", "fp16")
MODEL_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx", "fp16": "model.fp16.onnx"}
# The optional "columns" object: the text/title/label columns the model was trained with, as the
# training command named them (null: detected). Bundles without it (older ones) read as all null.
COLUMN_ROLES = ("text", "title", "label")
INPUT = {"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}
# A length-aware model's second input: each row's number of real tokens, 1..sequence.
LENGTHS = {"name": "lengths", "dtype": "int64", "shape": ["batch"]}
OUTPUT_NAME = "logits"
# bundle.json holds names, digests and a training summary: kilobytes. A larger one is not ours.
MAX_MANIFEST_BYTES = 16 << 20
# Tokens per document a bundle may ask for: far beyond any trained model (8..512 by default), and
# small enough that a batch of documents of this length fits in memory.
MAX_TOKENS = 1 << 16


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
    """``bundle.json``, version 2 (version 1 reads the same, without a lengths input)."""

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
    version: int = VERSION

    @property
    def length_aware(self) -> bool:
        return self.padding_side == "packed"

    @property
    def inputs(self) -> list[dict]:
        return [INPUT, LENGTHS] if self.length_aware else [INPUT]

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "labels": self.labels, "label_values": self.label_values,
            "max_tokens": self.max_tokens, "padding_side": self.padding_side, "tokenizer": self.tokenizer,
            "columns": self.columns, "files": self.files, "models": self.models,
            "precision": {name: prec for prec, name in self.models.items()},
            "default_precision": self.default_precision,
            "inputs": self.inputs,
            "output": {"name": "logits", "dtype": "float32", "shape": ["batch", len(self.labels)]},
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
        if type(version) is not int or version not in VERSIONS:
            raise BundleError(f"{where}: bundle format version {version!r} is not supported "
                              f"(this lstmtc reads {' and '.join(map(str, VERSIONS))}); upgrade lstmtc")
        files = _require(data, "files", dict, where)
        models = _require(data, "models", dict, where)
        labels = _require(data, "labels", list, where)
        values = data.get("label_values", labels)
        max_tokens = _require(data, "max_tokens", int, where)
        if type(max_tokens) is not int or not 1 <= max_tokens <= MAX_TOKENS:
            raise BundleError(f"{where}: max_tokens {max_tokens!r} is not a number of tokens from 1 to {MAX_TOKENS}")
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
        sides = PADDING_SIDES if version >= 2 else tuple(p for p in PADDING_SIDES if p != "packed")
        if padding_side not in sides:
            raise BundleError(f"{where}: padding_side {padding_side!r} is not one of {sides} (format {version})")
        if version >= 2:
            expected = [INPUT, LENGTHS] if padding_side == "packed" else [INPUT]
            if data.get("inputs") != expected:
                raise BundleError(f"{where}: 'inputs' must be {json.dumps(expected)} for padding_side "
                                  f"{padding_side!r}")
        for precision, name in models.items():
            if precision not in PRECISIONS or name not in files:
                raise BundleError(f"{where}: model entry {precision!r}: {name!r} is not a listed file")
        if not models:
            raise BundleError(f"{where}: 'models' names no model")
        if data.get("default_precision", "fp32") not in models:
            raise BundleError(f"{where}: default_precision {data.get('default_precision', 'fp32')!r} is not one of "
                              f"the bundle's models ({', '.join(sorted(models))})")
        if VOCAB not in files:
            raise BundleError(f"{where}: {VOCAB} is not listed under 'files'")
        for name, digest in files.items():
            if not isinstance(digest, str) or Path(name).name != name or name in (".", ".."):
                raise BundleError(f"{where}: file entry {name!r} is not a plain file name with a SHA-256 string")
        return cls(labels, values, max_tokens, padding_side, tokenizer, files, models,
                   data.get("default_precision", "fp32"), columns, data.get("provenance") or {}, version)


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


# --------------------------------------------------------------------------- ONNX external data
# The few fields of onnx.proto that can hold a tensor, read from the wire format (field number:
# what it holds), so that the torch- and onnx-free runtime can list the files a model references.
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_GRAPH_NODES, _GRAPH_INITIALIZERS, _GRAPH_SPARSE = 1, 5, 15
_FUNCTION_NODES = 7
_NODE_ATTRIBUTES = 5
_ATTR_TENSOR, _ATTR_GRAPH, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_TENSOR_EXTERNAL = 13  # repeated StringStringEntryProto {1: key, 2: value}


def _varint(buf: bytes | memoryview, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes | memoryview) -> list[tuple[int, memoryview]]:
    """(field number, bytes) of the length-delimited fields of one protobuf message; other wire
    types are skipped."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(buf, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            size, i = _varint(buf, i)
            if i + size > len(buf):
                raise ValueError("truncated field")
            out.append((number, buf[i:i + size]))
            i += size
        else:
            raise ValueError(f"unsupported wire type {wire}")
    if i != len(buf):
        raise ValueError("truncated message")
    return out


def _tensor_locations(tensor: bytes, found: set[str]) -> None:
    for number, entry in _fields(tensor):
        if number == _TENSOR_EXTERNAL:
            kv = dict(_fields(entry))
            if kv.get(1) == b"location":
                found.add(bytes(kv.get(2, b"")).decode("utf-8", "replace"))


def _graph_locations(graph: bytes, found: set[str]) -> None:
    for number, value in _fields(graph):
        if number == _GRAPH_INITIALIZERS:
            _tensor_locations(value, found)
        elif number == _GRAPH_SPARSE:
            for n, t in _fields(value):
                if n in (_SPARSE_VALUES, _SPARSE_INDICES):
                    _tensor_locations(t, found)
        elif number == _GRAPH_NODES:
            _node_locations(value, found)


def _node_locations(node: bytes, found: set[str]) -> None:
    for number, attr in _fields(node):
        if number != _NODE_ATTRIBUTES:
            continue
        for n, value in _fields(attr):
            if n in (_ATTR_TENSOR, _ATTR_TENSORS):
                _tensor_locations(value, found)
            elif n in (_ATTR_GRAPH, _ATTR_GRAPHS):
                _graph_locations(value, found)
            elif n in (_ATTR_SPARSE, _ATTR_SPARSES):
                for m, t in _fields(value):
                    if m in (_SPARSE_VALUES, _SPARSE_INDICES):
                        _tensor_locations(t, found)


def external_files(model: bytes) -> set[str]:
    """The external-data locations an ONNX model (its bytes) references: from initializers, sparse
    initializers, node attributes and subgraphs, and functions. ValueError: not a protobuf."""
    found: set[str] = set()
    # A memoryview: slicing it does not copy, and a weight tensor's bytes are most of the file.
    for number, value in _fields(memoryview(model)):
        if number == _MODEL_GRAPH:
            _graph_locations(value, found)
        elif number == _MODEL_FUNCTIONS:
            for n, node in _fields(value):
                if n == _FUNCTION_NODES:
                    _node_locations(node, found)
    return found


def _check_external(root: Path, name: str, listed: dict[str, str]) -> None:
    try:
        locations = external_files((root / name).read_bytes())
    except ValueError as e:
        raise BundleError(f"{root / name}: onnxruntime cannot load this model (not an ONNX protobuf: {e})") from None
    for location in sorted(locations):
        if location not in listed:
            raise BundleError(f"{root}: {name} reads weights from {location!r}, which {MANIFEST} does not list "
                              "(an unlisted file is not hash-checked); re-export the model")


# --------------------------------------------------------------------------- reading


def read_manifest_bytes(mpath: Path) -> bytes:
    """bundle.json's bytes, read only from a regular file of at most MAX_MANIFEST_BYTES (a symlink to
    /dev/zero or a FIFO is refused, not read until memory runs out or forever)."""
    fd = os.open(mpath, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BundleError(f"{mpath}: not a regular file; a bundle's {MANIFEST} is a JSON file")
        if st.st_size > MAX_MANIFEST_BYTES:
            raise BundleError(f"{mpath}: {st.st_size} bytes, more than a bundle manifest holds "
                              f"({MAX_MANIFEST_BYTES} at most)")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_MANIFEST_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleError(f"{mpath}: grew past {MAX_MANIFEST_BYTES} bytes while it was read")
    return data


def load_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Read and validate a bundle directory; with ``verify`` check every file's SHA-256."""
    root = Path(path)
    if not root.exists():
        raise BundleError(f"{root}: no such model bundle (a directory with {MANIFEST}, {VOCAB} and model.onnx)")
    if not root.is_dir():
        raise BundleError(f"{root}: a model bundle is a directory (made by lstmtc-export), not a file")
    mpath = root / MANIFEST
    try:
        raw = json.loads(read_manifest_bytes(mpath).decode("utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{root}: not a model bundle ({MANIFEST} is missing); make one with lstmtc-export") from None
    except OSError as e:
        raise BundleError(f"{mpath}: cannot read it ({e.strerror or e})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
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
    for name in sorted(set(manifest.models.values())):
        _check_external(root, name, manifest.files)
    try:
        vocab = Vocab.load(root / VOCAB)
        labelset = LabelSet(tuple(manifest.labels), tuple(manifest.label_values))
        pipeline = TextPipeline(vocab, manifest.max_tokens, manifest.padding_side, manifest.tokenizer)
    except (VocabError, ValueError) as e:
        raise BundleError(f"{root}: {e}") from None
    return Bundle(root, raw, labelset, pipeline, dict(manifest.models), manifest)
