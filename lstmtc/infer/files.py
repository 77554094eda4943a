"""Files put in place atomically, and file digests: the one place lstmtc replaces a file or a
directory, or hashes one.

A crash, a power loss or a failed step leaves either the old file (or directory) or the new one,
never half of one: the new one is written beside the target under a temporary name, flushed to
disk once (one fsync), and renamed over the target.

The rules for every output path (``-o``, ``--html``, ``--out``, a bundle, a run directory):

- a target that is not a regular file is never replaced: a character device or a FIFO
  (``/dev/null``, ``/dev/stdout``, ``mkfifo``) is written through, anything else (a socket, a block
  device) is refused;
- a symlink is followed: its target is replaced, from a temporary file in the target's directory;
- a replaced file keeps its permission bits (and, as root, its owner); a read-only file is refused;
- a path the command reads (``protected_inputs``) is never an output;
- every failure to write (no space, a read-only filesystem, a missing or non-directory parent) is an
  ``OutputError``: one line naming the path.

SIGTERM is Ctrl-C here: ``install_interrupts`` makes both raise ``Interrupted``, so the same
cleanups run (temporary files and directories removed) and the command exits 128 + the signal.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import stat
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from .errors import LstmtcError


class OutputError(LstmtcError, OSError):
    """An output cannot be written where it was asked for; the message names the path. Also an
    OSError, so callers that caught the OS's own error keep working."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM (``install_interrupts``). A BaseException, like KeyboardInterrupt, so that
    only cleanups run on its way out; ``exit_code`` is 128 + the signal (130, 143)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def install_interrupts(*signums: int) -> None:
    """Make SIGINT and SIGTERM (or ``signums``) raise ``Interrupted`` (main thread only); a signal
    the process was started ignoring (a background job's SIGINT) stays ignored."""
    for signum in signums or (signal.SIGINT, signal.SIGTERM):
        try:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, _raise_interrupted)
        except ValueError:  # not the main thread
            return


# Errors of writing that are about the output, not the program: reported as one line.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}

_INPUTS: list[tuple[tuple[int, int], Path]] = []  # ((device, inode), real path) of what the command reads


@contextmanager
def protected_inputs(*paths):
    """While the block runs, the files (and directories) named are inputs: no output may replace
    one of them, and no output directory may hold one. '-', globs and URLs are skipped."""
    added = []
    for p in paths:
        if p is None or str(p) in ("", "-"):
            continue
        try:
            st = os.stat(p)
        except (OSError, ValueError):
            continue  # a glob or a URL, or a missing file the reader reports itself
        if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            added.append(((st.st_dev, st.st_ino), Path(os.path.realpath(p))))
    _INPUTS.extend(added)
    try:
        yield
    finally:
        for entry in added:
            _INPUTS.remove(entry)


def _is_input(st: os.stat_result) -> bool:
    return any(key == (st.st_dev, st.st_ino) for key, _ in _INPUTS)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _through_proc(path: Path) -> bool:
    """Whether ``path`` names a file descriptor (/dev/stdout, /dev/fd/N, /proc/self/fd/N) by way of
    a symlink chain: what it reaches is written through, never replaced."""
    p, seen = str(path), 0
    while seen < 40:
        if p.startswith(("/proc/", "/dev/fd/")):
            return True
        if not os.path.islink(p):
            return False
        p = os.path.join(os.path.dirname(p), os.readlink(p))
        seen += 1
    return False


