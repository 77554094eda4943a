"""Hostile inputs (#17, part B): UTF-16/UTF-32 with a byte-order mark, CR-only line endings, .gz in
line mode, control characters in names that errors echo, class names with control characters,
a huge line. Every case reads a real file."""

from __future__ import annotations

import codecs
import gzip
import os

import pytest

from lstmtc.infer.data import reader
from lstmtc.infer.data.columns import open_table
from lstmtc.infer.data.labelled import read_labelled
from lstmtc.infer.data.reader import Decoder, line_batches, line_source, read_line
from lstmtc.infer.errors import DataError, escape_controls
from lstmtc.infer.labels import LabelSet

TEXTS = ["Stocks rose on Monday", "caf\u00e9 \u65e5\u672c \U0001f600 news", "", "last line"]
WIDE = ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]
BOMS = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}


def _lines(path, strict=True, warn=None) -> list[str]:
    with line_source(str(path)) as (source, name, _, _):
        return [x for b in line_batches(source, 3, Decoder(name, strict, warn), wait_for_more=False) for x in b]


@pytest.mark.parametrize("read_size", [1, 3, 1 << 16])
@pytest.mark.parametrize("encoding", WIDE)
def test_wide_encodings_with_a_bom_are_decoded_line_for_line(tmp_path, monkeypatch, encoding, read_size):
    monkeypatch.setattr(reader, "READ_SIZE", read_size)
    path = tmp_path / "in.txt"
    path.write_bytes(BOMS[encoding] + "\r\n".join(TEXTS).encode(encoding) + "\n".encode(encoding))
    assert _lines(path) == TEXTS


@pytest.mark.parametrize("encoding", WIDE)
def test_wide_encoded_csv_reads_its_fields(tmp_path, encoding):
    path = tmp_path / "in.csv"
    text = 'text,id\n"a, quoted\nfield",1\nplain,2\n'
    path.write_bytes(BOMS[encoding] + text.encode(encoding))
    table = open_table(str(path))
    assert table.header == ["text", "id"]
    assert [row for _, row in table.rows] == [["a, quoted\nfield", "1"], ["plain", "2"]]


def test_invalid_utf16_is_reported_on_its_line_or_replaced(tmp_path):
    path = tmp_path / "bad.txt"
    # a lone high surrogate on line 2, and a file that ends half-way through a character
    path.write_bytes(codecs.BOM_UTF16_LE + "ok\n".encode("utf-16-le") + b"\x00\xd8" + "x\n".encode("utf-16-le") + b"y")
    with pytest.raises(DataError, match=r"bad.txt:2: not valid UTF-8"):
        _lines(path)
    warnings: list[str] = []
    got = _lines(path, strict=False, warn=warnings.append)
    assert len(got) == 3 and got[0] == "ok" and got[1].endswith("x") and "\ufffd" in got[1] + got[2]
    assert warnings and ":2:" in warnings[0]


def test_a_live_input_is_not_held_up_by_the_bom_check():
    r, w = os.pipe()
    try:
        os.write(w, b"a\n")  # shorter than any wide mark, and the writer stays open
        batches = line_batches(r, 10, Decoder("<pipe>"), wait_for_more=True)
        assert next(batches) == ["a"]
    finally:
        os.close(w)
        os.close(r)


@pytest.mark.parametrize("read_size", [1, 2, 5, 1 << 16])
def test_cr_only_line_endings_are_line_breaks(tmp_path, monkeypatch, read_size):
    monkeypatch.setattr(reader, "READ_SIZE", read_size)
    path = tmp_path / "mac.txt"
    path.write_bytes(b"one\rtwo\r\rthree\rfour")
    assert _lines(path) == ["one", "two", "", "three", "four"]
    assert read_line(str(path), 4) == "three"
    # past the first 64 KiB, a CRLF in a CR file is one line end too, never an extra blank line
    path.write_bytes(b"one\r" + b"x" * reader.CR_WINDOW + b"\rtwo\r\nthree\r")
    assert _lines(path)[2:] == ["two", "three"]


def test_a_lone_cr_inside_an_lf_file_stays_text(tmp_path):
    path = tmp_path / "lf.txt"
    path.write_bytes(b"one\rstill one\ntwo\n")
    assert _lines(path) == ["one\rstill one", "two"]


