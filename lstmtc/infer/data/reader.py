"""The one reader of text input, for every verb: lines (stdin, text files) and CSV/TSV records.

Both are made from the same physical lines of bytes: read in 64 KiB blocks from a file descriptor
or a stream (a file, stdin, a ``.gz`` file in every mode, an fsspec file on the Dask workers), split
at ``\\n``, a UTF-8 byte-order mark dropped from the first line, each line decoded by a ``Decoder``
that names file:line (and the byte offset in the file) when it meets invalid UTF-8. An input that
starts with a UTF-16 or UTF-32 byte-order mark is decoded as such (re-encoded as UTF-8 on the way in),
so its lines and fields are those of its text. An input whose first line ends with a lone CR (old Mac
line endings) has every lone CR read as a line end; in other inputs a lone CR is text.

Lines (``line_batches``, ``read_line``): line endings (LF, CRLF, or CR as above) stripped. From a live input
(stdin, a pipe) a batch is handed on when it holds ``batch_size`` lines, when the input has nothing
more to give right now (the writer paused: ``tail -f``, a person typing), or at the end; from a
regular file, in full batches.

Records (``records``): Python's csv module over the lines (line endings kept, so quoted newlines
stay in their field), delimiter and quoting as ``formats.delimiter_for`` / ``quoting_for`` say, and
strict in the same way for every verb: a quote that runs to the end of the file, or a closing quote
followed by more text (a stray quote whose field swallowed the text after it, often whole lines),
is an error naming the file and the line where the record starts. Blank lines are no records.
Under ``quoting="none"`` (TSV's default) quotes are text and cannot be malformed. Field counts are
checked by ``columns.open_table``.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import select
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO

from ..errors import DataError, reading
from . import formats as file_formats
from .transcode import check_encoding, utf8_reader
from .windows import PAUSE, windows

READ_SIZE = 1 << 16
BIG_BLOCK = 1 << 20  # a block longer than this (a long line) is decoded line by line, without a block-wide copy
BOM = b"\xef\xbb\xbf"
_LONE_CR = re.compile(rb"\r(?!\n)")
CR_WINDOW = 1 << 16  # an input with CRs and no LF in its first 64 KiB ends its lines with CR
# How to get past invalid UTF-8 where replacing it is the default (lstmtc-classify, the Dask engine).
REPLACE_HINT = "name its encoding with --encoding, re-encode it, or drop --strict to replace bad bytes"

csv.field_size_limit(2**31 - 1)  # a 10 MB text is one field; the default limit is 128 kB


@dataclass
class Decoder:
    """UTF-8 decoding with the CLI's policy: invalid bytes become U+FFFD and the first bad line is
    reported once through ``warn``, or (``strict``) the first bad line is an error. ``hint`` ends
    that error (how to get past it)."""

    source: str
    strict: bool = True
    warn: Callable[[str], None] | None = None
    hint: str = "re-encode the input as UTF-8 or name its encoding with --encoding"
    first_bad_line: int | None = None
    # The input's encoding where it is not UTF-8 (``transcode.utf8_reader`` re-encodes it on the way in):
    # any name Python knows, kept as its codec's name; UTF-8 under any spelling becomes None.
    encoding: str | None = None

    def __post_init__(self):
        if self.encoding is not None:
            self.encoding = check_encoding(self.encoding)

    def __call__(self, raw: bytes | memoryview, line_no: int, offset: int = 0) -> str:
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as e:
            what = self.encoding or "UTF-8"
            if self.strict:
                why = f"{e.reason} at byte {offset + e.start}" if self.encoding is None else "bytes it cannot decode"
                raise DataError(f"{self.source}:{line_no}: not valid {what} ({why}); {self.hint}") from None
            if self.first_bad_line is None:
                self.first_bad_line = line_no
                if self.warn:
                    self.warn(f"warning: {self.source}:{line_no}: invalid {what} replaced with U+FFFD "
                              "(first such line; --strict makes this an error)")
            return str(raw, "utf-8", "replace")


# --------------------------------------------------------------------------- opening


def source_name(path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def _stdin():
    """stdin's file descriptor, or its binary stream where it has none (a host that replaced sys.stdin)."""
    try:
        return sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return getattr(sys.stdin, "buffer", sys.stdin)