def file_in_the_way(path: str | os.PathLike) -> Path | None:
    """The first ancestor of ``path`` that exists and is not a directory (so ``path`` cannot be made)."""
    for parent in reversed(Path(path).parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def reason(error: OSError) -> str:
    return error.strerror or str(error)


def check_parent(path: Path, shown) -> None:
    """A one-line OutputError unless ``path``'s directory exists."""
    parent = path.parent
    if parent.is_dir():
        return
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise OutputError(f"{shown}: {blocker} is a file, not a directory")
    raise OutputError(f"{shown}: directory {parent} does not exist")


def resolve_output(path: str | os.PathLike) -> tuple[Path, bool]:
    """(the path to write, whether to write through it): the rules of the module docstring, checked
    before anything is written. Refusals are one-line ``OutputError``s."""
    shown = os.fspath(path)
    path = Path(path)
    if _through_proc(path.absolute()):
        return path, True
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        check_parent(real, shown)
        return real, False
    except OSError as e:
        raise OutputError(f"{shown}: cannot write it ({reason(e)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{shown}: is a directory; give a file name to write to")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return path, True
    if not stat.S_ISREG(st.st_mode):
        kind = "a socket" if stat.S_ISSOCK(st.st_mode) else "a block device" if stat.S_ISBLK(st.st_mode) else \
            "not a regular file"
        raise OutputError(f"{shown}: is {kind}; lstmtc writes regular files, character devices and FIFOs")
    if _is_input(st):
        raise OutputError(f"{shown}: is also an input of this command; write the output to another file")
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise OutputError(f"{shown}: is read-only; remove it or make it writable first")
    return real, False


@contextmanager
def writing(path):
    """Turn an OS error of writing ``path`` (no space, read-only filesystem, ...) into a one-line
    OutputError naming it."""
    try:
        yield
    except OSError as e:
        if isinstance(e, BrokenPipeError) or e.errno not in WRITE_ERRNOS:
            raise
        raise OutputError(f"{os.fspath(path)}: cannot write it ({reason(e)})") from None


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; if the block succeeds, flush that file to disk and
    rename it over ``path``, otherwise remove it. A device or FIFO is yielded as it is (written
    through); a symlink's target is the file replaced (see the module docstring)."""
    with _atomic(path) as (tmp, _):
        yield tmp


@contextmanager
def _atomic(path: str | os.PathLike):
    target, through = resolve_output(path)
    if through:
        with writing(path):
            yield target, True
        return
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    tmp = None
    try:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        except OSError as e:
            raise OutputError(f"{os.fspath(path)}: cannot create a file beside it ({reason(e)})") from None
        os.close(fd)
        with writing(path):
            yield Path(tmp), False
            # mkstemp creates 0600: give the result the replaced file's permissions, or those any new
            # file would get.
            os.chmod(tmp, stat.S_IMODE(old.st_mode) if old else 0o666 & ~_umask())
            if old is not None and os.geteuid() == 0:
                os.chown(tmp, old.st_uid, old.st_gid)
            # Flushed before the rename, so a power loss cannot leave the name pointing at an empty file.
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs):
    """``open`` on ``atomic_path``: the file object of the temporary file, or of the device, FIFO or
    descriptor written through (opened for appending: ``-o /dev/stdout`` never truncates what the
    shell's ``>>`` points at)."""
    with _atomic(path) as (tmp, through):
        with open(tmp, mode.replace("w", "a") if through else mode, **kwargs) as f:
            yield f


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def _is_taken(error: OSError) -> bool:
    return error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR)


def replace_directory(tmp: str | os.PathLike, target: str | os.PathLike, replace: bool = True,
                      exists_hint: str = "") -> None:
    """Rename the finished directory ``tmp`` (beside ``target``) to ``target``, in one rename: of two
    runs publishing the same new ``target`` exactly one wins. An empty ``target`` is replaced; a
    non-empty one is moved aside first and removed after (put back if the rename fails) when
    ``replace``, else the run fails with 'already exists'."""
    tmp, target = Path(tmp), Path(target)
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp creates 0700
    for _ in range(5):  # a concurrent replacing run can put a new target in place between the steps
        try:
            os.replace(tmp, target)  # replaces an empty directory, never a non-empty one or a file
            return
        except OSError as e:
            if not _is_taken(e):
                raise
            if not replace or not target.is_dir() or target.is_symlink():
                hint = f"; {exists_hint}" if exists_hint else ""
                raise OutputError(f"{target} already exists{hint}") from None
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.replace(target, old)
        except FileNotFoundError:
            continue
        try:
            os.replace(tmp, target)
        except OSError:
            os.replace(old, target)  # put the previous one back, and try again
            continue
        shutil.rmtree(old, ignore_errors=True)
        return
    raise OutputError(f"{target}: other runs keep replacing it; try again")


def resolve_directory(target: str | os.PathLike) -> Path:
    """The directory to publish for ``target`` (a symlink followed), if it may be: not a file, not
    read-only, holding no input of this command, in an existing directory."""
    shown = os.fspath(target)
    real = Path(os.path.realpath(target))
    if real.exists():
        if not real.is_dir():
            raise OutputError(f"{shown}: exists and is not a directory")
        st = os.stat(real)
        if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
            raise OutputError(f"{shown}: is read-only; remove it or make it writable first")
    for _, p in _INPUTS:
        if p == real or real in p.parents:
            raise OutputError(f"{shown}: holds {p}, an input of this command; write the output elsewhere")
    check_parent(real, shown)
    return real


@contextmanager
def atomic_directory(target: str | os.PathLike, replace: bool = True, exists_hint: str = ""):
    """Yield a new temporary directory beside ``target`` (``.<name>.tmp-*``); if the block succeeds,
    it becomes ``target`` (``replace_directory``), otherwise it is removed with what it holds."""
    real = resolve_directory(target)
    tmp = None
    try:
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.tmp-", dir=real.parent))
        except OSError as e:
            raise OutputError(f"{os.fspath(target)}: cannot create a directory beside it ({reason(e)})") from None
        with writing(target):
            yield tmp
            replace_directory(tmp, real, replace, exists_hint)
    except BaseException:
        if tmp is not None:
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
