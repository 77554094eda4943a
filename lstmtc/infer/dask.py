"""Scale-out batch scoring on a Dask cluster: ``lstmtc-classify --engine dask`` and its Python API.

Needs the ``dask`` extra (``pip install 'lstmtc[dask]'``: dask[dataframe] and distributed) on the
client and on every worker; dask is imported only when one of these functions runs, so
``import lstmtc.infer`` works without it. Torch is never imported, on the client or on workers.

Python API
    ``score(ddf, bundle, text_column=..., k=1, prob=False)`` -> a lazy dask DataFrame: every input
    column, then ``label`` (``label_1``..``label_k`` for k > 1), then with ``prob`` one float32
    ``prob_<class>`` column per class. A missing or blank text gets an empty label and NaN
    probabilities. Partitions are scored with ``map_partitions``; row order within a partition is kept.

    ``score_files(pattern, out, ...)`` is what the CLI runs: read a CSV/TSV dataset (a path, a glob or
    an fsspec URL), score it, and write one file per input file into the directory ``out``.

How the bundle reaches the workers
    ``ship=True`` (the default, and what the CLI does): the client reads the bundle once (a local
    directory or an fsspec URL such as ``s3://bucket/models/p2``), checks every file's SHA-256, and
    the files travel to the cluster as one dask key; each worker receives them once and loads them.
    ``ship=False``: the workers open the bundle themselves, at the same path (shared storage) or
    URL; a worker whose copy differs from the client's (another ``bundle.json``) refuses it.
    Either way each worker process loads the bundle once and keeps one onnxruntime session for it
    (a per-process cache keyed by the SHA-256 of ``bundle.json``, precision and threads), reused
    by every partition and every later run on a long-lived worker.

Reading (``score_files`` / ``read_csv``)
    One partition per input file, parsed on the workers by the same code as the single-machine
    CSV mode (Python's csv module; UTF-8 with U+FFFD replacement or ``strict``; a leading BOM
    dropped; quoted newlines kept), so every value round-trips exactly. Columns are resolved
    from the first record of the first non-empty file exactly as in single-machine mode (header
    detection, names, 1-based numbers with ``header=False``). Differences: the table must be
    rectangular (a row with another number of fields than the first record is an error naming
    file:line; single-machine mode passes such rows through when they hold the text column),
    blank lines carry no record and are skipped, and every file with a header must repeat the
    first file's header. Compressed inputs (``.gz`` ...) are read through fsspec.

Output directory layout (``score_files``)
    ``out/part-00000.csv`` (``.tsv`` for tab-separated input, ``.parquet`` with ``fmt="parquet"``),
    one per input file in sorted path order, plus ``out/_SUCCESS`` (JSON: source file and row count
    of every part, columns, bundle). Everything is written into a hidden ``.<out>.tmp-*`` directory
    beside ``out`` and renamed to ``out`` only when every part is written, so a failed or killed run
    never leaves a directory that looks complete; ``out`` must be new, empty, or an earlier output
    of this command (which is then replaced). Each part is written to a temporary name and renamed,
    so a worker killed mid-write leaves no half part. The output directory must be reachable at the
    same path from the client and every worker (local disk for a LocalCluster, shared storage for a
    remote cluster).

Failure behaviour
    A worker that dies mid-run (killed, out of memory) is handled by Dask: its tasks and any lost
    results are recomputed on the remaining workers (a LocalCluster's nanny also restarts it), and
    since every part is written whole under its final name, the output is complete and identical
    to a run without failures. A bad input row is a DataError naming file:line that stops the run
    (no retries for it) and leaves no output directory, as in single-machine mode.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmtc.infer.bundle import MANIFEST, load_bundle
from lstmtc.infer.classifier import top_k
from lstmtc.infer.csvscore import text_lines
from lstmtc.infer.data import delimiter_for, resolve_columns
from lstmtc.infer.errors import BundleError, DataError, LstmtcError, MissingExtraError, reading
from lstmtc.infer.stream import Decoder

csv.field_size_limit(2**31 - 1)

DEFAULT_BATCH = 64
SUCCESS = "_SUCCESS"
WARN_TOPIC = "lstmtc-warning"
_PART = re.compile(r"part-\d{5,}\.(csv|tsv|parquet)")
log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------- optional imports


def _dd():
    try:
        import dask  # noqa: F401
        import dask.dataframe as dd
    except ImportError:
        raise MissingExtraError("dask", "dask") from None
    return dd


def _distributed():
    try:
        import distributed
    except ImportError:
        raise MissingExtraError("dask", "distributed") from None
    return distributed


def _fsspec():
    try:
        import fsspec
    except ImportError:
        raise MissingExtraError("dask", "fsspec") from None
    return fsspec


def _is_url(path: str | os.PathLike | None) -> bool:
    return isinstance(path, str) and "://" in path and not path.startswith("file://")


# --------------------------------------------------------------------------------- the bundle


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


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_url_files(url: str, storage_options: dict) -> dict[str, bytes]:
    """The files of a bundle at an fsspec URL: ``bundle.json`` and every file it lists."""
    fsspec = _fsspec()
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
        from lstmtc.infer.default_model import default_bundle_path

        bundle = default_bundle_path()
    if _is_url(bundle):
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
                if _sha(files[name]) != digest:
                    raise BundleError(f"{b.path / name}: changed while it was being read; try again")
    manifest = files[MANIFEST] if files is not None else (Path(where) / MANIFEST).read_bytes()
    precision = precision or b.manifest.get("default_precision", "fp32")
    # storage options (credentials) travel with the job only when the workers need them to read the bundle
    ref = BundleRef(_sha(manifest), precision, threads, list(b.labelset.names),
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
    from lstmtc.infer.classifier import Classifier

    if files is None and ref.path is not None and not _is_url(ref.path):
        path = Path(ref.path)
        try:
            got = _sha((path / MANIFEST).read_bytes())
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
    if _sha(files[MANIFEST]) != ref.key:
        raise BundleError(f"{ref.path}: the bundle read on worker {_worker_name()} is not the client's "
                          f"({MANIFEST} differs)")
    with _materialized(files) as d:
        return Classifier.load(d, ref.precision, ref.threads)


def _classifier(ref: BundleRef, files: dict[str, bytes] | None):
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


# --------------------------------------------------------------------------------- scoring


def output_columns(labels: Sequence[str], k: int = 1, prob: bool = False) -> list[str]:
    """The columns ``score`` appends: ``label`` (or ``label_1``..``label_k``), then ``prob_<class>``."""
    k = min(k, len(labels))
    names = ["label"] if k == 1 else [f"label_{i}" for i in range(1, k + 1)]
    return names + ([f"prob_{n}" for n in labels] if prob else [])


def _as_text(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, str):
        return v
    try:
        import pandas as pd

        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


def _texts(df, text_column, title_column) -> list[str | None]:
    """Each row's document (title + " " + text as in single-machine mode), None where it is blank."""
    texts = [_as_text(v) for v in df[text_column].tolist()]
    if title_column is not None:
        texts = [_as_text(t) + " " + x for t, x in zip(df[title_column].tolist(), texts)]
    return [t if t.strip() else None for t in texts]


