"""One reader, strict in the same way in every mode (#14): a stray quote mid-file, a quote that runs
to the end of the file, a row with extra fields and a row with missing fields are each rejected
with the same one-line error naming file:line by classify --csv (stdout and -o), classify --eval,
the Dask engine, lstmtc-evaluate, lstmtc-train, lstmtc-export --data and read_labelled. Before,
local --csv merged two records on a stray quote (and exit 0) and took a row with extra fields."""

from __future__ import annotations

import csv
import gzip
import io

import pytest
from click.testing import CliRunner
from conftest import make_rows

from lstmtc.export.cli import main as export_main
from lstmtc.infer.apps.classify_cli import main as classify_main
from lstmtc.infer.data import read_labelled, records
from lstmtc.infer.errors import DataError
from lstmtc.train.cli import main as train_main
from lstmtc.train.evaluate_cli import main as evaluate_main

N = 40
BAD_LINE = 21  # header on line 1, so the 20th data row


def _good_lines() -> list[str]:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([("label", "title", "text")] + make_rows(N, seed=5))
    return buf.getvalue().splitlines(keepends=True)


def _with(lines: list[str], bad: str, at: int = BAD_LINE) -> str:
    return "".join(lines[: at - 1] + [bad] + lines[at - 1:])


CASES = {
    # The next line's quoted text closes the stray quote: two records would become one.
    "stray quote mid-file": (
        lambda lines: _with(lines, '2,"stray title,goal for the coach\n', BAD_LINE)
        .replace(lines[BAD_LINE - 1], '3,Quarterly profit,"shares rose"\n', 1),
        f"a quoted field starting in this record swallows the lines up to {BAD_LINE + 1}"),
    "unterminated quote at end of file": (
        lambda lines: "".join(lines) + '4,"never closed,chip and laptop\n',
        f"a quoted field starting in this record is never closed: it runs to the end of the file (line {N + 2})"),
    "a row with extra fields": (
        lambda lines: _with(lines, "1,troops,embassy,minister\n"), "4 fields, expected 3 as in the header"),
    "a row with missing fields": (
        lambda lines: _with(lines, "2,goal for the coach\n"), "2 fields, expected 3 as in the header"),
}
LINE = {"stray quote mid-file": BAD_LINE, "unterminated quote at end of file": N + 2,
        "a row with extra fields": BAD_LINE, "a row with missing fields": BAD_LINE}


@pytest.fixture(params=list(CASES))
def bad_csv(request, tmp_path):
    make, fragment = CASES[request.param]
    path = tmp_path / "bad.csv"
    path.write_text(make(_good_lines()), encoding="utf-8")
    return path, f"{path}:{LINE[request.param]}: {fragment}"


PREFIX = ("--output-prefix", "pred_")


def _error(result) -> str:
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    return err.removeprefix("Error: ").rstrip("\n")


def test_the_good_file_is_read(tmp_path):
    path = tmp_path / "good.csv"
    path.write_text("".join(_good_lines()), encoding="utf-8")
    assert len(read_labelled(path)) == N
    assert [line for line, _ in records(path)] == list(range(1, N + 2))


def test_every_mode_rejects_with_the_same_message(bad_csv, tiny_run, tiny_bundle, tmp_path):
    path, expected = bad_csv
    with pytest.raises(DataError) as info:
        read_labelled(path)
    message = str(info.value)
    assert message.startswith(expected), message
    runner = CliRunner()
    out = tmp_path / "scored.csv"
    modes = {
        # a labelled file has a 'label' column: the scored one's goes under --output-prefix
        "classify --csv": runner.invoke(classify_main, ["-m", str(tiny_bundle), "--csv", str(path), *PREFIX]),
        "classify --csv -o": runner.invoke(classify_main, ["-m", str(tiny_bundle), "--csv", str(path), *PREFIX,
                                                           "-o", str(out)]),
        "classify --eval": runner.invoke(classify_main, ["-m", str(tiny_bundle), "--eval", str(path)]),
        "lstmtc-evaluate": runner.invoke(evaluate_main, [str(tiny_bundle), str(path)]),
        "lstmtc-train": runner.invoke(train_main, ["--train", str(path), "--out", str(tmp_path / "run"),
                                                   "--epochs", "1"]),
        "lstmtc-export --data": runner.invoke(export_main, [str(tiny_run), "-o", str(tmp_path / "b"),
                                                            "--data", str(path)]),
    }
    for mode, result in modes.items():
        assert _error(result) == message, mode
    assert not out.exists() and not (tmp_path / "run").exists() and not (tmp_path / "b").exists()


