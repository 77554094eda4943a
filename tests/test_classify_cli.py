"""lstmtc-classify through click's CliRunner: every option and every bad-input case, with the exact
output checked against predictions made independently with the Python API (lstmtc.infer.Classifier).

Real-process behaviour (stdin answered line by line, `| head -1`, Ctrl-C) is in test_classify_stream.py.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_rows, write_agnews_csv

from lstmtc.infer import Classifier
from lstmtc.infer.apps import classify_cli as cli_module
from lstmtc.infer.apps.classify_cli import main

LABELS = ["World", "Sports", "Business", "Sci/Tech"]

DOCS = [
    "Stocks and shares rose after the merger, investors said",
    "",
    "The striker scored a goal; the coach smiled",
    "   ",
    "New chip and laptop software from researchers",
    "Troops and rebels agree to a ceasefire, the minister said",
]


def invoke(args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def lines_in(docs) -> str:
    return "".join(d + "\n" for d in docs)


def assert_ok(result, stdout: str, stderr: str = ""):
    assert result.exception is None, result.exc_info
    assert result.exit_code == 0, result.output
    assert result.stderr == stderr
    assert result.stdout_bytes.decode("utf-8") == stdout  # .stdout would turn CRLF inside CSV fields into LF


def assert_error(result, *fragments: str, exit_code: int = 1) -> str:
    """A one-line 'Error: ...' on stderr, nothing on stdout, and no traceback."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), result.exc_info  # anything else is a crash
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith("Error: ") and err.endswith("\n") and err.count("\n") == 1, err
    for f in fragments:
        assert f in err, err
    return err


def expected_lines(clf: Classifier, docs, *, k=1, prob=False, threshold=0.0, fmt="text") -> str:
    """What the CLI must print, made from Classifier.predict with the test's own formatting."""
    live = [d for d in docs if d.strip()]
    labels, probs = clf.predict(live, k=k, threshold=threshold) if live else ([], [])
    answers = iter(zip(labels, probs))
    out = []
    for d in docs:
        if not d.strip():
            out.append("null" if fmt == "jsonl" else "")
            continue
        names, ps = next(answers)
        ps = [float(p) for p in ps]
        if fmt == "jsonl":
            if k == 1:
                obj = {"label": names[0] if names else None}
                if prob:
                    obj["prob"] = round(ps[0], 4) if ps else None
            else:
                obj = {"labels": names}
                if prob:
                    obj["probs"] = [round(p, 4) for p in ps]
            out.append(json.dumps(obj))
            continue
        fields = []
        for name, p in zip(names, ps):
            fields += [name, f"{p:.4f}"] if prob else [name]
        out.append({"text": " ", "tsv": "\t", "csv": ","}[fmt].join(fields))
    return lines_in(out)


