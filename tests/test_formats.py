"""JSON Lines and fastText's format as labelled data (data.formats): read by every verb that reads
labelled data, exactly as the same rows in a CSV; refused with a way out where only CSV/TSV is read."""

from __future__ import annotations

import csv
import gzip
import json
import re

import pytest
from click.testing import CliRunner
from conftest import make_rows, write_agnews_csv

from lstmtc.infer.apps.classify_cli import main as classify_main
from lstmtc.infer.data import read_labelled
from lstmtc.infer.data.formats import CSV, FASTTEXT, JSONL, detect
from lstmtc.infer.errors import DataError
from lstmtc.infer.labels import LabelSet
from lstmtc.train.evaluate_cli import main as evaluate_main


def write_jsonl(path, objects, end="\n"):
    path.write_text("".join(json.dumps(o) + end for o in objects), encoding="utf-8")
    return path


def test_jsonl_rows_are_read_as_the_same_rows_in_a_csv(tmp_path):
    rows = make_rows(40, seed=3)
    csv_path = write_agnews_csv(tmp_path / "d.csv", rows)
    objects = [{"id": i, "label": int(label), "title": title, "description": body}
               for i, (label, title, body) in enumerate(rows)]
    from_csv = read_labelled(csv_path)
    from_jsonl = read_labelled(write_jsonl(tmp_path / "d.jsonl", objects))
    assert from_jsonl.texts == from_csv.texts  # title joined in front, as AG News's CSV
    assert from_jsonl.labels == from_csv.labels and from_jsonl.labelset == from_csv.labelset


def test_jsonl_found_by_its_first_line_whatever_the_name_with_bom_crlf_blank_lines_and_gzip(tmp_path):
    text = '\ufeff{"text": "goal", "label": "sports"}\r\n\r\n{"label": "tech", "text": "chip", "x": [1]}\r\n'
    plain = tmp_path / "data.txt"
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / "data.jsonl.gz"
    packed.write_bytes(gzip.compress(text.encode("utf-8")))
    for path in (plain, packed):
        ds = read_labelled(path)
        assert ds.texts == ["goal", "chip"]
        assert [ds.labelset.names[i] for i in ds.labels] == ["sports", "tech"]


def test_jsonl_columns_by_name_and_values_of_every_json_type(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"review": "great", "stars": 5, "ok": True},
                                              {"review": None, "stars": 1.5, "ok": False}])
    ds = read_labelled(path, text_column="review", label_column="stars")
    assert ds.texts == ["great", ""]
    assert sorted(ds.labelset.values) == ["1.5", "5"]
    ds = read_labelled(path, text_column="review", label_column="ok")
    assert [ds.labelset.names[i] for i in ds.labels] == ["true", "false"]
    with pytest.raises(DataError, match=r"^.*r\.jsonl: no label column 'nope'; the columns are: review, stars, ok$"):
        read_labelled(path, text_column="review", label_column="nope")


