"""--encoding: input in any codec, read by the one reader for every verb (transcoded to UTF-8 on the
way in); bytes the codec cannot decode are reported, or replaced, on their line."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from conftest import TOPICS

from lstmtc.infer.apps.classify_cli import main as classify_main
from lstmtc.infer.data import read_labelled, records
from lstmtc.infer.data.reader import Decoder, line_batches, read_line
from lstmtc.infer.data.transcode import check_encoding
from lstmtc.infer.errors import DataError

ROWS = [("1", "Café owners in Zürich say “prices” rose — £5 a cup"), ("2", "naïve résumé façade")]


def write(path, text: str, encoding: str):
    path.write_bytes(text.encode(encoding))
    return path


def csv_text(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([("label", "text"), *rows])
    return buf.getvalue()


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "gbk", "utf-16-le", "utf-16", "shift_jis", "utf-8-sig"])
def test_records_in_any_codec(tmp_path, encoding):
    rows = ROWS if encoding not in ("latin-1", "gbk", "shift_jis") else [("1", "naïve résumé"), ("2", "plain")]
    if encoding in ("gbk", "shift_jis"):
        rows = [("1", "酒店很好"), ("2", "早餐太差")]
    path = write(tmp_path / "d.csv", csv_text(rows), encoding)
    assert [r for _, r in records(path, encoding=encoding)] == [["label", "text"], *map(list, rows)]


def test_without_the_encoding_a_clear_error_names_the_option(tmp_path):
    path = write(tmp_path / "d.csv", csv_text(ROWS), "cp1252")
    with pytest.raises(DataError, match=r"d\.csv:2: not valid UTF-8 \(.*\); re-encode the input as UTF-8 or name "
                                        r"its encoding with --encoding$"):
        list(records(path))


def test_bytes_the_codec_cannot_decode(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"label,text\n1,fine\n2,bad \x81 byte\n")  # 0x81 is undefined in cp1252
    with pytest.raises(DataError, match=r"d\.csv:3: not valid cp1252 \(bytes it cannot decode\)"):
        list(records(path, encoding="cp1252"))
    warned = []
    got = [r for _, r in records(path, encoding="cp1252", strict=False, warn=warned.append)]
    assert got[1] == ["1", "fine"] and got[2][1].startswith("bad \ufffd")
    assert warned == [f"warning: {path}:3: invalid cp1252 replaced with U+FFFD (first such line; --strict makes "
                      "this an error)"]


def test_check_encoding():
    assert check_encoding("UTF8") is None and check_encoding("utf-8-sig") is None
    assert check_encoding("Latin1") == "iso8859-1" and check_encoding("CP1252") == "cp1252"
    for bad in ("nope", "hex", "rot13", "base64"):
        with pytest.raises(DataError, match="unknown encoding"):
            check_encoding(bad)


def test_lines_and_read_line(tmp_path):
    path = write(tmp_path / "t.txt", "première ligne\nzweite Zeile über\n", "cp1252")
    with open(path, "rb") as f:
        assert list(line_batches(f, 10, Decoder(str(path), encoding="cp1252"))) == [
            ["première ligne", "zweite Zeile über"]]
    assert read_line(path, 2, "cp1252") == "zweite Zeile über"


def test_read_labelled(tmp_path):
    path = write(tmp_path / "d.csv", csv_text(ROWS), "cp1252")
    ds = read_labelled(path, encoding="cp1252")
    assert ds.texts == [t for _, t in ROWS]


def test_classify_cli_lines_csv_and_eval(tiny_bundle, tmp_path):
    lines = [TOPICS["2"][0] + " « café »", TOPICS["3"][0] + " £5"]
    text = write(tmp_path / "t.txt", "\n".join(lines) + "\n", "cp1252")
    utf8 = tmp_path / "u.txt"
    utf8.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = CliRunner().invoke
    same = run(classify_main, ["-m", str(tiny_bundle), str(utf8), "--prob"])
    got = run(classify_main, ["-m", str(tiny_bundle), str(text), "--prob", "--encoding", "cp1252"])
    assert got.exit_code == 0 and got.output == same.output and len(got.output.splitlines()) == 2
    bad = run(classify_main, ["-m", str(tiny_bundle), str(text), "--encoding", "nope"])
    assert bad.exit_code == 2 and "unknown encoding 'nope'" in bad.output
    table = write(tmp_path / "d.csv", csv_text([("Sports", lines[0]), ("Business", lines[1])]), "cp1252")
    out = tmp_path / "scored.csv"
    r = run(classify_main, ["-m", str(tiny_bundle), "--csv", str(table), "--encoding", "cp1252", "-o", str(out),
                            "--output-prefix", "pred_"])
    assert r.exit_code == 0, r.output
    assert [row[1] for row in csv.reader(out.open(encoding="utf-8"))][1:] == lines  # written as UTF-8
    r = run(classify_main, ["-m", str(tiny_bundle), "--eval", str(table), "--encoding", "cp1252"])
    assert r.exit_code == 0 and r.output.startswith("N\t2\naccuracy\t"), r.output


def test_train_keeps_the_encoding_for_resume(tmp_path):
    from lstmtc.train import cli as train_cli

    rows = [(str(i % 2), ("résumé " if i % 2 else "café ") + TOPICS[str(i % 4 + 1)][i % 3]) for i in range(60)]
    path = write(tmp_path / "d.csv", csv_text(rows), "cp1252")
    args = ["--train", str(path), "--hidden", "4", "--embed-dim", "4", "--threads", "1"]
    r = CliRunner().invoke(train_cli.main, [*args, "--out", str(tmp_path / "a"), "--epochs", "1"])
    assert r.exit_code == 1 and "name its encoding with --encoding" in r.output
    r = CliRunner().invoke(train_cli.main, [*args, "--out", str(tmp_path / "r"), "--epochs", "1", "--encoding",
                                            "cp1252"])
    assert r.exit_code == 0, r.output
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["read_options"]["encoding"] == "cp1252"
    r = CliRunner().invoke(train_cli.main, ["--resume", str(tmp_path / "r"), "--epochs", "2"])
    assert r.exit_code == 0, r.output


def test_explain_reads_a_file_in_its_encoding(tiny_bundle, tmp_path):
    pytest.importorskip("lime", reason="the 'explain' extra (lime) is not installed")
    from lstmtc.infer.apps.explain_cli import main as explain_main

    path = write(tmp_path / "t.txt", "first\nShares of the merger « profit »\n", "cp1252")
    r = CliRunner().invoke(explain_main, ["-m", str(tiny_bundle), "--file", str(path), "--line", "2", "--encoding",
                                          "cp1252", "--json", "--num-samples", "50"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["text"] == "Shares of the merger « profit »"
    r = CliRunner().invoke(explain_main, ["-m", str(tiny_bundle), "some text", "--encoding", "cp1252"])
    assert r.exit_code == 1 and "TEXT is already text" in r.output


def test_decoder_names_the_codec_once():
    # Checked and canonicalised where the Decoder is made: UTF-8 under any spelling is the reader's own.
    assert Decoder("x", encoding="UTF8").encoding is None
    assert Decoder("x", encoding="Latin1").encoding == "iso8859-1"
    with pytest.raises(DataError, match="unknown encoding 'nope'"):
        Decoder("x", encoding="nope")