def copy_bundle(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# --------------------------------------------------------------------------- line input: outputs


def test_default_output_is_the_label_name_per_line(tiny_bundle, tiny_classifier):
    r = invoke(["--model", tiny_bundle], input=lines_in(DOCS))
    assert_ok(r, expected_lines(tiny_classifier, DOCS))
    out = r.stdout.split("\n")[:-1]
    assert len(out) == len(DOCS)
    assert out[1] == "" and out[3] == ""  # empty and blank input lines stay aligned
    assert set(out) - {""} <= set(LABELS)
    # the synthetic topics are learnt: the obvious documents get their topic
    assert [out[0], out[2], out[4], out[5]] == ["Business", "Sports", "Sci/Tech", "World"]


@pytest.mark.parametrize("fmt", ["text", "tsv", "csv", "jsonl"])
@pytest.mark.parametrize("prob", [False, True])
def test_formats_with_and_without_prob(tiny_bundle, tiny_classifier, fmt, prob):
    args = ["-m", tiny_bundle, "--format", fmt] + (["--prob"] if prob else [])
    r = invoke(args, input=lines_in(DOCS))
    assert_ok(r, expected_lines(tiny_classifier, DOCS, prob=prob, fmt=fmt))


def test_prob_text_output_shape(tiny_bundle, tiny_classifier):
    r = invoke(["-m", tiny_bundle, "--prob"], input="stocks profit merger\n")
    name, p = r.stdout.split()
    proba = tiny_classifier.predict_proba(["stocks profit merger"])[0]
    assert name == LABELS[int(proba.argmax())]
    assert p == f"{proba.max():.4f}"


@pytest.mark.parametrize("k", [2, 4, 9])
@pytest.mark.parametrize("fmt", ["text", "tsv", "jsonl", "csv"])
def test_top_k(tiny_bundle, tiny_classifier, k, fmt):
    r = invoke(["-m", tiny_bundle, "-k", k, "--prob", "--format", fmt], input=lines_in(DOCS))
    assert_ok(r, expected_lines(tiny_classifier, DOCS, k=k, prob=True, fmt=fmt))
    if fmt == "tsv":
        first = r.stdout.split("\n")[0].split("\t")
        assert len(first) == 2 * min(k, 4)  # k is capped at the number of classes
        ps = [float(x) for x in first[1::2]]
        assert ps == sorted(ps, reverse=True)


@pytest.mark.parametrize("threshold", [0.05, 0.5, 1.0])
@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_threshold(tiny_bundle, tiny_classifier, threshold, fmt):
    r = invoke(["-m", tiny_bundle, "-k", 4, "--prob", "--threshold", threshold, "--format", fmt],
               input=lines_in(DOCS))
    assert_ok(r, expected_lines(tiny_classifier, DOCS, k=4, prob=True, threshold=threshold, fmt=fmt))


def test_threshold_that_drops_every_label_k1(tiny_bundle):
    # Nothing reaches probability 1.0: text gives an empty line, jsonl a null label.
    r = invoke(["-m", tiny_bundle, "--threshold", "1", "--prob"], input="stocks profit\n")
    assert_ok(r, "\n")
    r = invoke(["-m", tiny_bundle, "--threshold", "1", "--prob", "--format", "jsonl"], input="stocks profit\n")
    assert_ok(r, '{"label": null, "prob": null}\n')


def test_jsonl_is_valid_json_lines_with_null_for_empty(tiny_bundle):
    r = invoke(["-m", tiny_bundle, "--format", "jsonl", "-k", 2], input=lines_in(DOCS))
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows[1] is None and rows[3] is None
    assert all(len(row["labels"]) == 2 for i, row in enumerate(rows) if i not in (1, 3))


def test_files_and_dash_are_read_in_order(tmp_path, tiny_bundle, tiny_classifier):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text(lines_in(DOCS[:3]), encoding="utf-8")
    b.write_text(lines_in(DOCS[3:]), encoding="utf-8")
    stdin_docs = ["goal coach season", "bankruptcy pensions"]
    r = invoke(["-m", tiny_bundle, a, "-", b], input=lines_in(stdin_docs))
    assert r.exit_code == 0
    expected = (expected_lines(tiny_classifier, DOCS[:3]) + expected_lines(tiny_classifier, stdin_docs)
                + expected_lines(tiny_classifier, DOCS[3:]))
    assert_ok(r, expected)


def test_dash_alone_reads_stdin(tiny_bundle, tiny_classifier):
    assert_ok(invoke(["-m", tiny_bundle, "-"], input=lines_in(DOCS)), expected_lines(tiny_classifier, DOCS))


def test_last_line_without_newline(tiny_bundle, tiny_classifier):
    r = invoke(["-m", tiny_bundle], input="stocks profit\ngoal coach")
    assert_ok(r, expected_lines(tiny_classifier, ["stocks profit", "goal coach"]))


@pytest.mark.parametrize("batch_size", [1, 2, 5, 1000])
def test_batch_size_does_not_change_output(tiny_bundle, tiny_classifier, batch_size):
    docs = DOCS * 3
    r = invoke(["-m", tiny_bundle, "--batch-size", batch_size], input=lines_in(docs))
    assert_ok(r, expected_lines(tiny_classifier, docs))


def test_batch_size_with_prob_matches_within_rounding(tiny_bundle, tiny_classifier):
    docs = [d for d in DOCS if d.strip()] * 2
    r = invoke(["-m", tiny_bundle, "--batch-size", 3, "--prob", "--format", "tsv"], input=lines_in(docs))
    assert r.exit_code == 0
    proba = tiny_classifier.predict_proba(docs)
    for line, p in zip(r.stdout.splitlines(), proba, strict=True):
        name, q = line.split("\t")
        assert name == LABELS[int(p.argmax())]
        assert abs(float(q) - float(p.max())) <= 5e-5 + 1e-6


def test_threads(tiny_bundle, tiny_classifier):
    r = invoke(["-m", tiny_bundle, "--threads", 1, "--prob"], input=lines_in(DOCS))
    assert_ok(r, expected_lines(tiny_classifier, DOCS, prob=True))


def test_int8_precision(tiny_bundle):
    int8 = Classifier.load(tiny_bundle, "int8")
    r = invoke(["-m", tiny_bundle, "--precision", "int8", "--prob"], input=lines_in(DOCS))
    assert_ok(r, expected_lines(int8, DOCS, prob=True))


def test_missing_precision_is_an_error(tiny_bundle):
    assert_error(invoke(["-m", tiny_bundle, "--precision", "fp16"], input="x\n"),
                 "no fp16 model in this bundle", "fp32, int8")


def test_output_file_for_line_input(tmp_path, tiny_bundle, tiny_classifier):
    out = tmp_path / "pred.txt"
    r = invoke(["-m", tiny_bundle, "-o", out], input=lines_in(DOCS))
    assert_ok(r, "")
    assert out.read_text(encoding="utf-8") == expected_lines(tiny_classifier, DOCS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.txt"]  # no temporary file left


def test_line_output_file_untouched_on_failure(tmp_path, tiny_bundle):
    f = tmp_path / "in.txt"
    f.write_bytes(b"stocks profit\n" * 10 + b"bad \xff\n")
    out = tmp_path / "out.txt"
    out.write_text("precious\n", encoding="utf-8")
    # batches of 2: five batches are written to the temporary file before line 11 fails
    assert_error(invoke(["-m", tiny_bundle, "--strict", "--batch-size", 2, "-o", out, f]), f"{f}:11: not valid UTF-8")
    assert out.read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.txt"]


def test_output_dash_is_stdout(tiny_bundle, tiny_classifier):
    assert_ok(invoke(["-m", tiny_bundle, "-o", "-"], input=lines_in(DOCS)), expected_lines(tiny_classifier, DOCS))


# --------------------------------------------------------------------------- line input: robustness


def test_empty_input_gives_no_output(tmp_path, tiny_bundle):
    assert_ok(invoke(["-m", tiny_bundle], input=""), "")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert_ok(invoke(["-m", tiny_bundle, empty]), "")
    assert_ok(invoke(["-m", tiny_bundle, "--format", "jsonl", empty]), "")


def test_invalid_utf8_is_replaced_with_one_warning(tiny_bundle, tiny_classifier):
    data = b"stocks profit\nshares \xff merger\ngoal \xfe\xfe coach\n"
    r = invoke(["-m", tiny_bundle], input=data)
    docs = [line.decode("utf-8", errors="replace") for line in data.splitlines()]
    assert "\ufffd" in docs[1]
    assert_ok(r, expected_lines(tiny_classifier, docs),
              stderr="warning: <stdin>:2: invalid UTF-8 replaced with U+FFFD "
                     "(first such line; --strict makes this an error)\n")


def test_invalid_utf8_warning_names_the_file(tmp_path, tiny_bundle, tiny_classifier):
    f = tmp_path / "bad.txt"
    f.write_bytes(b"ok\nok\nok \x80\nok \x80\n")
    r = invoke(["-m", tiny_bundle, f])
    assert r.exit_code == 0
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"warning: {f}:3: invalid UTF-8")


def test_invalid_utf8_strict_fails_naming_the_line(tmp_path, tiny_bundle):
    r = invoke(["-m", tiny_bundle, "--strict"], input=b"stocks\nshares \xff merger\n")
    assert_error(r, "<stdin>:2: not valid UTF-8", "--strict")
    f = tmp_path / "bad.txt"
    f.write_bytes(b"ok\nok\nok \xc3\n")
    assert_error(invoke(["-m", tiny_bundle, "--strict", f]), f"{f}:3: not valid UTF-8")


def test_strict_accepts_valid_utf8(tiny_bundle, tiny_classifier):
    docs = ["Café société: stocks rise", "日本 chip laptop"]
    assert_ok(invoke(["-m", tiny_bundle, "--strict"], input=lines_in(docs)), expected_lines(tiny_classifier, docs))


def test_nul_bytes_are_ordinary_characters(tiny_bundle, tiny_classifier):
    data = b"stocks\x00profit merger\n\x00\ngoal coach\x00\n"
    r = invoke(["-m", tiny_bundle], input=data)
    assert_ok(r, expected_lines(tiny_classifier, ["stocks\x00profit merger", "\x00", "goal coach\x00"]))


def test_crlf_and_bom_are_stripped(tmp_path, tiny_bundle, tiny_classifier):
    docs = ["stocks profit merger", "", "goal coach season"]
    expected = expected_lines(tiny_classifier, docs)
    data = b"\xef\xbb\xbf" + b"".join(d.encode() + b"\r\n" for d in docs)
    assert_ok(invoke(["-m", tiny_bundle], input=data), expected)
    f = tmp_path / "crlf.txt"
    f.write_bytes(data)
    assert_ok(invoke(["-m", tiny_bundle, "--format", "jsonl", f]),
              expected_lines(tiny_classifier, docs, fmt="jsonl"))
    # the BOM is only a BOM at the very start; and a lone CR inside a line is kept as text
    assert_ok(invoke(["-m", tiny_bundle], input=b"stocks\r\r\n"), expected_lines(tiny_classifier, ["stocks\r"]))


def test_ten_megabyte_single_line(tmp_path, tiny_bundle, tiny_classifier):
    big = ("stocks profit merger shares " * 400_000).strip()
    assert len(big) > 10_000_000
    f = tmp_path / "big.txt"
    f.write_text(big + "\ngoal coach\n", encoding="utf-8")
    r = invoke(["-m", tiny_bundle, "--prob", f])
    assert_ok(r, expected_lines(tiny_classifier, [big, "goal coach"], prob=True))


def test_file_that_does_not_exist(tmp_path, tiny_bundle):
    missing = tmp_path / "nosuch.txt"
    assert_error(invoke(["-m", tiny_bundle, missing]), f"{missing}: no such file")


def test_directory_as_file_is_refused_by_click(tmp_path, tiny_bundle):
    r = invoke(["-m", tiny_bundle, tmp_path])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit)
    assert "is a directory" in r.stderr and "Traceback" not in r.output


