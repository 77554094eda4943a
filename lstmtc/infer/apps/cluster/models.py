"""How the bundle reaches the Dask workers, and each worker's classifiers.

``ship=True`` (the default, and what the CLI does): the client reads the bundle once (a local
directory or an fsspec URL such as ``s3://bucket/models/p2``), checks every file's SHA-256, and the
files travel to the cluster as one dask key; each worker receives them once and loads them.
``ship=False``: the workers open the bundle themselves, at the same path (shared storage) or URL; a
worker whose copy differs from the client's (another ``bundle.json``) refuses it. Either way each
worker process loads the bundle once and keeps one onnxruntime session for it (a per-process cache
keyed by the SHA-256 of ``bundle.json``, precision and threads), reused by every partition and
every later run on a long-lived worker.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ...bundle import MANIFEST, load_bundle
from ...classifier import Classifier
from ...errors import BundleError
from ...files import sha256_bytes
from . import deps


@dataclass
class BundleRef:
    """What a task needs to find its model on a worker: the bundle's identity (``key``, the SHA-256
    of its ``bundle.json``, which lists every file's SHA-256) and, when it is not shipped, where
    the worker opens it (a directory path or an fsspec URL)."""

    key: str
    precision: str | None
    threads: int | None
    labels: list[str]
    path: str | None = None
    storage_options: dict = field(default_factory=dict)


def _read_url_files(url: str, storage_options: dict) -> dict[str, bytes]:
    """The files of a bundle at an fsspec URL: ``bundle.json`` and every file it lists."""
    fsspec = deps.fsspec()
    base = url.rstrip("/")

    def read(name: str) -> bytes:
        try:
            with fsspec.open(f"{base}/{name}", "rb", **storage_options) as f:
                return f.read()
        except FileNotFoundError:
            raise BundleError(f"{base}/{name}: no such file (a bundle holds {MANIFEST}, vocab.json and "
                              "model files)") from None
        except OSError as e:
            raise BundleError(f"{base}/{name}: cannot read it ({e})") from None

    manifest = read(MANIFEST)
    try:
        names = list(json.loads(manifest.decode("utf-8")).get("files", {}))
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as e:
        raise BundleError(f"{base}/{MANIFEST}: not a valid manifest ({e})") from None
    files = {MANIFEST: manifest}
    for name in names:
        if Path(name).name != name:
            raise BundleError(f"{base}/{MANIFEST}: file entry {name!r} is not a plain file name")
        files[name] = read(name)
    return files


@contextmanager
def _materialized(files: dict[str, bytes]) -> Iterator[Path]:
    """The files in a temporary directory, removed afterwards (onnxruntime keeps the model in memory)."""
    with tempfile.TemporaryDirectory(prefix="lstmtc-bundle-") as d:
        for name, data in files.items():
            (Path(d) / name).write_bytes(data)
        yield Path(d)


def bundle_ref(bundle: str | os.PathLike | None = None, precision: str | None = None, threads: int | None = 1,
               ship: bool = True, storage_options: dict | None = None) -> tuple[BundleRef, dict[str, bytes] | None]:
    """Check a bundle on the client (every SHA-256, the precision) and say how workers get it.
    Returns the reference and, with ``ship``, the bundle's files to send along."""
    so = dict(storage_options or {})
    if bundle is None:
        from ...default_model import default_bundle_path

        bundle = default_bundle_path()
    if deps.is_url(bundle):
        files = _read_url_files(str(bundle), so)
        with _materialized(files) as d:
            b = load_bundle(d)
            b.model_path(precision)  # the precision exists
        where = str(bundle)
    else:
        b = load_bundle(bundle)
        b.model_path(precision)  # the precision exists
        where = str(Path(bundle).resolve())
        files = None
        if ship:
            files = {MANIFEST: (b.path / MANIFEST).read_bytes()}
            files.update({name: (b.path / name).read_bytes() for name in b.manifest["files"]})
            # the files read now must be the ones load_bundle checked
            for name, digest in b.manifest["files"].items():
                if sha256_bytes(files[name]) != digest:
                    raise BundleError(f"{b.path / name}: changed while it was being read; try again")
    manifest = files[MANIFEST] if files is not None else (Path(where) / MANIFEST).read_bytes()
    precision = precision or b.default_precision
    # storage options (credentials) travel with the job only when the workers need them to read the bundle
    ref = BundleRef(sha256_bytes(manifest), precision, threads, list(b.labelset.names),
                    None if ship else where, {} if ship else so)
    return ref, (files if ship else None)


# Per worker process: loaded classifiers (LRU, a few bundles at most), how often each bundle was
# loaded and how many partitions it scored (for tests and the curious: client.run(worker_stats)).
_CACHE: OrderedDict[tuple, object] = OrderedDict()
_CACHE_SIZE = 4
_LOADS: dict[str, int] = {}
_RUNS: dict[str, int] = {}
_LOCK = threading.Lock()


def _load(ref: BundleRef, files: dict[str, bytes] | None):
    if files is None and ref.path is not None and not deps.is_url(ref.path):
        path = Path(ref.path)
        try:
            got = sha256_bytes((path / MANIFEST).read_bytes())
        except OSError:
            got = None
        if got is None:
            raise BundleError(f"{path}: no model bundle at this path on worker {_worker_name()} (ship the bundle, "
                              "or put it on storage every worker sees at the same path)")
        if got != ref.key:
            raise BundleError(f"{path}: the bundle on worker {_worker_name()} is not the client's ({MANIFEST} "
                              "differs); make every worker see the same bundle, or ship it")
        return Classifier.load(path, ref.precision, ref.threads)
    if files is None:
        files = _read_url_files(ref.path, ref.storage_options)
    if sha256_bytes(files[MANIFEST]) != ref.key:
        raise BundleError(f"{ref.path}: the bundle read on worker {_worker_name()} is not the client's "
                          f"({MANIFEST} differs)")
    with _materialized(files) as d:
        return Classifier.load(d, ref.precision, ref.threads)


def classifier_for(ref: BundleRef, files: dict[str, bytes] | None):
    """This process's classifier for ``ref``: loaded on first use, then reused."""
    key = (ref.key, ref.precision, ref.threads)
    with _LOCK:  # tasks on other threads of this worker wait for the one load instead of loading too
        clf = _CACHE.get(key)
        if clf is None:
            clf = _load(ref, files)
            _CACHE[key] = clf
            _LOADS[ref.key] = _LOADS.get(ref.key, 0) + 1
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
        _RUNS[ref.key] = _RUNS.get(ref.key, 0) + 1
        return clf


def worker_stats() -> dict:
    """This process's bundle loads, partitions scored per bundle, and whether torch is imported:
    ``client.run(worker_stats)``."""
    return {"pid": os.getpid(), "loads": dict(_LOADS), "runs": dict(_RUNS), "cached": len(_CACHE),
            "torch": "torch" in sys.modules}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"