@pytest.mark.parametrize("name, second, message", [
    ("b.jsonl", '{"label": "a"}', r"b\.jsonl:2: no key 'text', which the first object has and holds the text$"),
    ("b.jsonl", '{"text": "x", "label": ["a", "b"]}',
     r"b\.jsonl:2: 'label' is a JSON list; lstmtc trains one label per text$"),
    ("b.jsonl", '{"text": {"t": 1}, "label": "a"}', r"b\.jsonl:2: 'text' is a JSON object; the text must be a string$"),
    ("b.jsonl", '{"text": "x", "label": null}', r"b\.jsonl:2: the label is empty; fill it in or drop the row$"),
    ("b.jsonl", '["x", "a"]', r"b\.jsonl:2: a JSON list where each row should be an object such as \{\"text\""),
    ("b.jsonl", '{"text": "x", "label": "a"', r"b\.jsonl:2: not valid JSON \(Expecting ',' delimiter\); each line of "
                                               r"a JSON Lines file holds one object$"),
    ("f.txt", "__label__a __label__b two labels", r"f\.txt:2: 2 labels \(__label__a, __label__b\); lstmtc trains one "
                                                  r"label per text: keep one on each line$"),
    ("f.txt", "no label here", r"f\.txt:2: no __label__ at the start of the line; each line of a fastText file is "
                               r"__label__CLASS followed by the text$"),
    ("f.txt", "__label__ text", r"f\.txt:2: the label is empty; fill it in or drop the row$"),
])
def test_bad_lines_are_one_line_errors_naming_the_line(tmp_path, name, second, message):
    first = '{"text": "fine", "label": "a"}' if name.endswith(".jsonl") else "__label__a fine"
    path = tmp_path / name
    path.write_text(first + "\n" + second + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_labelled(path)


def test_a_json_array_of_objects_is_read_with_its_line_numbers(tmp_path):
    rows = [{"text": "goal", "label": "sports"}, {"label": "tech", "text": "chip", "x": [1]}]
    pretty = tmp_path / "records.json"
    pretty.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(rows), encoding="utf-8")
    lines = tmp_path / "lines.json"  # JSON Lines under a .json name
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for path in (pretty, compact, lines):
        ds = read_labelled(path)
        assert ds.texts == ["goal", "chip"] and [ds.labelset.names[i] for i in ds.labels] == ["sports", "tech"]
    bad = tmp_path / "bad.json"
    bad.write_text('[\n {"text": "a", "label": "x"},\n\n {"text": "b", "label": ["x"]}\n]', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.json:4: 'label' is a JSON list; lstmtc trains one label per text$"):
        read_labelled(bad)
    cut = tmp_path / "cut.json"
    cut.write_text('[\n {"text": "a", "label": "x"}\n {"text": "b"}', encoding="utf-8")
    with pytest.raises(DataError, match=r"cut\.json:3: the array's items must be separated by ','"):
        read_labelled(cut)
    one = tmp_path / "one.json"
    one.write_text('{\n "text": "x"\n}', encoding="utf-8")
    with pytest.raises(DataError, match=r"one\.json: one JSON document, not an array of objects or JSON Lines"):
        read_labelled(one)


def test_fasttext_lines(tmp_path):
    path = tmp_path / "cooking.train"
    path.write_text("__label__baking  How do I   proof yeast?\n\n__label__sauce Roux too thin\t help\n"
                    "__label__baking\n", encoding="utf-8")
    ds = read_labelled(path)
    assert ds.texts == ["How do I   proof yeast?", "Roux too thin\t help", ""]
    assert [ds.labelset.names[i] for i in ds.labels] == ["baking", "sauce", "baking"]


def test_a_csv_name_or_a_delimiter_means_csv(tmp_path):
    assert detect("x.csv", '{"text": "a"}') == CSV and detect("x.tsv.gz", "__label__a b") == CSV
    assert detect("x.txt", '{"text": "a"}') == JSONL and detect("x.ndjson", None) == JSONL
    assert detect("x.txt", "__label__a b") == FASTTEXT and detect("-", "label,text") == CSV
    assert detect("x.txt", '{"text": "a", broken') == CSV
    path = tmp_path / "odd.txt"
    path.write_text("__label__a;first\n__label__b;second\n", encoding="utf-8")
    ds = read_labelled(path, delimiter=";", header=False, text_column=2, label_column=1)
    assert ds.texts == ["first", "second"]


def test_no_header_does_not_apply_to_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "a", "label": "x"}])
    with pytest.raises(DataError, match=r"d\.jsonl: --no-header is for CSV/TSV; this jsonl file names its columns "
                                        r"\(text, label\)$"):
        read_labelled(path, header=False)