def test_bundle_dir_that_does_not_exist(tmp_path):
    assert_error(invoke(["-m", tmp_path / "nope"], input="x\n"), f"{tmp_path / 'nope'}: no such model bundle")


def test_bundle_that_is_not_a_bundle(tmp_path, tiny_bundle):
    assert_error(invoke(["-m", tmp_path], input="x\n"), "bundle.json is missing")
    assert_error(invoke(["-m", tiny_bundle / "vocab.json"], input="x\n"), "is a directory")


def test_bundle_hash_mismatch(tmp_path, tiny_bundle):
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    (b / "vocab.json").write_bytes((b / "vocab.json").read_bytes() + b" ")
    assert_error(invoke(["-m", b], input="stocks\n"), "vocab.json: SHA-256 does not match bundle.json")


def test_bundle_with_a_missing_model_file(tmp_path, tiny_bundle):
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    (b / "model.onnx").unlink()
    assert_error(invoke(["-m", b], input="stocks\n"), "model.onnx is missing from the bundle")


def test_default_model_missing_is_a_one_line_error(tmp_path, monkeypatch):
    import lstmtc.default_model as pkg

    monkeypatch.setattr(pkg, "__file__", str(tmp_path / "__init__.py"))
    assert_error(invoke([], input="stocks\n"), "no --model was given", "--model BUNDLE")


