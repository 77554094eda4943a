"""Files put in place atomically, and file digests: the one place lstmtc replaces a file or a
directory, or hashes one.

A crash, a power loss or a failed step leaves either the old file (or directory) or the new one,
never half of one: the new one is written beside the target under a temporary name, flushed to
disk once (one fsync), and renamed over the target.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; if the block succeeds, flush that file to disk and
    rename it over ``path``, otherwise remove it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates 0600; give the result the permissions any new file would get.
        os.chmod(tmp, 0o666 & ~_umask())
        # Flushed before the rename, so a power loss cannot leave the name pointing at an empty file.
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def replace_directory(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Rename the finished directory ``tmp`` (beside ``target``) to ``target``. An earlier, non-empty
    ``target`` is moved aside first, put back if the rename fails, and removed after it."""
    tmp, target = Path(tmp), Path(target)
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp creates 0700
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)  # put the previous one back
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_directory(target: str | os.PathLike):
    """Yield a new temporary directory beside ``target`` (``.<name>.tmp-*``); if the block succeeds,
    it replaces ``target`` (``replace_directory``), otherwise it is removed with what it holds."""
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent if str(target.parent) else "."))
    try:
        yield tmp
        replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    return file_digest(path, "sha256")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
