"""Line input for lstmtc-classify: byte streams -> batches of decoded lines.

Flush rule: a batch is scored when it holds ``batch_size`` lines, when the input has nothing
more to give right now (the writer paused: ``tail -f``, a person typing), or at end of input.
So a pipe from a file is scored in full batches, and a line that arrives alone is answered at
once instead of waiting for the batch to fill.
"""

from __future__ import annotations

import os
import select
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .errors import DataError

READ_SIZE = 1 << 16


@dataclass
class Decoder:
    """UTF-8 decoding with the CLI's policy: invalid bytes become U+FFFD and the first bad line
    is reported once, or (strict) the first bad line is an error."""

    source: str
    strict: bool = False
    warn: Callable[[str], None] | None = None
    first_bad_line: int | None = None

    def __call__(self, raw: bytes, line_no: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if self.strict:
                raise DataError(
                    f"{self.source}:{line_no}: not valid UTF-8 (byte {e.start}: {e.reason}); "
                    "re-encode the input or drop --strict to replace bad bytes"
                ) from None
            if self.first_bad_line is None:
                self.first_bad_line = line_no
                if self.warn:
                    self.warn(f"warning: {self.source}:{line_no}: invalid UTF-8 replaced with U+FFFD "
                              "(first such line; --strict makes this an error)")
            return raw.decode("utf-8", errors="replace")


def clean_line(raw: bytes, line_no: int) -> bytes:
    """Strip the line ending (LF or CRLF) and, on the first line, a UTF-8 byte-order mark."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw


def _pending(fd: int) -> bool:
    """True when more input can be read from ``fd`` without blocking."""
    try:
        ready, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return True  # not selectable (e.g. a regular file on some platforms): keep reading
    return bool(ready)


def _reader(source: int | BinaryIO) -> tuple[Callable[[], bytes], Callable[[], bool]]:
    """(read, pending) for a file descriptor or a binary stream without one (an embedding host's
    replacement ``sys.stdin``, an in-memory buffer): such streams are read to the end as they are."""
    if isinstance(source, int):
        return (lambda: os.read(source, READ_SIZE)), (lambda: _pending(source))
    read = getattr(source, "read1", None) or source.read
    return (lambda: read(READ_SIZE)), (lambda: True)


def batched_lines(source: int | BinaryIO, batch_size: int, decode: Decoder,
                  on_bytes: Callable[[int], None] | None = None, wait_for_more: bool = True
                  ) -> Iterator[list[str]]:
    """Yield lists of decoded lines (without line endings) read from ``source``, a file descriptor
    or a binary stream."""
    read, pending = _reader(source)
    batch: list[str] = []
    pieces: list[bytes] = []  # an unfinished line; kept as pieces so a 10 MB line is not re-copied per read
    line_no = 0
    while True:
        chunk = read()
        if on_bytes and chunk:
            on_bytes(len(chunk))
        if not chunk:
            if pieces:
                line_no += 1
                batch.append(decode(clean_line(b"".join(pieces), line_no), line_no))
            if batch:
                yield batch
            return
        nl = chunk.find(b"\n")
        if nl < 0:
            pieces.append(chunk)
            if batch and wait_for_more and not pending():
                yield batch
                batch = []
            continue
        data = b"".join(pieces) + chunk if pieces else chunk
        pieces = []
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            line_no += 1
            batch.append(decode(clean_line(data[start:nl + 1], line_no), line_no))
            start = nl + 1
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if start < len(data):
            pieces.append(data[start:])
        if batch and wait_for_more and not pending():
            yield batch
            batch = []