def test_default_model_is_used_without_model(tiny_bundle, tiny_classifier, monkeypatch):
    import lstmtc.default_model as pkg

    monkeypatch.setattr(pkg, "__file__", str(tiny_bundle / "__init__.py"))
    assert_ok(invoke([], input=lines_in(DOCS)), expected_lines(tiny_classifier, DOCS))


def test_output_to_missing_directory_or_a_directory(tmp_path, tiny_bundle):
    assert_error(invoke(["-m", tiny_bundle, "-o", tmp_path / "no" / "out.txt"], input="x\n"), "does not exist")
    r = invoke(["-m", tiny_bundle, "-o", tmp_path], input="x\n")  # click's own check: a usage error
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit)
    assert r.stderr.splitlines()[-1].startswith("Error: ") and "is a directory" in r.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--csv", "a.csv", "--tsv", "b.tsv"], "give --csv or --tsv, not both"),
    (["--csv", "a.csv", "x.txt"], "FILES are line input"),
    (["--eval", "a.csv", "x.txt"], "--eval scores a labelled file on its own"),
    (["--eval", "a.csv", "--csv", "b.csv"], "--eval scores a labelled file on its own"),
    (["--eval", "a.csv", "--prob"], "drop --prob"),
    (["--eval", "a.csv", "-k", "2", "-o", "r.txt"], "drop --k, --output"),
    (["--csv", "a.csv", "-k", "2"], "--k: line input only"),
    (["--csv", "a.csv", "--threshold", "0.5", "--format", "jsonl"], "--threshold, --format: line input only"),
    (["--text-column", "text"], "need --csv, --tsv, --jsonl or --eval"),
    (["--no-header"], "need --csv, --tsv, --jsonl or --eval"),
    (["--csv", "a.csv", "--text-column", "text", "--label-column", "label"], "--label-column is for --eval"),
])
def test_conflicting_options(tmp_path, tiny_bundle, args, fragment):
    # Checked before any file is opened: nothing here exists.
    assert_error(invoke(["-m", tiny_bundle] + args, input="x\n"), fragment)


@pytest.mark.parametrize("args", [["-k", "0"], ["--threshold", "1.5"], ["--format", "xml"], ["--batch-size", "0"],
                                  ["--threads", "0"], ["--precision", "fp64"], ["--bogus"]])
def test_invalid_option_values_are_usage_errors(tiny_bundle, args):
    # click's own checks: exit 2 with usage, and an 'Error:' line; never a traceback
    r = invoke(["-m", tiny_bundle] + args, input="x\n")
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit)
    assert r.stdout == ""
    assert r.stderr.splitlines()[-1].startswith("Error: ")


def test_help_and_version():
    r = invoke(["--help"])
    assert r.exit_code == 0 and "--csv" in r.stdout and "tail -f" in r.stdout
    r = invoke(["--version"])
    assert r.exit_code == 0 and r.stdout.startswith("lstmtc-classify, version ")


# --------------------------------------------------------------------------- progress bar


@pytest.fixture
def progress_calls(monkeypatch):
    calls = []
    real = cli_module._progress

    def spy(total, label, enabled):
        calls.append(enabled)
        return real(total, label, enabled)

    monkeypatch.setattr(cli_module, "_progress", spy)
    return calls