def test_cr_only_csv_reads_its_records_and_quoted_breaks(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b'text,id\r"two\rlines",1\rplain,2\r')
    table = open_table(str(path))
    assert table.header == ["text", "id"]
    assert [(line, row) for line, row in table.rows] == [(2, ["two\nlines", "1"]), (4, ["plain", "2"])]


def test_gz_is_read_in_line_mode(tmp_path):
    path = tmp_path / "in.txt.gz"
    with gzip.open(path, "wb") as f:
        f.write("\n".join(TEXTS).encode() + b"\n")
    assert _lines(path) == TEXTS
    assert read_line(str(path), 2) == TEXTS[1]
    with line_source(str(path)) as (_, _, size, live):
        assert size is None and live is False


def test_a_file_named_gz_that_is_not_gzip_is_one_line_error(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(b"not gzip\n")
    with pytest.raises(DataError, match="plain.gz"):
        _lines(path)


def test_control_characters_in_an_echoed_header_are_escaped(tmp_path):
    path = tmp_path / "evil.csv"
    path.write_bytes("\x1b[2J\x1b]0;owned\x07title,body\x9b\nx,y\n".encode())
    with pytest.raises(DataError) as info:
        open_table(str(path), text_column="missing")
    message = str(info.value)
    assert "\x1b" not in message and "\x07" not in message and "\\x1b[2J" in message
    assert "\n" not in message


def test_escape_controls_keeps_printable_text():
    assert escape_controls("caf\u00e9 \u65e5 ok") == "caf\u00e9 \u65e5 ok"
    assert escape_controls("a\nb\tc\x00d\x7fe\x85") == "a\\nb\\tc\\x00d\\x7fe\\x85"


@pytest.mark.parametrize("name", ["two\nlines", "tab\there", "nul\x00", "esc\x1b[31m", "del\x7f", "c1\x85x"])
def test_class_names_with_control_characters_are_refused_at_training(tmp_path, name):
    path = tmp_path / "train.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        import csv

        w = csv.writer(f)
        w.writerow(["label", "text"])
        for i in range(4):
            w.writerow([name if i % 2 else "plain", f"text {i}"])
    with pytest.raises(DataError) as info:
        read_labelled(path)
    message = str(info.value)
    assert "control character" in message and escape_controls(name.strip()) in message
    assert not any(c in message for c in "\n\t\x00\x1b\x7f\x85")


def test_labelset_refuses_control_characters_in_given_names():
    with pytest.raises(ValueError, match="control character"):
        LabelSet(("a", "b\n"), ("1", "2"))
    LabelSet(("caf\u00e9", "b c"), ("1", "2"))  # other text stays allowed


def test_a_huge_line_is_read_once_and_scored_by_its_prefix(tmp_path, tiny_classifier):
    from lstmtc.infer.scoring.scorer import Scorer

    path = tmp_path / "huge.txt"
    path.write_bytes(b"short\n" + b"stocks rose " * 400_000 + b"\nshort\n")  # a 4.8 MB line
    got = _lines(path)
    assert len(got) == 3 and len(got[1]) == 12 * 400_000
    scored = Scorer(tiny_classifier).score(got)
    ref = tiny_classifier.predict_proba(["stocks rose " * tiny_classifier.pipeline.max_tokens])
    assert scored.probs.shape[0] == 3 and abs(scored.probs[1] - ref[0]).max() < 1e-6


@pytest.mark.parametrize("read_size", [1, 7, 1 << 16])
def test_long_line_path_reads_what_the_block_path_reads(tmp_path, monkeypatch, read_size):
    # BIG_BLOCK 0: every block takes the long-line path (decoded line by line from the bytes)
    data = (b"\xef\xbb\xbfbom\r\ncrlf\r\n\nbad \xff byte\n" + "caf\u00e9 \u65e5\n".encode() * 20 + b'x,"a\nb"\nlast\r')
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    monkeypatch.setattr(reader, "READ_SIZE", read_size)
    want_lines = _lines(path, strict=False)
    want_rows = list(reader.records(str(path), strict=False))
    monkeypatch.setattr(reader, "BIG_BLOCK", 0)
    assert _lines(path, strict=False) == want_lines
    assert list(reader.records(str(path), strict=False)) == want_rows
    with pytest.raises(DataError, match=r"in.csv:4: not valid UTF-8 \(invalid start byte at byte 19\)"):
        _lines(path)