def _append(df, probs: np.ndarray, live: np.ndarray, labels: Sequence[str], k: int, prob: bool):
    import pandas as pd

    out = df.copy()
    names = output_columns(labels, k, prob)
    order = top_k(probs, k)[0]
    k = order.shape[1]
    for j in range(k):
        out[names[j]] = pd.Series([labels[i] if ok else "" for i, ok in zip(order[:, j].tolist(), live.tolist())],
                                  index=df.index, dtype=object)
    if prob:
        for j, name in enumerate(names[k:]):
            out[name] = pd.Series(probs[:, j], index=df.index, dtype=np.float32)
    return out


def _score_partition(df, ref: BundleRef, files, text_column, title_column, k: int, prob: bool, batch_size: int):
    clf = _classifier(ref, files)
    texts = _texts(df, text_column, title_column)
    n = len(texts)
    probs = np.full((n, len(ref.labels)), np.nan, dtype=np.float32)
    live = np.array([t is not None for t in texts], dtype=bool)
    # Batches of batch_size rows, the blank ones left out: the same batches as single-machine mode
    # makes of the same file, so the very same onnxruntime calls produce the probabilities.
    for start in range(0, n, batch_size):
        idx = [i for i in range(start, min(n, start + batch_size)) if live[i]]
        if idx:
            probs[idx] = clf.predict_proba([texts[i] for i in idx])
    return _append(df, probs, live, ref.labels, k, prob)