@pytest.mark.parametrize("tty, quiet, use_file, shown", [
    (True, False, True, True),
    (True, True, True, False),
    (True, False, False, False),  # stdin: never a bar
    (False, False, True, False),  # stderr not a terminal
])
def test_progress_bar_only_for_files_on_a_terminal(tmp_path, tiny_bundle, tiny_classifier, monkeypatch,
                                                   progress_calls, tty, quiet, use_file, shown):
    monkeypatch.setattr(cli_module, "_stderr_is_tty", lambda: tty)
    f = tmp_path / "in.txt"
    f.write_text(lines_in(DOCS), encoding="utf-8")
    args = ["-m", tiny_bundle] + (["-q"] if quiet else []) + ([f] if use_file else [])
    r = invoke(args, input=None if use_file else lines_in(DOCS))
    assert r.exit_code == 0
    assert r.stdout == expected_lines(tiny_classifier, DOCS)  # the bar never touches stdout
    assert progress_calls == [shown]


def test_progress_bar_for_csv_files(tmp_path, tiny_bundle, monkeypatch, progress_calls):
    monkeypatch.setattr(cli_module, "_stderr_is_tty", lambda: True)
    f = tmp_path / "in.csv"
    f.write_text("text\nstocks\n", encoding="utf-8")
    assert invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text"]).exit_code == 0
    assert invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text", "--quiet"]).exit_code == 0
    assert invoke(["-m", tiny_bundle, "--csv", "-", "--text-column", "text"], input="text\nx\n").exit_code == 0
    assert progress_calls == [True, False, False]


# --------------------------------------------------------------------------- CSV batch scoring

CSV_TEXT = (
    'id,title,text\n'
    '1,Markets,"Stocks rose, shares\njumped after the merger"\n'
    '2,,\n'
    '3,Match,"The striker scored a ""goal"""\n'
    '4,Chips,New laptop chip\n'
)


def expected_csv(clf: Classifier, content: str, text_col: int, title_col: int | None, *, prob=False,
                 header=True, delimiter=",") -> str:
    rows = list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))
    body = rows[1:] if header else rows
    texts = [(r[title_col] + " " + r[text_col]) if title_col is not None else r[text_col] for r in body]
    live = [t for t in texts if t.strip()]
    proba = iter(clf.predict_proba(live)) if live else iter(())
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    if header:
        w.writerow(rows[0] + ["label"] + ([f"prob_{n}" for n in LABELS] if prob else []))
    for row, text in zip(body, texts):
        if text.strip():
            p = next(proba)
            extra = [LABELS[int(p.argmax())]] + ([f"{v:.6f}" for v in p] if prob else [])
        else:
            extra = [""] * (1 + (len(LABELS) if prob else 0))
        w.writerow(row + extra)
    return buf.getvalue()


@pytest.fixture
def in_csv(tmp_path) -> Path:
    p = tmp_path / "in.csv"
    p.write_text(CSV_TEXT, encoding="utf-8")
    return p


def test_csv_keeps_columns_and_rows_and_appends_label(in_csv, tiny_bundle, tiny_classifier):
    r = invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "text", "--title-column", "title"])
    expected = expected_csv(tiny_classifier, CSV_TEXT, 2, 1)
    assert_ok(r, expected)
    out = list(csv.reader(io.StringIO(r.stdout, newline="")))
    assert out[0] == ["id", "title", "text", "label"]
    assert out[1][2] == "Stocks rose, shares\njumped after the merger"  # quoted newline kept in one field
    assert out[2] == ["2", "", "", ""]  # an empty text gets an empty label
    assert out[3][2] == 'The striker scored a "goal"'
    assert [row[3] for row in out[1:]] == ["Business", "", "Sports", "Sci/Tech"]


def test_csv_with_prob_adds_one_column_per_class(in_csv, tiny_bundle, tiny_classifier):
    r = invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "text", "--title-column", "title", "--prob"])
    assert_ok(r, expected_csv(tiny_classifier, CSV_TEXT, 2, 1, prob=True))
    header = r.stdout.splitlines()[0].split(",")
    assert header == ["id", "title", "text", "label", "prob_World", "prob_Sports", "prob_Business", "prob_Sci/Tech"]


def test_csv_to_output_file(in_csv, tmp_path, tiny_bundle, tiny_classifier):
    out = tmp_path / "out.csv"
    r = invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "text", "--title-column", "title",
                "--prob", "-o", out])
    assert_ok(r, "")
    assert out.read_text(encoding="utf-8") == expected_csv(tiny_classifier, CSV_TEXT, 2, 1, prob=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_csv_output_may_not_replace_its_input(in_csv, tiny_bundle):
    before = in_csv.read_bytes()
    r = invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "text", "-o", in_csv])
    assert r.exit_code == 1
    assert r.stderr == f"Error: {in_csv}: is also an input of this command; write the output to another file\n"
    assert in_csv.read_bytes() == before


