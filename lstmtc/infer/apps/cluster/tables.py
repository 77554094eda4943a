"""A CSV/TSV dataset for the Dask engine: the files a path, glob or fsspec URL names, resolved on
the client, and read one partition per file on the workers by the one reader (``lstmtc.infer.data``).

Columns are resolved from the first record of the first non-empty file exactly as in
single-machine mode (header detection, names, 1-based numbers with ``header=False``); every value
round-trips exactly (UTF-8 with U+FFFD replacement or ``strict``, a leading BOM dropped, quoted
newlines kept). Every row has the first record's field count, blank lines carry no record, and
every file with a header must repeat the first file's header. Compressed inputs (``.gz`` ...) are
read through fsspec.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ...data.columns import open_table, rectangular
from ...data.reader import REPLACE_HINT, records
from ...errors import DataError
from . import deps

WARN_TOPIC = "lstmtc-warning"
log = logging.getLogger(__name__)


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
    quoting: str = "csv"
    encoding: str | None = None


def expand(pattern: str, storage_options: dict | None = None) -> list[str]:
    """The files a path, glob or fsspec URL names, sorted; local paths made absolute."""
    import glob
    import os

    so = dict(storage_options or {})
    if not deps.is_url(pattern):
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
    fsspec = deps.fsspec()
    try:
        files = fsspec.open_files(pattern, "rb", **so)
    except (OSError, ValueError) as e:
        raise DataError(f"{pattern}: cannot list it ({e})") from None
    paths = sorted(f.full_name for f in files)
    if not paths:
        raise DataError(f"{pattern}: no file matches")
    return paths


def opener(storage_options: dict) -> Callable:
    """The reader's ``opener`` for fsspec paths and URLs: compression inferred from the name."""
    fsspec = deps.fsspec()
    return lambda path: fsspec.open(path, "rb", compression="infer", **storage_options).open()


def read_table(pattern: str, text_column: str | int | None = None, title_column: str | int | None = None,
               header: bool | None = None, delimiter: str | None = None, strict: bool = False,
               storage_options: dict | None = None, reserved: Sequence[str] = (), quoting: str | None = None,
               encoding: str | None = None) -> CsvTable:
    """Find the files and resolve the columns from the first record of the first non-empty file,
    with the single-machine rules. Column names are the header's when they are unique, non-empty
    and not in ``reserved``, else the 1-based column numbers as strings ("1", "2", ...)."""
    so = dict(storage_options or {})
    paths = expand(pattern, so)
    for p in paths:
        table = open_table(p, header=header, text_column=text_column, title_column=title_column, delimiter=delimiter,
                           quoting=quoting, strict=strict, opener=opener(so), hint=REPLACE_HINT, encoding=encoding)
        if table is not None:
            table.rows.close()
            break
    else:
        raise DataError(f"{pattern}: every file is empty" if len(paths) > 1 else f"{paths[0]}: the file is empty")
    cols, row = table.columns, table.header
    width = cols.width
    names = [str(i + 1) for i in range(width)]
    if row is not None and len(set(row)) == width and all(row) and not set(row) & set(reserved):
        names = list(row)
    return CsvTable(paths, names, table.header, names[cols.text], None if cols.title is None else names[cols.title],
                    table.delimiter, strict, so, table.quoting, encoding)


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

    rows = records(path, delimiter=table.delimiter, quoting=table.quoting, strict=table.strict,
                   warn=_warn_remote(run_id), opener=opener(table.storage_options), hint=REPLACE_HINT,
                   encoding=table.encoding)
    if table.header is not None:
        got = next(rows, None)
        if got is not None and got[1] != table.header:
            raise DataError(f"{path}:{got[0]}: header differs from the first file's ({', '.join(table.header)}); "
                            "every file of the dataset needs the same columns")
    like = "the header" if table.header is not None else "the first row"
    cols: list[list[str]] = [[] for _ in table.names]
    for _, row in rectangular(rows, len(table.names), path, like):
        for c, v in zip(cols, row):
            c.append(v)
    return pd.DataFrame({n: pd.Series(c, dtype=object) for n, c in zip(table.names, cols)})


def read_csv(table: CsvTable, run_id: str | None = None):
    """A dask DataFrame of string columns, one partition per file, parsed on the workers."""
    import pandas as pd

    dd = deps.dask_dataframe()
    meta = pd.DataFrame({n: pd.Series([], dtype=object) for n in table.names})
    return dd.from_map(_read_partition, table.paths, table=table, run_id=run_id or uuid.uuid4().hex, meta=meta,
                       enforce_metadata=False)