def score(ddf, bundle: str | os.PathLike | None = None, *, text_column, title_column=None, k: int = 1,
          prob: bool = False, precision: str | None = None, threads: int | None = 1,
          batch_size: int = DEFAULT_BATCH, ship: bool = True, storage_options: dict | None = None):
    """Score a dask DataFrame lazily: every input column, then ``label`` (``label_1``..``label_k``
    best first for k > 1), then with ``prob`` one float32 ``prob_<class>`` column per class.

    ``bundle``: a bundle directory, an fsspec URL of one, or None for the model shipped with lstmtc.
    ``text_column`` (and ``title_column``, joined in front as title + " " + text) name columns of
    ``ddf``; missing values count as empty, and a blank document gets an empty label and NaN
    probabilities. ``threads``: onnxruntime intra-op threads per worker (1 suits one worker process
    per core). ``ship``: send the bundle's files with the graph (True) or let workers open
    ``bundle`` themselves (False; shared storage or a URL). Read string columns with
    ``dtype=str, keep_default_na=False`` to keep values exactly as in the file. (A shipped bundle
    of several MB makes distributed warn "Sending large graph" once; it is sent once, not per task.)
    """
    _dd()
    if k < 1:
        raise ValueError("k must be at least 1")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    columns = list(ddf.columns)
    for role, col in (("text", text_column), ("title", title_column)):
        if col is not None and col not in columns:
            raise DataError(f"no {role} column {col!r}; the columns are: {', '.join(map(str, columns))}")
    if title_column == text_column:
        title_column = None
    ref, files = bundle_ref(bundle, precision, threads, ship, storage_options)
    clash = [c for c in output_columns(ref.labels, k, prob) if c in columns]
    if clash:
        raise DataError(f"the input already has column(s) {', '.join(map(repr, clash))}, which scoring adds; "
                        "rename them first")
    return _score(ddf, ref, files, text_column, title_column, k, prob, batch_size)


def _score(ddf, ref: BundleRef, files: dict[str, bytes] | None, text_column, title_column, k: int, prob: bool,
           batch_size: int):
    payload = None
    if files is not None:
        import dask

        payload = dask.delayed(files, pure=True)  # one key: each worker fetches it once and keeps it
    meta = _append(ddf._meta, np.zeros((0, len(ref.labels)), dtype=np.float32), np.zeros(0, dtype=bool),
                   ref.labels, k, prob)
    return ddf.map_partitions(_score_partition, ref, payload, text_column, title_column, k, prob, batch_size,
                              meta=meta, enforce_metadata=False)


# --------------------------------------------------------------------------------- reading CSV/TSV


@dataclass
class CsvTable:
    """A CSV/TSV dataset resolved on the client: the files, the dataframe's column names, and the
    header row to write back (None for a headerless dataset)."""

    paths: list[str]
    names: list[str]
    header: list[str] | None
    text_column: str
    title_column: str | None
    delimiter: str
    strict: bool = False
    storage_options: dict = field(default_factory=dict)