def test_csv_column_by_case_insensitive_name(in_csv, tiny_bundle, tiny_classifier):
    r = invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "TEXT", "--title-column", "Title"])
    assert_ok(r, expected_csv(tiny_classifier, CSV_TEXT, 2, 1))


def test_csv_known_column_names_need_no_options(in_csv, tiny_bundle, tiny_classifier):
    # 'text' and 'title' are known names: the text is found, and a column named 'title' is joined in
    # front of it as AG News's title is; a user who names the text column gets that column alone
    expected = expected_csv(tiny_classifier, CSV_TEXT, 2, 1)
    assert_ok(invoke(["-m", tiny_bundle, "--csv", in_csv]), expected)
    assert_ok(invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "text"]),
              expected_csv(tiny_classifier, CSV_TEXT, 2, None))
    # naming the text column as the title too leaves only the text
    assert_ok(invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "text", "--title-column", "text"]),
              expected_csv(tiny_classifier, CSV_TEXT, 2, None))


def test_agnews_original_file_with_no_header(tmp_path, tiny_bundle, tiny_classifier):
    rows = make_rows(30, seed=7)
    f = write_agnews_csv(tmp_path / "test.csv", rows)
    content = f.read_text(encoding="utf-8")
    r = invoke(["-m", tiny_bundle, "--csv", f, "--no-header", "--title-column", "2", "--text-column", "3"])
    assert_ok(r, expected_csv(tiny_classifier, content, 2, 1, header=False))
    out = list(csv.reader(io.StringIO(r.stdout, newline="")))
    assert [row[:3] for row in out] == [list(row) for row in rows]
    accuracy = sum(LABELS[int(row[0]) - 1] == o[3] for row, o in zip(rows, out)) / len(rows)
    assert accuracy >= 0.8


def test_tsv(tmp_path, tiny_bundle, tiny_classifier):
    content = "id\ttext\n1\tstocks profit merger\n2\tgoal coach\n"
    f = tmp_path / "in.tsv"
    f.write_text(content, encoding="utf-8")
    r = invoke(["-m", tiny_bundle, "--tsv", f, "--text-column", "text", "--prob"])
    assert_ok(r, expected_csv(tiny_classifier, content, 1, None, prob=True, delimiter="\t"))
    # a .tsv file given to --csv is read as TSV too, and --tsv reads stdin
    assert_ok(invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text"]),
              expected_csv(tiny_classifier, content, 1, None, delimiter="\t"))
    assert_ok(invoke(["-m", tiny_bundle, "--tsv", "-", "--text-column", "text"], input=content),
              expected_csv(tiny_classifier, content, 1, None, delimiter="\t"))


def test_csv_delimiter_option(tmp_path, tiny_bundle, tiny_classifier):
    content = "id;text\n1;stocks, profit\n"
    f = tmp_path / "in.txt"
    f.write_text(content, encoding="utf-8")
    r = invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text", "--delimiter", ";"])
    assert_ok(r, expected_csv(tiny_classifier, content, 1, None, delimiter=";"))


def test_csv_from_stdin(tiny_bundle, tiny_classifier):
    r = invoke(["-m", tiny_bundle, "--csv", "-", "--text-column", "text", "--title-column", "title"], input=CSV_TEXT)
    assert_ok(r, expected_csv(tiny_classifier, CSV_TEXT, 2, 1))


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_csv_in_chunks_gives_the_same_rows(tmp_path, tiny_bundle, tiny_classifier, batch_size):
    rows = make_rows(25, seed=3)
    f = write_agnews_csv(tmp_path / "t.csv", rows)
    r = invoke(["-m", tiny_bundle, "--csv", f, "--no-header", "--text-column", "3", "--batch-size", batch_size])
    assert_ok(r, expected_csv(tiny_classifier, f.read_text(encoding="utf-8"), 2, None, header=False))


def test_csv_crlf_bom_and_nul(tmp_path, tiny_bundle, tiny_classifier):
    content = 'text,id\r\n"stocks\r\nprofit",1\r\ngoal\x00coach,2\r\n'
    f = tmp_path / "in.csv"
    f.write_bytes(b"\xef\xbb\xbf" + content.encode())
    r = invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text"])
    assert_ok(r, expected_csv(tiny_classifier, content, 0, None))
    assert r.stdout.startswith("text,id,label\n")  # the BOM is not part of the first column's name


def test_csv_invalid_utf8_one_warning_or_strict_error(tmp_path, tiny_bundle, tiny_classifier):
    f = tmp_path / "in.csv"
    f.write_bytes(b'id,text\n1,stocks\n2,"multi\nline"\n3,bad \xff here\n4,bad \xfe again\n')
    r = invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text"])
    content = f.read_bytes().decode("utf-8", errors="replace")
    assert_ok(r, expected_csv(tiny_classifier, content, 1, None),
              stderr=f"warning: {f}:5: invalid UTF-8 replaced with U+FFFD "
                     "(first such line; --strict makes this an error)\n")
    assert_error(invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text", "--strict"]),
                 f"{f}:5: not valid UTF-8")