@contextmanager
def open_input(path, expected: str = "a CSV or TSV file", opener: Callable | None = None):
    """The bytes of ``path`` as a source for the readers below: '-' is stdin; a name ending in .gz
    is decompressed; ``opener`` (the Dask engine's fsspec) opens what it names, URLs included."""
    path = str(path)
    if path == "-":
        yield _stdin()
        return
    with reading(path, expected):
        if opener is not None:
            f = opener(path)
        elif path.lower().endswith(".gz"):
            f = gzip.open(path, "rb")
            f.peek(1)  # a file that is not gzip fails here, as an OSError reading() names
        else:
            f = open(path, "rb")
    try:
        yield f
    finally:
        f.close()


@contextmanager
def line_source(path):
    """(source, name, size or None, live) of line input: '-' is stdin; a pipe or FIFO named as a
    file (/dev/stdin, <(tail -f log)) is live, answered as it arrives, like stdin; a .gz file is
    decompressed (its size unknown)."""
    if path == "-":
        yield _stdin(), "<stdin>", None, True
        return
    if str(path).lower().endswith(".gz"):
        with open_input(path, "a text file with one document per line") as f:
            yield f, str(path), None, False
        return
    with reading(path, "a text file with one document per line"):
        fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        live = not stat.S_ISREG(st.st_mode)
        yield fd, str(path), (None if live else st.st_size), live
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- physical lines


def _pending(fd: int) -> bool:
    """True when more input can be read from ``fd`` without blocking."""
    try:
        ready, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return True  # not selectable (e.g. a regular file on some platforms): keep reading
    return bool(ready)


def _cr_reader(read: Callable[[], bytes]) -> Callable[[], bytes]:
    """``read`` with every lone CR made LF in an input whose first ``CR_WINDOW`` bytes (or all of it)
    hold a CR and no LF (old Mac line endings); otherwise unchanged, so a CR inside a line of an LF
    or CRLF file stays text. Byte offsets do not move. A live input is held up only while it sends
    no LF at all."""
    mode: list = [None]  # None: undecided; True: a CR file; False: any other input
    held = [b""]  # a CR at the end of a block, until the next byte says whether LF follows

    def decide() -> bytes:
        pieces, size = [], 0
        while True:
            chunk = read()
            pieces.append(chunk)
            size += len(chunk)
            if not chunk or b"\n" in chunk or size >= CR_WINDOW:
                break
        data = b"".join(pieces)
        mode[0] = b"\n" not in data and b"\r" in data
        return data

    def cr_read() -> bytes:
        if mode[0] is False:
            return read()
        while True:
            chunk = decide() if mode[0] is None else read()
            if not mode[0]:
                return chunk
            data, held[0] = held[0] + chunk, b""
            if chunk and data.endswith(b"\r"):
                data, held[0] = data[:-1], b"\r"
                if not data:
                    continue
            return _LONE_CR.sub(b"\n", data)

    return cr_read


def _block_reader(source: int | BinaryIO, encoding: str | None = None,
                  name: str = "<input>") -> tuple[Callable[[], bytes], Callable[[], bool]]:
    """(read, pending) for a file descriptor or a binary stream; a stream without a descriptor (an
    in-memory buffer, an embedding host's sys.stdin, a decompressor) is read to the end as it is.
    ``read`` gives UTF-8 (``transcode.utf8_reader``) with LF or CRLF line ends (``_cr_reader``)."""
    if isinstance(source, int):
        read, pending = (lambda: os.read(source, READ_SIZE)), (lambda: _pending(source))
    else:
        read1 = getattr(source, "read1", None) or source.read
        read, pending = (lambda: read1(READ_SIZE)), (lambda: True)
    return _cr_reader(utf8_reader(read, encoding, name)), pending