def expand(pattern: str, storage_options: dict | None = None) -> list[str]:
    """The files a path, glob or fsspec URL names, sorted; local paths made absolute."""
    so = dict(storage_options or {})
    if not _is_url(pattern):
        import glob

        local = os.path.abspath(os.path.expanduser(pattern.removeprefix("file://")))
        if glob.has_magic(local):
            paths = sorted(p for p in glob.glob(local) if os.path.isfile(p))
        elif os.path.isdir(local):
            raise DataError(f"{pattern}: is a directory; give a file or a glob such as '{pattern.rstrip('/')}/*.csv'")
        else:
            paths = [local] if os.path.exists(local) else []
        if not paths:
            raise DataError(f"{pattern}: no such file" if not glob.has_magic(local) else f"{pattern}: no file matches")
        return paths
    fsspec = _fsspec()
    try:
        files = fsspec.open_files(pattern, "rb", **so)
    except (OSError, ValueError) as e:
        raise DataError(f"{pattern}: cannot list it ({e})") from None
    paths = sorted(f.full_name for f in files)
    if not paths:
        raise DataError(f"{pattern}: no file matches")
    return paths


@contextmanager
def _open(path: str, storage_options: dict):
    fsspec = _fsspec()
    with reading(path, "a CSV or TSV file"):
        f = fsspec.open(path, "rb", compression="infer", **storage_options).open()
    try:
        yield f
    finally:
        f.close()