def test_every_labelled_verb_reads_jsonl_and_fasttext_as_the_csv(tmp_path, tiny_bundle, tiny_run):
    rows = make_rows(60, seed=7)
    csv_path = write_agnews_csv(tmp_path / "t.csv", rows)
    jsonl = write_jsonl(tmp_path / "t.jsonl", [{"label": lab, "text": f"{title} {body}"} for lab, title, body in rows])
    fasttext = tmp_path / "t.txt"
    fasttext.write_text("".join(f"__label__{label} {title} {body}\n" for label, title, body in rows), encoding="utf-8")
    runner = CliRunner()
    outputs = [runner.invoke(classify_main, ["--model", str(tiny_bundle), "--eval", str(p)])
               for p in (csv_path, jsonl, fasttext)]
    assert [r.exit_code for r in outputs] == [0, 0, 0], [r.output for r in outputs]
    assert outputs[0].output.startswith("N\t60\naccuracy\t")
    assert outputs[1].output == outputs[0].output == outputs[2].output
    results = [runner.invoke(evaluate_main, [str(tiny_run / "best.pt"), str(p)]) for p in (csv_path, jsonl, fasttext)]
    assert [r.exit_code for r in results] == [0, 0, 0], [r.output for r in results]
    assert results[0].output.replace("t.csv", "X") == results[1].output.replace("t.jsonl", "X") \
        == results[2].output.replace("t.txt", "X")


def test_where_only_csv_is_read_the_error_says_how_to_pass_the_texts(tmp_path, tiny_bundle):
    jsonl = write_jsonl(tmp_path / "t.jsonl", [{"label": "1", "text": "goal"}])
    fasttext = tmp_path / "t.txt"
    fasttext.write_text("__label__1 goal\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--csv", str(jsonl)])
    assert r.exit_code == 1
    assert r.output == (f"Error: {jsonl}: a JSON Lines file, and only CSV/TSV is read here; lstmtc-train, "
                        "lstmtc-evaluate and lstmtc-classify --eval read it as labelled data; to classify its texts: "
                        f"lstmtc-classify --jsonl {jsonl}\n")
    r = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--csv", str(fasttext)])
    assert r.exit_code == 1 and f"sed 's/^__label__[^ ]* *//' {fasttext} | lstmtc-classify" in r.output
    r = runner.invoke(classify_main, ["--model", str(tiny_bundle), str(jsonl)])
    assert r.exit_code == 1 and r.output == (
        f"Error: {jsonl}: JSON Lines: each line would be read as raw JSON, keys and all; score it with "
        f"lstmtc-classify --jsonl {jsonl} (--eval for labelled data)\n")


def test_lstmtc_train_on_jsonl_learns_what_it_learns_from_the_csv(tmp_path):
    from lstmtc.train.cli import main as train_main

    rows = make_rows(200, seed=5)
    csv_path = write_agnews_csv(tmp_path / "t.csv", rows)
    jsonl = write_jsonl(tmp_path / "t.jsonl", [{"title": t, "text": b, "label": int(label)} for label, t, b in rows])
    histories = []
    for name, path in (("csv", csv_path), ("jsonl", jsonl)):
        r = CliRunner().invoke(train_main, ["--train", str(path), "--out", str(tmp_path / name), "--epochs", "2",
                                            "--threads", "1"])
        assert r.exit_code == 0, r.output
        histories.append([json.loads(line) for line in (tmp_path / name / "history.jsonl").read_text().splitlines()])
    strip = [[{k: v for k, v in h.items() if k != "seconds"} for h in hist] for hist in histories]
    assert strip[0] == strip[1] and len(strip[0]) == 2