def _blocks(source: int | BinaryIO, on_bytes: Callable[[int], None] | None, wait_for_more: bool,
            encoding: str | None = None, name: str = "<input>") -> Iterator[bytes]:
    """The input in blocks of whole physical lines (the last block may end without a line end) as it
    arrives. An empty block: a live input (``wait_for_more``) has nothing more to give right now."""
    read, pending = _block_reader(source, encoding, name)
    # An unfinished line grows in place (one copy of a long line, never its pieces and their join);
    # a finished one is handed on as it is, bytes or bytearray.
    unfinished = bytearray()
    while True:
        chunk = read()
        if on_bytes and chunk:
            on_bytes(len(chunk))
        if not chunk:
            if unfinished:
                block, unfinished = unfinished, bytearray()
                yield block
            return
        end = chunk.rfind(b"\n") + 1
        if end:
            if unfinished:
                unfinished += memoryview(chunk)[:end]
                block, unfinished = unfinished, bytearray(memoryview(chunk)[end:])
            else:
                block, unfinished = chunk[:end], bytearray(memoryview(chunk)[end:])
            del chunk
            yield block
            del block
        else:
            unfinished += chunk
        if wait_for_more and not pending():
            yield b""


def _lines(source: int | BinaryIO, decode: Decoder, keep_ends: bool, on_bytes=None,
           wait_for_more: bool = False) -> Iterator[str | None]:
    """Decoded physical lines (LF or CRLF ends kept or stripped), and PAUSE where a live input paused.
    A block decodes at once; one with invalid UTF-8, or one longer than ``BIG_BLOCK`` (a long line),
    line by line from the block's bytes, so the decoder names the line and a long line exists once
    as bytes and once as text, never a third time."""
    line_no = offset = 0
    for block in _blocks(source, on_bytes, wait_for_more, decode.encoding, decode.source):
        if not block:
            yield PAUSE
            continue
        skip = len(BOM) if offset == 0 and block.startswith(BOM) else 0
        size = len(block)
        lines = None
        if size <= BIG_BLOCK:
            try:
                lines = (block[skip:] if skip else block).decode("utf-8").split("\n")
            except UnicodeDecodeError:
                pass
        if lines is None:
            view, start = memoryview(block), skip
            while start < size:
                nl = block.find(b"\n", start)
                stop = size if nl < 0 else nl
                if keep_ends:
                    end = stop + 1 if nl >= 0 else stop
                else:
                    end = stop - 1 if stop > start and block[stop - 1] == 13 else stop  # 13: CR
                line_no += 1
                line = decode(view[start:end], line_no, offset + start)
                start = stop + 1
                yield line
            view.release()
            del view, block
            offset += size
            continue
        if not lines[-1]:
            lines.pop()  # the block ends with a line end
        offset += size
        unfinished = not block.endswith(b"\n")
        del block
        line_no += len(lines)
        for i, line in enumerate(lines):
            if keep_ends:
                yield line if unfinished and i == len(lines) - 1 else line + "\n"
            else:
                yield line[:-1] if line.endswith("\r") else line


def line_batches(source: int | BinaryIO, batch_size: int, decode: Decoder,
                 on_bytes: Callable[[int], None] | None = None, wait_for_more: bool = True,
                 max_chars: int | None = None) -> Iterator[list[str]]:
    """Lists of decoded lines (without their endings), ``batch_size`` at most, handed on early when
    a live input pauses (see the module docstring) or when they hold ``max_chars`` characters."""
    return windows(_lines(source, decode, False, on_bytes, wait_for_more), batch_size, len, max_chars)