def _records(path: str, delimiter: str, strict: bool, storage_options: dict,
             warn: Callable[[str], None] | None) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of every non-blank record, decoded and parsed as single-machine mode does."""
    with _open(path, storage_options) as raw:
        reader = csv.reader(text_lines(raw, Decoder(path, strict, warn)), delimiter=delimiter)
        start = 1
        try:
            for row in reader:
                line, start = start, reader.line_num + 1
                if row:
                    yield line, row
        except csv.Error as e:
            raise DataError(f"{path}:{start}: malformed CSV ({e})") from None


def read_table(pattern: str, text_column: str | int | None = None, title_column: str | int | None = None,
               header: bool | None = None, delimiter: str | None = None, strict: bool = False,
               storage_options: dict | None = None, reserved: Sequence[str] = ()) -> CsvTable:
    """Find the files and resolve the columns from the first record of the first non-empty file,
    with the single-machine rules. Column names are the header's when they are unique, non-empty
    and not in ``reserved``, else the 1-based column numbers as strings ("1", "2", ...)."""
    so = dict(storage_options or {})
    paths = expand(pattern, so)
    delim = delimiter_for(paths[0], delimiter)
    first = None
    for p in paths:
        first = next(_records(p, delim, strict, so, None), None)
        if first is not None:
            break
    if first is None:
        raise DataError(f"{pattern}: every file is empty" if len(paths) > 1 else f"{paths[0]}: the file is empty")
    row = first[1]
    cols, has_header = resolve_columns(row, paths[0], header, text_column, title_column, None, need_label=False)
    width = len(row)
    numbers = [str(i + 1) for i in range(width)]
    names = numbers
    if has_header and len(set(row)) == width and all(row) and not set(row) & set(reserved):
        names = list(row)
    return CsvTable(paths, names, list(row) if has_header else None, names[cols.text],
                    None if cols.title is None else names[cols.title], delim, strict, so)


def _warn_remote(run_id: str) -> Callable[[str], None]:
    def warn(msg: str) -> None:
        try:
            from distributed import get_worker

            get_worker().log_event(WARN_TOPIC, {"run": run_id, "msg": msg})
        except (ImportError, ValueError):  # not on a distributed worker
            log.warning(msg)

    return warn


def _read_partition(path: str, table: CsvTable, run_id: str):
    import pandas as pd

    width = len(table.names)
    text_i = table.names.index(table.text_column)
    title_i = table.names.index(table.title_column) if table.title_column is not None else -1
    need = max(text_i, title_i) + 1
    cols: list[list[str]] = [[] for _ in range(width)]
    records = _records(path, table.delimiter, table.strict, table.storage_options, _warn_remote(run_id))
    if table.header is not None:
        got = next(records, None)
        if got is not None and got[1] != table.header:
            raise DataError(f"{path}:{got[0]}: header differs from the first file's ({', '.join(table.header)}); "
                            "every file of the dataset needs the same columns")
    for line, row in records:
        if len(row) != width:
            if len(row) < need:
                raise DataError(f"{path}:{line}: {len(row)} fields, but the text column is number {text_i + 1}; "
                                "check quoting and the delimiter")
            raise DataError(f"{path}:{line}: expected {width} fields (as in the first record), found {len(row)}; "
                            "check quoting and the delimiter")
        for c, v in zip(cols, row):
            c.append(v)
    return pd.DataFrame({n: pd.Series(c, dtype=object) for n, c in zip(table.names, cols)})


def read_csv(table: CsvTable, run_id: str | None = None):
    """A dask DataFrame of string columns, one partition per file, parsed on the workers."""
    import pandas as pd

    dd = _dd()
    meta = pd.DataFrame({n: pd.Series([], dtype=object) for n in table.names})
    return dd.from_map(_read_partition, table.paths, table=table, run_id=run_id or uuid.uuid4().hex, meta=meta,
                       enforce_metadata=False)


# --------------------------------------------------------------------------------- writing


def _write_partition(df, directory: str, fmt: str, header, delimiter: str, prob_columns: Sequence[str],
                     partition_info=None):
    import pandas as pd

    number = partition_info["number"] if partition_info else 0
    ext = "parquet" if fmt == "parquet" else ("tsv" if delimiter == "\t" else "csv")
    name = f"part-{number:05d}.{ext}"
    final = os.path.join(directory, name)
    tmp = f"{final}.{uuid.uuid4().hex}.tmp"
    try:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            out = df.copy()
            for c in prob_columns:  # as single-machine mode formats them; blank for a blank text
                out[c] = pd.Series([f"{v:.6f}" if v == v else "" for v in out[c].tolist()], index=out.index,
                                   dtype=object)
            out.to_csv(tmp, sep=delimiter, index=False, header=header, lineterminator="\n", encoding="utf-8",
                       quoting=csv.QUOTE_MINIMAL)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)  # a retried task rewrites the same part whole
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return pd.DataFrame({"part": [name], "rows": [len(df)]})


def _looks_like_output(path: Path) -> bool:
    names = [p.name for p in path.iterdir()]
    return SUCCESS in names and all(n == SUCCESS or _PART.fullmatch(n) for n in names)


def check_output_dir(out: str | os.PathLike) -> Path:
    """``out`` as an absolute path, if it may be written: new, empty, or an earlier output."""
    p = Path(out).expanduser().absolute()
    if p.exists():
        if not p.is_dir():
            raise DataError(f"{out}: exists and is not a directory (--engine dask writes a directory of part files)")
        if any(p.iterdir()) and not _looks_like_output(p):
            raise DataError(f"{out}: directory is not empty and is not an earlier lstmtc output (no {SUCCESS}); "
                            "give a new or empty directory")
    elif not p.parent.is_dir():
        raise DataError(f"{out}: directory {p.parent} does not exist")
    return p


def _publish(tmp: Path, out: Path) -> None:
    """Rename the finished temporary directory to ``out`` (replacing an earlier output)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    for p in tmp.iterdir():  # parts left half-written by killed tasks
        if p.name.endswith(".tmp"):
            p.unlink(missing_ok=True)
    if out.exists():
        if not any(out.iterdir()):
            out.rmdir()
        else:
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
            return
    os.replace(tmp, out)