def test_csv_ten_megabyte_field(tmp_path, tiny_bundle, tiny_classifier):
    big = ("stocks, profit merger " * 500_000).strip()
    content = f'id,text\n1,"{big}"\n2,goal coach\n'
    f = tmp_path / "big.csv"
    f.write_text(content, encoding="utf-8")
    assert_ok(invoke(["-m", tiny_bundle, "--csv", f, "--prob"]), expected_csv(tiny_classifier, content, 1, None,
                                                                             prob=True))


def test_csv_missing_column_lists_the_columns(in_csv, tiny_bundle):
    assert_error(invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "body"]),
                 "no text column 'body'", "the columns are: id, title, text")
    assert_error(invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "text", "--title-column", "headline"]),
                 "no title column 'headline'", "id, title, text")


def test_csv_column_number_out_of_range(tmp_path, tiny_bundle):
    f = write_agnews_csv(tmp_path / "t.csv", make_rows(3))
    assert_error(invoke(["-m", tiny_bundle, "--csv", f, "--no-header", "--text-column", "9"]),
                 "text column 9 does not exist (the file has 3 columns)")


def test_csv_without_known_text_column(tmp_path, tiny_bundle):
    f = tmp_path / "t.csv"
    f.write_text("title,label\na,1\n", encoding="utf-8")
    assert_error(invoke(["-m", tiny_bundle, "--csv", f]), "cannot tell which column holds the text", "title, label")


def test_csv_short_row_is_an_error_naming_the_line(tmp_path, tiny_bundle):
    f = tmp_path / "t.csv"
    f.write_text('id,title,text\n1,a,stocks\n"2\nx",b\n', encoding="utf-8")
    # the error is in the first chunk: not even the header reaches stdout
    assert_error(invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text"]), f"{f}:3: 2 fields")


def test_csv_failure_leaves_an_existing_output_untouched(tmp_path, tiny_bundle):
    rows = make_rows(20, seed=4)
    f = write_agnews_csv(tmp_path / "t.csv", rows)
    with open(f, "a", encoding="utf-8") as fh:
        fh.write('"1","only two fields"\n')  # the last row is broken: found after earlier chunks were written
    out = tmp_path / "out.csv"
    out.write_text("precious\n", encoding="utf-8")
    r = invoke(["-m", tiny_bundle, "--csv", f, "--no-header", "--title-column", "2", "--text-column", "3",
                "--batch-size", "4", "-o", out])
    assert_error(r, f"{f}:21: 2 fields")
    assert out.read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "t.csv"]  # no temporary file left