def read_line(path, number: int | None = None, encoding: str | None = None) -> str:
    """Line ``number`` (1-based) of a text input ('-' = stdin), unterminated; None: its only line."""
    file_formats.refuse_as_lines(path, f"pass the text itself: lstmtc-explain \"$(sed -n {number or 1}p {path} | "
                                       "jq -r .text)\"")
    n = 0
    with line_source(path) as (source, name, _, _):
        lines = _lines(source, Decoder(name, encoding=encoding), keep_ends=False)
        if number is None:
            first = list(islice(lines, 2))
            if len(first) > 1:
                raise DataError(f"{name} holds more than one line; give one text, or a file and a line number")
            if not first or not first[0].strip():
                raise DataError(f"{name} is empty; give one text")
            return first[0]
        for n, line in enumerate(lines, 1):
            if n == number:
                return line
    raise DataError(f"{path} has {n} line{'' if n == 1 else 's'}; there is no line {number}")


# --------------------------------------------------------------------------- CSV/TSV records


def _malformed(src: str, start: int, line: int, error: csv.Error) -> str:
    reason = str(error)
    if "unexpected end of data" in reason:
        what = f"a quoted field starting in this record is never closed: it runs to the end of the file (line {line})"
    elif "expected after" in reason and line > start:
        what = (f"a quoted field starting in this record swallows the lines up to {line}, where its closing quote is "
                "followed by more text (a stray quote?)")
    elif "expected after" in reason:
        what = 'a quote inside a quoted field is followed by more text (write a quote inside a field as "")'
    else:
        what = f"malformed CSV ({reason})"
    return f"{src}:{start}: {what}; check the quoting and the delimiter"


def records(path, *, delimiter: str | None = ",", quoting: str | None = "csv", strict: bool = True,
            warn: Callable[[str], None] | None = None, on_bytes: Callable[[int], None] | None = None,
            opener: Callable | None = None, hint: str | None = None, encoding: str | None = None,
            formats: Sequence[str] | None = None, found: dict | None = None) -> Iterator[tuple[int, list]]:
    """(line, fields) of every record of a CSV/TSV file ('-' = stdin), blank lines left out; the line
    is the physical line where the record starts. ``strict``: invalid UTF-8 (or ``encoding``) is an
    error, else replaced (reported once through ``warn``). Malformed quoting is an error.
    ``formats``: sniff the file's format among these (``formats.sniff``), and with ``delimiter`` None
    its delimiter and quoting (``formats.dialect``); ``found`` gets format, delimiter and quoting
    before the first record. A JSON Lines or fastText file yields its header, then rows of values."""
    src = source_name(path)
    decode = Decoder(src, strict, warn, **({"hint": hint} if hint else {}), encoding=encoding)
    with open_input(path, opener=opener) as source:
        lines = _lines(source, decode, True, on_bytes)
        fmt = file_formats.CSV
        if formats:
            fmt, lines, first = file_formats.sniff(path, src, lines, formats)
            if delimiter is None:
                delimiter, quoting = file_formats.dialect(path, first, quoting)
        if found is not None:
            found.update(format=fmt, delimiter=delimiter, quoting=quoting)
        if fmt != file_formats.CSV:
            yield from file_formats.parse(fmt, lines, src)
            return
        mode = csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL
        reader = csv.reader(lines, delimiter=delimiter, quoting=mode, strict=True)
        start = 1
        try:
            for row in reader:
                line, start = start, reader.line_num + 1
                if row:
                    yield line, row
        except csv.Error as e:
            raise DataError(_malformed(src, start, reader.line_num, e)) from None


def json_items(path, *, strict: bool = True, warn: Callable[[str], None] | None = None,
               on_bytes: Callable[[int], None] | None = None, hint: str | None = None,
               encoding: str | None = None) -> Iterator[tuple[int, object]]:
    """(line, value) of each item of a JSON Lines file or a .json array ('-' = stdin), blank lines
    left out; another kind of file is an error saying which option reads it."""
    src = source_name(path)
    decode = Decoder(src, strict, warn, **({"hint": hint} if hint else {}), encoding=encoding)
    with open_input(path, "a JSON Lines file") as source:
        fmt, lines, _ = file_formats.sniff(path, src, _lines(source, decode, True, on_bytes),
                                           (file_formats.JSONL, file_formats.JSON))
        yield from file_formats.items(fmt, lines, src)