# --------------------------------------------------------------------------------- clusters


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@contextmanager
def cluster_client(scheduler: str | None = None, workers: int | None = None):
    """A distributed Client: of the cluster at ``scheduler``, or of a LocalCluster of ``workers``
    processes (default one per core), one thread each; closed on exit."""
    distributed = _distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise LstmtcError(f"cannot connect to the Dask scheduler at {scheduler} ({e})") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = distributed.LocalCluster(n_workers=workers or _cores(), threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    try:
        client = distributed.Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


# --------------------------------------------------------------------------------- the whole job


def score_files(pattern: str, out: str | os.PathLike, bundle: str | os.PathLike | None = None, *,
                text_column: str | int | None = None, title_column: str | int | None = None,
                header: bool | None = None, delimiter: str | None = None, prob: bool = False,
                precision: str | None = None, threads: int | None = 1, batch_size: int = DEFAULT_BATCH,
                strict: bool = False, fmt: str = "csv", scheduler: str | None = None, workers: int | None = None,
                client=None, ship: bool = True, storage_options: dict | None = None,
                warn: Callable[[str], None] | None = None) -> dict:
    """Score the CSV/TSV files ``pattern`` names on a Dask cluster into the directory ``out``.

    The cluster: ``client`` if given, else the one at ``scheduler``, else a LocalCluster of
    ``workers`` processes. Everything that can be checked on the client (the output directory,
    the files, the columns, the bundle) is checked before a cluster starts. Returns the summary
    that is also written to ``out/_SUCCESS``."""
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    _dd()
    _distributed()
    target = check_output_dir(out)
    ref, files = bundle_ref(bundle, precision, threads, ship, storage_options)
    extra = output_columns(ref.labels, 1, prob)
    table = read_table(pattern, text_column, title_column, header, delimiter, strict, storage_options,
                       reserved=extra)
    if fmt == "parquet" and table.header is not None and table.names != table.header:
        raise DataError(f"{table.paths[0]}: Parquet needs unique, non-empty column names and the header has "
                        f"duplicates, blanks or one of {', '.join(extra)}; use --format csv or rename the column")
    header_out = (table.header + extra) if table.header is not None else False
    run_id = uuid.uuid4().hex
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        with (_existing(client) if client is not None else cluster_client(scheduler, workers)) as c:
            t0 = time.perf_counter()
            ddf = read_csv(table, run_id)
            scored = _score(ddf, ref, files, table.text_column, table.title_column, 1, prob, batch_size)
            import pandas as pd

            written = scored.map_partitions(
                _write_partition, str(tmp), fmt, header_out, table.delimiter, extra[1:],
                meta=pd.DataFrame({"part": pd.Series([], dtype=object), "rows": pd.Series([], dtype="int64")}),
                enforce_metadata=False)
            with warnings.catch_warnings():
                # the shipped bundle is one key of a few MB in the graph, sent once: expected
                warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
                stats = _result(c.compute(written))
            seconds = time.perf_counter() - t0
            notes = _warnings(c, run_id)
        parts = [{"file": str(f), "source": src, "rows": int(n)}
                 for f, n, src in zip(stats["part"].tolist(), stats["rows"].tolist(), table.paths)]
        summary = {
            "format": "lstmtc-dask-output", "version": 1,
            "rows": sum(p["rows"] for p in parts), "files": parts,
            "columns": (table.header if table.header is not None else table.names) + extra,
            "header": table.header is not None, "output_format": fmt,
            "bundle": {"sha256": ref.key, "labels": ref.labels, "precision": ref.precision},
            "seconds": round(seconds, 3),
        }
        (tmp / SUCCESS).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        _publish(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for msg in notes:
        (warn or log.warning)(msg)
    return summary


def _result(future):
    """The job's result; Dask's own failures as one-line errors (ours arrive as they were raised)."""
    from distributed import KilledWorker

    try:
        return future.result()
    except LstmtcError:
        raise
    except KilledWorker as e:
        raise LstmtcError(f"Dask gave up on a partition: the workers running it kept dying ({e}); give the "
                          "workers more memory or split the input into smaller files") from None
    except ImportError as e:
        raise LstmtcError(f"a Dask worker cannot import what the job needs ({e}); install lstmtc[dask] "
                          "(the client's version) on every worker") from None


@contextmanager
def _existing(client):
    yield client


def _warnings(client, run_id: str) -> list[str]:
    """Warnings the workers logged during this run (invalid UTF-8 replaced), once each, in file order."""
    try:
        events = client.get_events(WARN_TOPIC)
    except Exception:  # an old scheduler, a closed connection: the output is complete, the notes are extras
        return []
    seen: list[str] = []
    for _, ev in events:
        if isinstance(ev, dict) and ev.get("run") == run_id and ev.get("msg") not in seen:
            seen.append(ev["msg"])
    return sorted(seen)