def test_eval_takes_the_training_keys_of_a_jsonl_model(tmp_path):
    from lstmtc.export import export_bundle
    from lstmtc.train.cli import main as train_main

    rows = make_rows(200, seed=6)
    train = write_jsonl(tmp_path / "train.jsonl", [{"headline": f"{t} {b}", "topic": f"t{label}"}
                                                   for label, t, b in rows])
    r = CliRunner().invoke(train_main, ["--train", str(train), "--text-column", "headline", "--label-column", "topic",
                                        "--out", str(tmp_path / "run"), "--epochs", "1", "--threads", "1"])
    assert r.exit_code == 0, r.output
    export_bundle(tmp_path / "run" / "best.pt", tmp_path / "bundle")
    test = write_jsonl(tmp_path / "test.jsonl", [{"id": i, "topic": f"t{label}", "headline": f"{t} {b}"}
                                                 for i, (label, t, b) in enumerate(make_rows(40, seed=8))])
    r = CliRunner().invoke(classify_main, ["--model", str(tmp_path / "bundle"), "--eval", str(test)])
    assert r.exit_code == 0, r.output
    assert "\nN\t40\n" in r.output and "columns from the model: text=headline, label=topic" in r.output


@pytest.mark.parametrize("delimiter, shown", [(";", ";"), ("|", "|"), ("\t", "\\\\t")])
def test_a_file_with_another_delimiter_is_an_error_that_names_it(tmp_path, delimiter, shown):
    path = tmp_path / "export.csv"
    path.write_text(f"label{delimiter}text\nspam{delimiter}win, now\nham{delimiter}see you\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"export\.csv: .*; its first row is one field holding 1 '{shown}': give "
                                        rf"--delimiter '{shown}'$"):
        read_labelled(path)
    typed = "\\t" if delimiter == "\t" else delimiter  # what a shell user types for a tab
    ds = read_labelled(path, delimiter=typed)
    assert ds.texts == ["win, now", "see you"]


