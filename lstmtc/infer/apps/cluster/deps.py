"""The Dask engine's optional dependencies, imported when a function needs them: a missing one is
a one-line MissingExtraError naming the extra to install."""

from __future__ import annotations

import os

from ...errors import MissingExtraError


def dask_dataframe():
    try:
        import dask  # noqa: F401
        import dask.dataframe as dd
    except ImportError:
        raise MissingExtraError("dask", "dask") from None
    return dd


def distributed():
    try:
        import distributed
    except ImportError:
        raise MissingExtraError("dask", "distributed") from None
    return distributed


def fsspec():
    try:
        import fsspec
    except ImportError:
        raise MissingExtraError("dask", "fsspec") from None
    return fsspec


def is_url(path: str | os.PathLike | None) -> bool:
    return isinstance(path, str) and "://" in path and not path.startswith("file://")