def test_the_dask_engine_rejects_with_the_same_message(bad_csv, tiny_bundle, tmp_path):
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    path, expected = bad_csv
    # the first file is fine, the error is in the second: found by a worker
    good = tmp_path / "a-good.csv"
    good.write_text("".join(_good_lines()), encoding="utf-8")
    r = CliRunner().invoke(classify_main, ["-m", str(tiny_bundle), "--csv", str(tmp_path / "*.csv"), *PREFIX,
                                           "--engine", "dask", "--workers", "1", "-o", str(tmp_path / "out")])
    assert _error(r).startswith(expected)
    local = CliRunner().invoke(classify_main, ["-m", str(tiny_bundle), "--csv", str(path), *PREFIX])
    assert _error(r) == _error(local)
    assert not (tmp_path / "out").exists()


def test_quotes_are_text_in_tsv_so_a_stray_one_is_no_error(tiny_bundle, tmp_path):
    tsv = tmp_path / "sms.tsv"
    tsv.write_text('label\ttext\n1\t"stray quote opens this\n2\tgoal "for" the coach\n', encoding="utf-8")
    r = CliRunner().invoke(classify_main, ["-m", str(tiny_bundle), "--tsv", str(tsv), *PREFIX])
    assert r.exit_code == 0, r.output
    rows = r.stdout.splitlines()
    assert rows[0] == "label\ttext\tpred_label" and len(rows) == 3
    # written as read: quotes are text, not CSV quoting
    assert rows[1].startswith('1\t"stray quote opens this\t') and rows[2].startswith('2\tgoal "for" the coach\t')
    r = CliRunner().invoke(classify_main, ["-m", str(tiny_bundle), "--tsv", str(tsv), "--quoting", "csv", *PREFIX])
    assert _error(r).startswith(f"{tsv}:2: a quoted field starting in this record swallows the lines up to 3")


def test_blank_lines_carry_no_record_in_every_mode(tiny_bundle, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("id,text\n1,stocks profit\n\n2,goal coach\n", encoding="utf-8")
    r = CliRunner().invoke(classify_main, ["-m", str(tiny_bundle), "--csv", str(path)])
    assert r.exit_code == 0, r.output
    assert [row[:2] for row in csv.reader(io.StringIO(r.stdout))] == [["id", "text"], ["1", "stocks profit"],
                                                                      ["2", "goal coach"]]


def test_gzipped_tables_are_read_as_such(tiny_bundle, tmp_path):
    plain = tmp_path / "in.tsv"
    plain.write_text("id\ttext\n1\tstocks profit\n2\tgoal coach\n", encoding="utf-8")
    packed = tmp_path / "in.tsv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    want = CliRunner().invoke(classify_main, ["-m", str(tiny_bundle), "--csv", str(plain)])
    got = CliRunner().invoke(classify_main, ["-m", str(tiny_bundle), "--csv", str(packed)])
    assert got.exit_code == 0 and got.stdout == want.stdout and "\t" in got.stdout
    (tmp_path / "not.csv.gz").write_bytes(b"plain text")
    r = CliRunner().invoke(classify_main, ["-m", str(tiny_bundle), "--csv", str(tmp_path / "not.csv.gz")])
    assert _error(r).startswith(f"{tmp_path / 'not.csv.gz'}: cannot read it")