def test_a_delimiter_that_is_not_one_character_is_a_usage_error(tmp_path, tiny_bundle):
    path = tmp_path / "d.csv"
    path.write_text("label,text\n1,a\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^the delimiter must be one character other than a quote or a line end "
                                        r"\(\\t or tab for a tab\), not ';;'$"):
        read_labelled(path, delimiter=";;")
    r = CliRunner().invoke(evaluate_main, [str(tiny_bundle), str(path), "--delimiter", '"'])
    assert r.exit_code == 2 and "Invalid value for '--delimiter': the delimiter must be one character" in r.output
    tabbed = tmp_path / "t.csv"
    tabbed.write_text("text\tid\nstocks fell\t7\n", encoding="utf-8")
    r = CliRunner().invoke(classify_main, ["--model", str(tiny_bundle), "--csv", str(tabbed), "--delimiter", "tab"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "text\tid\tlabel" and r.output.splitlines()[1].startswith("stocks fell\t7\t")


def test_the_label_column_cannot_be_the_text_or_the_title(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("label,text,title\na,x,t\nb,y,u\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"d\.csv: the label and the text are the same column \(label\); name them "
                                        r"apart with --label-column and --text-column$"):
        read_labelled(path, text_column="label", label_column="label")
    with pytest.raises(DataError, match=r"the label and the title are the same column \(3\)"):
        read_labelled(path, header=False, text_column=2, title_column=3, label_column=3)


def test_labels_that_are_all_different_name_the_likely_mistake(tmp_path):
    from lstmtc.train.cli import main as train_main

    path = tmp_path / "ids.csv"
    path.write_text("label,text\n" + "".join(f"id{i},text {i}\n" for i in range(30)), encoding="utf-8")
    r = CliRunner().invoke(train_main, ["--train", str(path), "--out", str(tmp_path / "run")])
    assert r.exit_code == 1
    assert r.output.endswith(f"Error: {path}: no class has two rows, so none can be both learnt and checked (30 rows, "
                             "30 labels): check that --label-column names the label, not an id, or give --valid FILE\n")


def test_headerless_text_label_label_file_names_the_label_column(tmp_path):
    # GermEval 2018's layout: text<TAB>coarse<TAB>fine, no header. Three columns without a header read
    # as AG News's label,title,description would take every tweet as a class of its own.
    path = tmp_path / "tweets.txt"
    fine = ("ABUSE", "INSULT", "PROFANITY", "OTHER")
    path.write_text("".join(f"tweet number {i} says something\t{'OTHER' if i % 3 else 'OFFENSE'}\t{fine[i % 4]}\n"
                            for i in range(60)), encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_labelled(path)
    assert str(e.value) == (f"{path}: the label column (1) has 60 different values in 60 rows, column 2 only 2 "
                            "(OFFENSE, OTHER): give --label-column 2 --text-column 1")
    data = read_labelled(path, label_column=2, text_column=1)
    assert data.labelset.names == ("OFFENSE", "OTHER") and data.texts[0] == "tweet number 0 says something"


def test_swapped_columns_are_named_and_many_labels_noted(tmp_path):
    path = tmp_path / "swapped.csv"  # text,label without a header, read as label,text
    path.write_text("".join(f"message number {i},{'spam' if i % 3 else 'ham'}\n" for i in range(40)), encoding="utf-8")
    with pytest.raises(DataError, match=r"swapped\.csv: the label column \(1\) has 40 different values in 40 rows and "
                                        r"the text column \(2\) only 2: the columns look swapped; give "
                                        r"--label-column 2 --text-column 1$"):
        read_labelled(path)
    assert read_labelled(path, label_column=2, text_column=1, header=False).labelset.names == ("ham", "spam")
    ids = tmp_path / "ids.csv"
    ids.write_text("label,text\n" + "".join(f"r{i % 30},text {i}\n" for i in range(40)), encoding="utf-8")
    assert read_labelled(ids).notes == [f"{ids}: 30 different labels in 40 rows, so most classes have one row: check "
                                        "that the label column (label) holds the label"]
    assert read_labelled(ids, LabelSet.infer([f"r{i}" for i in range(30)])).notes == []  # evaluation: the model's


def test_a_file_without_a_csv_name_and_a_tab_in_its_first_line_is_tsv(tmp_path, tiny_bundle):
    sms = tmp_path / "SMSSpamCollection"  # the UCI file: label<TAB>text, no extension, quotes in texts
    sms.write_text('ham\tGo until jurong point, crazy..\nspam\tFree "entry" in 2 a wkly comp\nham\tOk lar, "k"\n',
                   encoding="utf-8")
    ds = read_labelled(sms)
    assert ds.texts == ["Go until jurong point, crazy..", 'Free "entry" in 2 a wkly comp', 'Ok lar, "k"']
    assert ds.labelset.names == ("ham", "spam")
    named_csv = tmp_path / "sms.csv"  # a .csv name keeps commas, whatever the first line holds
    named_csv.write_bytes(sms.read_bytes())
    with pytest.raises(DataError, match=r"sms\.csv:2: 1 field, expected 2 as in the first row; check the "
                                        r"quoting and the delimiter; its fields hold tabs: a tab-separated file\? "
                                        r"give --delimiter tab$"):
        read_labelled(named_csv)
    r = CliRunner().invoke(classify_main, ["--model", str(tiny_bundle), "--csv", "-", "--text-column", "text"],
                           input="id\ttext\n7\tstocks fell, sharply\n")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "id\ttext\tlabel" and r.output.splitlines()[1].startswith("7\tstocks fell, ")


@pytest.mark.parametrize("head, what", [
    (b"PK\x03\x04\x14\x00\x00\x00", "a ZIP archive (an Excel .xlsx or OpenDocument .ods workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "an old Excel .xls (OLE) file"),
    (b"PAR1\x15\x04\x15", "a Parquet file"),
    (gzip.compress(b"label,text\n1,a\n"), "gzip-compressed"),
    (b"BZh91AY&SY", "bzip2-compressed"),
    (b"SQLite format 3\x00\x10\x00", "an SQLite database"),
])
def test_a_binary_file_is_named_for_what_it_is(tmp_path, tiny_bundle, head, what):
    path = tmp_path / "data.csv"
    path.write_bytes(head + b"\n" + bytes(range(256)))
    with pytest.raises(DataError, match=rf"data\.csv: {re.escape(what)}, not text; lstmtc reads CSV/TSV, JSON Lines "
                                        r"or fastText text: "):
        read_labelled(path)
    r = CliRunner().invoke(classify_main, ["--model", str(tiny_bundle), str(path)])  # line mode replaces bad bytes
    assert r.exit_code == 1 and r.output.startswith(f"Error: {path}: {what}, not text;") and r.output.count("\n") == 1


def test_nul_bytes_are_not_text_but_a_stray_one_is(tmp_path, tiny_bundle):
    wide = tmp_path / "wide.txt"
    wide.write_bytes("stocks rose\nthe striker scored\n".encode("utf-16-le"))  # no byte-order mark
    r = CliRunner().invoke(classify_main, ["--model", str(tiny_bundle), str(wide)])
    assert r.exit_code == 1
    assert "31 NUL bytes in the first 62: not UTF-8 text. UTF-16 without a byte-order mark? name it with --encoding " \
           "utf-16-le" in r.output
    r = CliRunner().invoke(classify_main, ["--model", str(tiny_bundle), "--encoding", "utf-16-le", str(wide)])
    assert r.exit_code == 0 and len(r.output.splitlines()) == 2
    stray = tmp_path / "stray.txt"
    stray.write_bytes(b"stocks rose\x00 today\nthe striker scored\n")
    r = CliRunner().invoke(classify_main, ["--model", str(tiny_bundle), str(stray)])
    assert r.exit_code == 0 and len(r.output.splitlines()) == 2


def test_evaluation_reads_in_batches_what_read_labelled_reads(tmp_path):
    from lstmtc.infer.data import labelled_batches

    rows = make_rows(25, seed=9)
    path = write_agnews_csv(tmp_path / "t.csv", rows)
    whole = read_labelled(path)
    batches = list(labelled_batches(path, whole.labelset, 10))
    assert [len(t) for t, _ in batches] == [10, 10, 5]
    assert sum((t for t, _ in batches), []) == whole.texts and sum((y for _, y in batches), []) == whole.labels
    unknown = tmp_path / "u.csv"
    unknown.write_text("label,text\n1,a\n2,b\n7,c\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"u\.csv:4: unknown label '7'; the model's classes are 1 \(World\), 2 "):
        list(labelled_batches(unknown, whole.labelset, 2))
    header_only = tmp_path / "h.csv"
    header_only.write_text("label,text\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"h\.csv: no data rows$"):
        list(labelled_batches(header_only, whole.labelset, 2))


def test_integer_labels_written_as_floats_are_the_integers(tmp_path):
    path = write_jsonl(tmp_path / "f.jsonl", [{"text": "a", "label": 1.0}, {"text": "b", "label": 1},
                                              {"text": "c", "label": 0}, {"text": "d", "label": "0.0"}])
    ds = read_labelled(path)
    assert ds.labelset.values == ("0", "1") and ds.labels == [1, 1, 0, 0]


def test_explain_does_not_read_a_json_line_as_text(tmp_path, tiny_bundle):
    from lstmtc.infer.apps.explain_cli import main as explain_main

    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "stocks fell", "label": "3"}])
    r = CliRunner().invoke(explain_main, ["--model", str(tiny_bundle), "--file", str(path), "--line", "1"])
    assert r.exit_code == 1 and r.output == (
        f"Error: {path}: JSON Lines: each line would be read as raw JSON, keys and all; pass the text itself: "
        f"lstmtc-explain \"$(sed -n 1p {path} | jq -r .text)\"\n")


def test_classify_jsonl_adds_the_prediction_keys_as_csv_mode_adds_columns(tmp_path, tiny_bundle):
    rows = make_rows(30, seed=11)
    objects = [{"id": i, "title": t, "description": b} for i, (_, t, b) in enumerate(rows)]
    objects[4]["title"] = objects[4]["description"] = None  # no text: null answers, as empty cells get empty cells
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("\n".join(json.dumps(o) for o in objects[:10]) + "\n\n" +
                     "\n".join(json.dumps(o) for o in objects[10:]) + "\n", encoding="utf-8")
    csv_path = tmp_path / "in.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "description"])
        w.writerows([o["id"], o["title"] or "", o["description"] or ""] for o in objects)
    runner = CliRunner()
    got = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--jsonl", str(jsonl), "--prob"])
    ref = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--csv", str(csv_path), "--prob"])
    assert got.exit_code == 0 and ref.exit_code == 0, (got.output, ref.output)
    out = [json.loads(line) for line in got.output.splitlines()]
    table = list(csv.DictReader(ref.output.splitlines()))
    assert len(out) == 30 and [o["id"] for o in out] == list(range(30))
    assert list(out[0]) == ["id", "title", "description", "label"] + [f"prob_{n}" for n in ("World", "Sports",
                                                                                            "Business", "Sci/Tech")]
    assert out[4]["label"] is None and out[4]["prob_World"] is None and table[4]["label"] == ""
    for o, r in zip(out, table):
        if o["label"] is not None:
            assert o["label"] == r["label"] and abs(o["prob_Sports"] - float(r["prob_Sports"])) < 1e-6


def test_classify_jsonl_refusals(tmp_path, tiny_bundle):
    runner = CliRunner()
    labelled = write_jsonl(tmp_path / "l.jsonl", [{"text": "goal", "label": "2"}])
    r = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--jsonl", str(labelled)])
    assert r.exit_code == 1 and r.output == (f"Error: {labelled}:1: the object already has the key label that "
                                             "scoring adds; name the added keys apart with --output-prefix (e.g. "
                                             "pred_)\n")
    r = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--jsonl", str(labelled), "--output-prefix", "p_"])
    assert r.exit_code == 0 and json.loads(r.output)["p_label"] in ("World", "Sports", "Business", "Sci/Tech")
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("text\ngoal\n", encoding="utf-8")
    r = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--jsonl", str(csv_path)])
    assert r.exit_code == 1 and "not JSON Lines (its first line is no JSON object); score a CSV/TSV" in r.output
    for extra, message in ((["--csv", str(csv_path)], "give --csv or --jsonl, not both"),
                           (["--no-header"], "--no-header, --delimiter and --quoting are for CSV/TSV"),
                           (["--engine", "dask"], "--jsonl runs with --engine local")):
        r = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--jsonl", str(labelled), *extra])
        assert r.exit_code == 1 and message in r.output, r.output
    r = runner.invoke(classify_main, ["--model", str(tiny_bundle), "--jsonl", "-"], input='{"text": "goal"}\n[1]\n')
    assert r.exit_code == 1 and r.output.endswith("Error: <stdin>:2: a JSON list where each row should be an object "
                                                  'such as {"text": "...", ...}\n')


def test_text_that_starts_like_a_magic_number_is_text(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("PAR1,parts order\nBZh9,model name\n%PDF,document\nPAR1,parts again\n", encoding="utf-8")
    ds = read_labelled(path, header=False)
    assert ds.texts == ["parts order", "model name", "document", "parts again"]


def test_excel_sep_line_names_the_delimiter(tmp_path, tiny_bundle):
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\r\nlabel;text\r\nspam;win, now\r\nham;see you\r\nham;ok\r\n", encoding="utf-8")
    ds = read_labelled(path)
    assert ds.texts == ["win, now", "see you", "ok"] and ds.labelset.names == ("ham", "spam")
    bad = tmp_path / "bad.csv"
    bad.write_text("sep=;\nlabel;text\nspam;a;b\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.csv:3: 3 fields, expected 2 as in the header"):
        read_labelled(bad)  # line numbers are the file's, the sep line counted
    r = CliRunner().invoke(classify_main, ["--model", str(tiny_bundle), "--csv", str(path), "--output-prefix", "p_"])
    assert r.exit_code == 0 and r.output.splitlines()[0] == "label;text;p_label"
