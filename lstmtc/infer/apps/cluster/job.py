"""``score_files``: a CSV/TSV dataset scored on a Dask cluster into an output directory.

Output directory layout
    ``out/part-00000.csv`` (``.tsv`` for tab-separated input, ``.parquet`` with ``fmt="parquet"``),
    one per input file in sorted path order, written by the same table writer as single-machine
    mode (the same bytes), plus ``out/_SUCCESS`` (JSON: source file and row count of every part,
    columns, bundle). Everything is written into a hidden ``.<out>.tmp-*`` directory beside ``out``
    and renamed to ``out`` only when every part is written, so a failed or killed run never leaves a
    directory that looks complete; ``out`` must be new, empty, or an earlier output of this command
    (which is then replaced). Each part is written to a temporary name and renamed, so a worker
    killed mid-write leaves no half part. The output directory must be reachable at the same path
    from the client and every worker (local disk for a LocalCluster, shared storage otherwise).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from ...data.writers import TableWriter, check_columns, format_prob, prediction_columns
from ...errors import DataError, LstmtcError
from ...files import atomic_directory, atomic_path, protected_inputs, resolve_directory
from . import deps
from .models import bundle_ref
from .scoring import DEFAULT_BATCH, score_partitions
from .tables import WARN_TOPIC, read_csv, read_table

SUCCESS = "_SUCCESS"
_PART = re.compile(r"part-\d{5,}\.(csv|tsv|parquet)")
log = logging.getLogger(__name__)


def _write_partition(df, directory: str, fmt: str, header, delimiter: str, quoting: str,
                     prob_columns: Sequence[str], partition_info=None):
    """Write one scored partition as ``part-NNNNN`` (atomically: a retried task rewrites it whole)."""
    import pandas as pd

    number = partition_info["number"] if partition_info else 0
    ext = "parquet" if fmt == "parquet" else ("tsv" if delimiter == "\t" else "csv")
    name = f"part-{number:05d}.{ext}"
    with atomic_path(os.path.join(directory, name)) as tmp:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                writer = TableWriter(f, [], delimiter, quoting=quoting)
                cells = df.copy()
                for c in prob_columns:  # as single-machine mode formats them; blank for a blank text
                    cells[c] = [format_prob(v) for v in cells[c].tolist()]
                writer.write(([header] if header else []) + cells.values.tolist())
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
    return resolve_directory(p)


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
    distributed = deps.distributed()
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
                header: bool | None = None, delimiter: str | None = None, quoting: str | None = None,
                encoding: str | None = None, prob: bool = False,
                precision: str | None = None, threads: int | None = 1, batch_size: int = DEFAULT_BATCH,
                strict: bool = False, fmt: str = "csv", scheduler: str | None = None, workers: int | None = None,
                output_prefix: str = "",
                client=None, ship: bool = True, storage_options: dict | None = None,
                warn: Callable[[str], None] | None = None) -> dict:
    """Score the CSV/TSV files ``pattern`` names on a Dask cluster into the directory ``out``.

    The cluster: ``client`` if given, else the one at ``scheduler``, else a LocalCluster of
    ``workers`` processes. Everything that can be checked on the client (the output directory,
    the files, the columns, the bundle) is checked before a cluster starts. Returns the summary
    that is also written to ``out/_SUCCESS``."""
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    deps.dask_dataframe()
    deps.distributed()
    target = check_output_dir(out)
    ref, files = bundle_ref(bundle, precision, threads, ship, storage_options)
    extra = prediction_columns(ref.labels, 1, prob, output_prefix)
    table = read_table(pattern, text_column, title_column, header, delimiter, strict, storage_options,
                       reserved=extra, quoting=quoting, encoding=encoding)
    check_columns(table.header, ref.labels, 1, prob, table.paths[0], output_prefix)
    if fmt == "parquet" and table.header is not None and table.names != table.header:
        raise DataError(f"{table.paths[0]}: Parquet needs unique, non-empty column names and the header has "
                        f"duplicates, blanks or one of {', '.join(extra)}; use --format csv or rename the column")
    header_out = (table.header + extra) if table.header is not None else False
    run_id = uuid.uuid4().hex
    with protected_inputs(*table.paths), atomic_directory(target) as tmp:
        with (_existing(client) if client is not None else cluster_client(scheduler, workers)) as c:
            t0 = time.perf_counter()
            ddf = read_csv(table, run_id)
            scored = score_partitions(ddf, ref, files, table.text_column, table.title_column, 1, prob, batch_size,
                                      output_prefix)
            import pandas as pd

            written = scored.map_partitions(
                _write_partition, str(tmp), fmt, header_out, table.delimiter, table.quoting, extra[1:],
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
        for p in tmp.iterdir():  # parts left half-written by killed tasks
            if p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)
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