def test_csv_failure_leaves_no_new_output(tmp_path, in_csv, tiny_bundle):
    out = tmp_path / "out.csv"
    assert_error(invoke(["-m", tiny_bundle, "--csv", in_csv, "--text-column", "nope", "-o", out]), "nope")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_csv_empty_input(tmp_path, tiny_bundle):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    assert_ok(invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text"]), "")
    assert_ok(invoke(["-m", tiny_bundle, "--csv", "-", "--text-column", "text"], input=""), "")


def test_csv_header_only(tmp_path, tiny_bundle):
    f = tmp_path / "h.csv"
    f.write_text("id,text\n", encoding="utf-8")
    assert_ok(invoke(["-m", tiny_bundle, "--csv", f, "--prob"]),
              "id,text,label,prob_World,prob_Sports,prob_Business,prob_Sci/Tech\n")


def test_csv_file_that_does_not_exist(tmp_path, tiny_bundle):
    missing = tmp_path / "nope.csv"
    assert_error(invoke(["-m", tiny_bundle, "--csv", missing, "--text-column", "text"]), f"{missing}: no such file")


def test_csv_unterminated_quote_is_an_error_naming_the_line(tmp_path, tiny_bundle):
    # It used to be read as Python's csv (non-strict) reads it: the rest of the file in one field.
    f = tmp_path / "bad.csv"
    f.write_text('text\nstocks\n"stocks profit\ngoal\n', encoding="utf-8")
    assert_error(invoke(["-m", tiny_bundle, "--csv", f, "--text-column", "text"]),
                 f"{f}:3: a quoted field starting in this record is never closed")


def test_csv_with_bad_bundle(in_csv, tmp_path, tiny_bundle):
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    (b / "model.onnx").write_bytes(b"not a model")
    out = tmp_path / "o.csv"
    assert_error(invoke(["-m", b, "--csv", in_csv, "-o", out]), "SHA-256 does not match")
    assert not out.exists()


# --------------------------------------------------------------------------- --eval


def _parse_table(text: str, title: str) -> dict[str, list[str]]:
    """Rows of a rich table printed after ``title``: first cell -> other cells."""
    lines = text[text.index(title):].splitlines()[1:]
    rows = {}
    for line in lines:
        line = line.replace("┃", "│")
        if not line.startswith(("│", "|")):
            if rows and line.startswith(("└", "+")):
                break
            continue
        cells = [c.strip() for c in line.replace("|", "│").strip("│").split("│")]
        rows[cells[0]] = cells[1:]
    return rows


def test_eval_reports_metrics_from_the_onnx_model(synth_dir, tiny_bundle, tiny_classifier):
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    path = synth_dir / "test.csv"
    rows = list(csv.reader(open(path, encoding="utf-8", newline="")))
    gold = [int(r[0]) - 1 for r in rows]
    pred = tiny_classifier.predict_proba([r[1] + " " + r[2] for r in rows]).argmax(1).tolist()

    r = invoke(["-m", tiny_bundle, "--eval", path])
    assert r.exit_code == 0 and r.stderr == "", r.output
    out = r.stdout.splitlines()
    assert out[0] == f"N\t{len(rows)}"
    assert out[1] == f"accuracy\t{accuracy_score(gold, pred):.4f}"

    p, rc, f1, support = precision_recall_fscore_support(gold, pred, labels=range(4), zero_division=0)
    per_class = _parse_table(r.stdout, "per class")
    assert list(per_class) == ["class"] + LABELS
    for i, name in enumerate(LABELS):
        assert per_class[name] == [f"{p[i]:.4f}", f"{rc[i]:.4f}", f"{f1[i]:.4f}", str(support[i])]
    cm = _parse_table(r.stdout, "confusion matrix")
    assert cm[""] == LABELS
    for i, name in enumerate(LABELS):
        assert cm[name] == [str(v) for v in confusion_matrix(gold, pred, labels=range(4))[i]]


def test_eval_with_header_and_named_columns(tmp_path, tiny_bundle, tiny_classifier):
    f = tmp_path / "lab.csv"
    docs = [("Business", "stocks profit merger"), ("Sports", "goal coach"), ("4", "chip software")]
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["topic", "body"])
        w.writerows(docs)
    r = invoke(["-m", tiny_bundle, "--eval", f, "--label-column", "topic", "--text-column", "body"])
    assert r.exit_code == 0, r.output
    pred = tiny_classifier.predict([d for _, d in docs])[0]
    acc = sum(g in (p[0], str(LABELS.index(p[0]) + 1)) for (g, _), p in zip(docs, pred)) / 3
    assert r.stdout.splitlines()[:2] == ["N\t3", f"accuracy\t{acc:.4f}"]


def test_eval_errors(tmp_path, tiny_bundle):
    assert_error(invoke(["-m", tiny_bundle, "--eval", tmp_path / "nope.csv"]), "no such file")
    f = tmp_path / "lab.csv"
    f.write_text('"7","a","b"\n', encoding="utf-8")
    assert_error(invoke(["-m", tiny_bundle, "--eval", f]), f"{f}:1: unknown label '7'", "World")
    f.write_text("", encoding="utf-8")
    assert_error(invoke(["-m", tiny_bundle, "--eval", f]), "empty")
    f.write_bytes(b'"1","a","b \xff"\n')
    assert_error(invoke(["-m", tiny_bundle, "--eval", f]), f"{f}:1: not valid UTF-8")


def test_long_texts_are_scored_in_smaller_windows_with_the_same_output(tmp_path, tiny_bundle, monkeypatch):
    """A window is handed on once its texts hold WINDOW_CHARS characters (long documents must not
    multiply memory by thousands of lines), in every input format; the output is unchanged."""
    from lstmtc.infer.apps import classify as classify_app
    from lstmtc.infer.scoring import scorer as scorer_mod

    docs = [f"{d} " * (1 + i % 5) for i, d in enumerate(DOCS * 10)]
    lines = tmp_path / "in.txt"
    lines.write_text(lines_in(docs))
    table = tmp_path / "in.csv"
    table.write_text("id,text\n" + "".join(f'{i},"{d}"\n' for i, d in enumerate(docs)))
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "text": d}) + "\n" for i, d in enumerate(docs)))
    runs = [["--prob", str(lines)], ["--prob", str(table)], ["--prob", "--jsonl", str(jsonl)]]
    sizes = []
    score = scorer_mod.Scorer.score
    monkeypatch.setattr(scorer_mod.Scorer, "score", lambda self, texts: sizes.append(len(texts)) or score(self, texts))
    before = []
    for args in runs:
        sizes.clear()
        before.append((invoke(["-m", tiny_bundle, *args]), list(sizes)))
    monkeypatch.setattr(scorer_mod, "WINDOW_CHARS", 200)
    monkeypatch.setattr(classify_app, "WINDOW_CHARS", 200)
    for args, (want, want_sizes) in zip(runs, before):
        sizes.clear()
        got = invoke(["-m", tiny_bundle, *args])
        assert_ok(got, want.stdout_bytes.decode("utf-8"))
        assert len(want_sizes) == 1 and len(sizes) > 3 and sum(sizes) == sum(want_sizes), (args, sizes)
