"""The one reader (lstmtc.infer.data.reader): physical lines in blocks, decoded a block at a time or,
where a block holds invalid UTF-8, line by line so the error names the line and its byte offset."""

from __future__ import annotations

import io
import os

import pytest

from lstmtc.infer.data import reader
from lstmtc.infer.data.reader import Decoder, line_batches, read_line, records
from lstmtc.infer.errors import DataError

CASES = [
    b"",
    b"one\n",
    b"one\ntwo",
    b"\xef\xbb\xbfbom\r\ncrlf\r\n\nlast\r",
    b"\n\n\n",
    "caf\u00e9 \u65e5\u672c\n" .encode() * 50 + b"tail",
]


def _expected(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


@pytest.mark.parametrize("read_size", [1, 3, 7, 1 << 16])
@pytest.mark.parametrize("data", CASES)
def test_lines_at_any_block_size(monkeypatch, data, read_size):
    monkeypatch.setattr(reader, "READ_SIZE", read_size)
    got = [x for b in line_batches(io.BytesIO(data), 2, Decoder("x"), wait_for_more=False) for x in b]
    assert got == _expected(data)


def test_invalid_utf8_names_line_and_file_offset(tmp_path):
    data = b"\xef\xbb\xbfok\nfine\nbad \xff here\nlater \xfe\n"
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    bad = data.index(b"\xff")
    with pytest.raises(DataError) as info:
        read_line(path, 4)
    assert str(info.value).startswith(f"{path}:3: not valid UTF-8 (invalid start byte at byte {bad})")
    warnings = []
    fd = os.open(path, os.O_RDONLY)
    try:
        got = [x for b in line_batches(fd, 10, Decoder(str(path), False, warnings.append), wait_for_more=False)
               for x in b]
    finally:
        os.close(fd)
    assert got == _expected(data)
    assert warnings == [f"warning: {path}:3: invalid UTF-8 replaced with U+FFFD (first such line; --strict makes "
                        "this an error)"]


def test_read_line_counts_lines(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"a\r\nb")
    assert [read_line(path, 1), read_line(path, 2)] == ["a", "b"]
    with pytest.raises(DataError, match="has 2 lines; there is no line 3"):
        read_line(path, 3)


@pytest.mark.parametrize("read_size", [2, 1 << 16])
def test_records_keep_quoted_line_ends_and_name_record_lines(tmp_path, monkeypatch, read_size):
    monkeypatch.setattr(reader, "READ_SIZE", read_size)
    path = tmp_path / "x.csv"
    path.write_bytes(b'id,text\r\n1,"a\r\nb"\r\n\r\n2,"c ""q"""\n3,d')
    assert list(records(path)) == [(1, ["id", "text"]), (2, ["1", "a\r\nb"]), (5, ["2", 'c "q"']), (6, ["3", "d"])]
    assert list(records(path, quoting="none")) == [(1, ["id", "text"]), (2, ["1", '"a']), (3, ['b"']),
                                                   (5, ["2", '"c ""q"""']), (6, ["3", "d"])]


def test_line_batches_hand_on_a_window_once_it_holds_max_chars():
    data = b"".join(b"x" * n + b"\n" for n in (3, 4, 10, 1, 1, 1, 20))
    batches = list(line_batches(io.BytesIO(data), 100, Decoder("x"), wait_for_more=False, max_chars=8))
    # 3 + 4 < 8, + 10 reaches it; 1 + 1 + 1 < 8, + 20 reaches it
    assert [[len(line) for line in b] for b in batches] == [[3, 4, 10], [1, 1, 1, 20]]
    plain = list(line_batches(io.BytesIO(data), 100, Decoder("x"), wait_for_more=False))
    assert len(plain) == 1 and plain[0] == [x for b in batches for x in b]
