"""read_labelled on the AG News formats and on other labelled data; errors name file:line.
Also agnews.fetch against a local file:// "server" (never the network)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from conftest import NEEDS_SHARED, SHARED, make_rows, write_agnews_csv

from lstmtc.infer.data import agnews, read_labelled, records
from lstmtc.infer.errors import DataError
from lstmtc.infer.labels import AG_NEWS_NAMES, LabelSet

AG_LABELSET = LabelSet(AG_NEWS_NAMES, ("1", "2", "3", "4"))
BAD = b"\xff"  # never valid in UTF-8


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def write_csv(path: Path, rows, delimiter=",", quoting=csv.QUOTE_MINIMAL) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter, quoting=quoting).writerows(rows)
    return path


# ---------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------


def test_agnews_original_format(tmp_path):
    rows = make_rows(12, seed=3)
    path = write_agnews_csv(tmp_path / "train.csv", rows)
    assert path.read_text(encoding="utf-8").startswith('"1","')  # really the all-quoted layout
    ds = read_labelled(path)
    assert len(ds) == 12
    assert ds.texts == [title + " " + body for _, title, body in rows]
    assert ds.labels == [int(label) - 1 for label, _, _ in rows]
    assert ds.labelset == AG_LABELSET
    assert ds.path == str(path)


def test_kaggle_header_class_index_title_description(tmp_path):
    rows = make_rows(8, seed=4)
    path = write_csv(tmp_path / "train.csv", [("class_index", "title", "description"), *rows])
    ds = read_labelled(path)
    assert ds.texts == [title + " " + body for _, title, body in rows]
    assert ds.labels == [int(label) - 1 for label, _, _ in rows]
    assert ds.labelset.names == AG_NEWS_NAMES


def test_header_label_text(tmp_path):
    path = write_csv(tmp_path / "pool.csv", [("label", "text"), ("2", "Goal, said the coach"), ("4", "New chip")])
    ds = read_labelled(path)
    assert ds.texts == ["Goal, said the coach", "New chip"]
    assert ds.labels == [0, 1]
    assert ds.labelset.values == ("2", "4") and ds.labelset.names == ("2", "4")


def test_header_columns_in_any_order_and_case(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("Description", "ID", "Title", "Category"),
                                          ("body one", "7", "Head", "b"), ("body two", "8", "Other", "a")])
    ds = read_labelled(path)
    assert ds.texts == ["Head body one", "Other body two"]
    assert ds.labelset.values == ("a", "b") and ds.labels == [1, 0]


def test_tsv_with_named_columns(tmp_path):
    path = write_csv(tmp_path / "reviews.tsv", [("id", "sentiment", "review"), ("1", "pos", "Great, really great"),
                                                ("2", "neg", "Dull\tand long"), ("3", "pos", "Fine")], delimiter="\t")
    # A TSV that quotes its fields (here one holding a tab) says so; quotes are text by default.
    ds = read_labelled(path, text_column="review", label_column="sentiment", quoting="csv")
    assert ds.texts == ["Great, really great", "Dull\tand long", "Fine"]
    assert ds.labelset.names == ("neg", "pos")
    assert ds.labels == [1, 0, 1]


def test_explicit_delimiter(tmp_path):
    path = write(tmp_path / "data.txt", "label|text\n1|a b\n2|c, d\n")
    ds = read_labelled(path, delimiter="|")
    assert ds.texts == ["a b", "c, d"] and ds.labels == [0, 1]


def test_headerless_with_column_numbers(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("10", "first text", "ignored", "b"), ("11", "second", "x", "a")])
    ds = read_labelled(path, text_column=2, label_column=4)
    assert ds.texts == ["first text", "second"] and ds.labels == [1, 0]
    # The CLI passes numbers as strings.
    ds2 = read_labelled(path, text_column="2", label_column="4", title_column="3")
    assert ds2.texts == ["ignored first text", "x second"] and ds2.labels == [1, 0]


def test_headerless_two_columns(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("1", "yes it is"), ("0", "no it is not")])
    ds = read_labelled(path)
    assert ds.texts == ["yes it is", "no it is not"]
    assert ds.labelset.values == ("0", "1") and ds.labels == [1, 0]


def test_string_labels(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("label", "text"), ("spam", "buy now"), ("ham", "see you"),
                                          (" spam ", "cheap")])
    ds = read_labelled(path)
    assert ds.labelset.names == ("ham", "spam")
    assert ds.labels == [1, 0, 1]  # labels are stripped


def test_two_classes(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("label", "text"), ("1", "a"), ("2", "b"), ("1", "c")])
    ds = read_labelled(path)
    assert len(ds.labelset) == 2 and ds.labels == [0, 1, 0]
    assert ds.labelset.names == ("1", "2")  # only exactly 1..4 get AG News's names


def test_five_integer_classes_sorted_numerically(tmp_path):
    rows = [("label", "text")] + [(str(v), f"text {v}") for v in (10, 2, 5, 1, 3, 2)]
    ds = read_labelled(write_csv(tmp_path / "x.csv", rows))
    assert ds.labelset.values == ("1", "2", "3", "5", "10")  # numeric order, not "1","10","2"
    assert ds.labelset.names == ds.labelset.values
    assert ds.labels == [4, 1, 3, 0, 2, 1]


def test_integer_labels_are_normalized(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("label", "text"), ("01", "a"), (" 1", "b"), ("2", "c")])
    ds = read_labelled(path)
    assert ds.labelset.values == ("1", "2") and ds.labels == [0, 0, 1]


def test_label_names_override(tmp_path):
    path = write_agnews_csv(tmp_path / "x.csv", make_rows(8))
    ds = read_labelled(path, label_names=["w", "s", "b", "t"])
    assert ds.labelset == LabelSet(("w", "s", "b", "t"), ("1", "2", "3", "4"))
    with pytest.raises(DataError, match=r"x\.csv: 2 class names given for 4 labels"):
        read_labelled(path, label_names=["a", "b"])


def test_agnews_names_for_one_to_four(tmp_path):
    ds = read_labelled(write_agnews_csv(tmp_path / "x.csv", make_rows(4)))
    assert ds.labelset.names == ("World", "Sports", "Business", "Sci/Tech")
    assert [ds.labelset.names[i] for i in ds.labels] == ["World", "Sports", "Business", "Sci/Tech"]


def test_a_single_class_is_an_error(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("label", "text"), ("1", "a"), ("1", "b")])
    with pytest.raises(DataError, match="at least two classes"):
        read_labelled(path)


def test_labelset_given_maps_values_and_names(tmp_path):
    # A test file may spell a model's classes by value or by name, and need not hold all of them.
    path = write_csv(tmp_path / "test.csv", [("label", "text"), ("Sports", "goal"), ("3", "shares"),
                                             ("Sci/Tech", "chip"), ("04", "laptop")])
    ds = read_labelled(path, AG_LABELSET)
    assert ds.labels == [1, 2, 3, 3]
    assert ds.labelset is AG_LABELSET


def test_labelset_given_keeps_the_models_order(tmp_path):
    model = LabelSet(("positive", "negative"), ("pos", "neg"))
    path = write_csv(tmp_path / "x.csv", [("label", "text"), ("neg", "bad"), ("pos", "good"), ("negative", "awful")])
    ds = read_labelled(path, model)
    assert ds.labels == [1, 0, 1]


def test_quoted_newlines_keep_line_numbers(tmp_path):
    path = write(tmp_path / "x.csv",
                 'label,text\n'                       # line 1
                 '1,"first\nspans\nthree lines"\n'    # lines 2-4
                 '2,"second, with ""quotes"""\n'      # line 5
                 '\n'                                 # line 6: blank, skipped
                 '1,"multi\r\nline"\n'                # lines 7-8
                 '3,too,many\n')                      # line 9
    assert [line for line, _ in records(path)] == [1, 2, 5, 7, 9]  # a blank line is no record
    with pytest.raises(DataError) as info:
        read_labelled(path)
    assert str(info.value).startswith(f"{path}:9: 3 fields, expected 2 as in the header")


def test_quoted_newlines_are_kept_in_the_text(tmp_path):
    path = write(tmp_path / "x.csv", 'label,text\n1,"a\nb"\n2,"c"\n')
    assert read_labelled(path).texts == ["a\nb", "c"]


def test_blank_lines_are_skipped(tmp_path):
    path = write(tmp_path / "x.csv", "\n\nlabel,text\n\n1,a\n\n2,b\n\n")
    ds = read_labelled(path)
    assert ds.texts == ["a", "b"] and ds.labels == [0, 1]


def test_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbflabel,text\r\n1,a\r\n2,b\r\n")
    ds = read_labelled(path)
    assert ds.texts == ["a", "b"] and ds.labels == [0, 1]


def test_non_ascii_text(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("label", "text"), ("1", "Größe İstanbul 中文"), ("2", "naïve — café")])
    assert read_labelled(path).texts == ["Größe İstanbul 中文", "naïve — café"]


@NEEDS_SHARED
@pytest.mark.parametrize(
    ("name", "rows", "per_class"),
    [
        ("test.csv", 7_600, [1_900] * 4),
        ("partial_train/train_subset_20000rows_kaggle_format.csv", 20_000, [5_000] * 4),
        ("partial_train/train_prefix_581rows.csv", 581, None),
        ("train_pool.csv", 69_199, [17_002, 17_129, 17_207, 17_861]),
    ],
)
def test_real_agnews_files_are_detected(name, rows, per_class):
    ds = read_labelled(SHARED / name)
    assert len(ds) == rows and len(ds.labels) == rows
    assert ds.labelset == AG_LABELSET
    if per_class:
        assert [ds.labels.count(i) for i in range(4)] == per_class
    with open(SHARED / name, newline="", encoding="utf-8") as f:
        first = next(r for r in csv.reader(f) if r[0][0].isdigit())
    assert ds.texts[0] == (first[1] if len(first) == 2 else first[1] + " " + first[2])


# ---------------------------------------------------------------------------------------------
# Errors: each names the file, and the line where there is one
# ---------------------------------------------------------------------------------------------


def _error(path, **kw) -> str:
    with pytest.raises(DataError) as info:
        read_labelled(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


def test_wrong_field_count(tmp_path):
    rows = make_rows(5)
    path = write_agnews_csv(tmp_path / "x.csv", rows)
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write('"2","only a title"\n')
    msg = _error(path)
    assert msg.startswith(f"{path}:6: 2 fields, expected 3 as in the first row")


def test_unknown_label_with_labelset(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("label", "text"), ("1", "a"), ("2", "b"), ("5", "c")])
    msg = _error(path, labelset=AG_LABELSET)
    assert msg.startswith(f"{path}:4: unknown label '5'")
    assert "World" in msg and "Sci/Tech" in msg


def test_undecodable_bytes_name_the_line(tmp_path):
    path = tmp_path / "x.csv"
    data = b'label,text\n1,"fine"\n2,"also fine"\n3,"bad \xff byte"\n4,"x"\n'
    path.write_bytes(data)
    msg = _error(path)
    assert msg.startswith(f"{path}:4: not valid UTF-8")
    assert f"at byte {data.index(BAD)}" in msg


def test_undecodable_bytes_after_a_byte_order_mark(tmp_path):
    # utf-8-sig reports positions after the BOM; the line and byte must still be right.
    path = tmp_path / "x.csv"
    data = b"\xef\xbb\xbflabel,text\n1,\xff\n"
    path.write_bytes(data)
    msg = _error(path)
    assert msg.startswith(f"{path}:2: not valid UTF-8")
    assert f"at byte {data.index(BAD)}" in msg


def test_latin1_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("label,text\n1,ok\n2,café\n".encode("latin-1"))
    assert _error(path).startswith(f"{path}:3: not valid UTF-8")


def test_empty_file(tmp_path):
    path = write(tmp_path / "x.csv", "")
    assert "empty" in _error(path)
    path = write(tmp_path / "blank.csv", "\n\n")
    assert "empty" in _error(path)


def test_header_only(tmp_path):
    path = write(tmp_path / "x.csv", "label,text\n")
    assert "no data rows" in _error(path)


def test_missing_named_column_lists_the_columns(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("id", "sentiment", "review"), ("1", "pos", "good"), ("2", "neg", "bad")])
    msg = _error(path, text_column="body", label_column="sentiment")
    assert "'body'" in msg and "id, sentiment, review" in msg
    msg = _error(path, text_column="review", label_column="stars")
    assert "'stars'" in msg and "id, sentiment, review" in msg


def test_undetectable_columns_list_the_columns(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("label", "review"), ("1", "good"), ("2", "bad")])
    msg = _error(path)
    assert "text" in msg and "label, review" in msg
    path = write_csv(tmp_path / "y.csv", [("stars", "text"), ("1", "good"), ("2", "bad")])
    msg = _error(path)
    assert "label" in msg and "stars, text" in msg


def test_column_number_out_of_range(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("1", "a"), ("2", "b")])
    msg = _error(path, text_column=2, label_column=3)
    assert "column 3" in msg and "2 columns" in msg


def test_headerless_wide_file_needs_column_numbers(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("1", "a", "b", "c"), ("2", "d", "e", "f")])
    assert "--text-column" in _error(path)


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in _error(tmp_path / "nope.csv")
    assert "directory" in _error(tmp_path)


# ---------------------------------------------------------------------------------------------
# agnews.fetch, against file:// URLs only
# ---------------------------------------------------------------------------------------------

FAKE = b'"3","Fake title","Fake description."\n"1","Another","Row."\n'


@pytest.fixture
def server(tmp_path) -> Path:
    d = tmp_path / "server"
    d.mkdir()
    (d / "test.csv").write_bytes(FAKE)
    return d


def test_fetch_downloads_and_verifies(server, tmp_path, monkeypatch):
    monkeypatch.setattr(agnews, "MD5", {**agnews.MD5, "test": hashlib.md5(FAKE).hexdigest()})
    cache = tmp_path / "cache"
    got = agnews.fetch("test", cache, base_url=server.as_uri())
    assert got == cache / "test.csv"
    assert got.read_bytes() == FAKE
    assert sorted(p.name for p in cache.iterdir()) == ["test.csv"]  # no temporary file left


def test_fetch_md5_mismatch_says_which_file_to_place_where(server, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as info:
        agnews.fetch("test", cache, base_url=server.as_uri())
    msg = str(info.value)
    assert hashlib.md5(FAKE).hexdigest() in msg
    assert f"place the original AG News test.csv (md5 {agnews.MD5['test']}) at {cache / 'test.csv'}" in msg
    assert not (cache / "test.csv").exists()
    assert list(cache.iterdir()) == []  # the bad download is not left behind


def test_fetch_uses_a_verified_cached_file_without_downloading(tmp_path, monkeypatch):
    data = b'"1","cached","copy"\n'
    monkeypatch.setattr(agnews, "MD5", {**agnews.MD5, "test": hashlib.md5(data).hexdigest()})
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "test.csv").write_bytes(data)

    def no_download(*a, **kw):
        raise AssertionError("fetch downloaded although the cache holds a verified file")

    monkeypatch.setattr(agnews.urllib.request, "urlopen", no_download)
    assert agnews.fetch("test", cache, base_url=(tmp_path / "nowhere").as_uri()) == cache / "test.csv"
    assert (cache / "test.csv").read_bytes() == data


def test_fetch_rejects_a_corrupt_cached_file(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "test.csv").write_bytes(b"truncated")
    with pytest.raises(DataError) as info:
        agnews.fetch("test", cache, base_url=(tmp_path / "nowhere").as_uri())
    msg = str(info.value)
    assert str(cache / "test.csv") in msg and "does not match" in msg
    assert "place the original AG News test.csv" in msg


def test_fetch_unreachable(tmp_path):
    cache = tmp_path / "cache"
    base = (tmp_path / "no" / "such" / "dir").as_uri()
    with pytest.raises(DataError) as info:
        agnews.fetch("train", cache, base_url=base)
    msg = str(info.value)
    assert f"cannot download {base}/train.csv" in msg
    assert f"place the original AG News train.csv (md5 {agnews.MD5['train']}) at {cache / 'train.csv'}" in msg
    assert not (cache / "train.csv").exists()


def test_fetch_default_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMTC_CACHE", str(tmp_path / "c"))
    assert agnews.default_cache_dir() == tmp_path / "c" / "ag_news"
    monkeypatch.delenv("LSTMTC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert agnews.default_cache_dir() == tmp_path / "xdg" / "lstmtc" / "ag_news"


def test_fetch_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="split"):
        agnews.fetch("valid", tmp_path)


def test_agnews_constants_match_the_spec():
    assert agnews.MD5 == {"train": "b1a00f826fdfbd249f79597b59e1dc12", "test": "d52ea96a97a2d943681189a97654912d"}


def test_tsv_quotes_are_text_by_default_and_noted(tmp_path):
    # One stray quote under CSV quoting would swallow every following line into one field.
    path = write(tmp_path / "sms.tsv", 'label\ttext\nham\t"ok then\nspam\tWIN now\nham\tsee you "soon"\n')
    ds = read_labelled(path)
    assert ds.texts == ['"ok then', "WIN now", 'see you "soon"'] and len(ds) == 3
    assert any("2 rows hold quote characters" in n and "--quoting csv" in n for n in ds.notes)
    with pytest.raises(DataError, match="sms.tsv"):
        read_labelled(path, quoting="csv")


def test_csv_keeps_csv_quoting_and_notes_nothing(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("label", "text"), ("a", 'say "hi"'), ("b", "x, y"), ("a", "z")])
    ds = read_labelled(path)
    assert ds.texts == ['say "hi"', "x, y", "z"] and ds.notes == []


def test_unrecognised_header_is_noted(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("topic", "message")] + [(c, f"text {i}") for i, c in enumerate("abab")])
    ds = read_labelled(path)
    assert "topic" in ds.labelset.values  # read as data: the note says so
    assert len(ds.notes) == 1 and ds.notes[0].startswith(f"{path}:1: the first row looks like a header")
    named = read_labelled(path, text_column="message", label_column="topic")
    assert named.labelset.values == ("a", "b") and named.notes == []


def test_unknown_quoting_is_refused(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("label", "text"), ("a", "x"), ("b", "y")])
    with pytest.raises(DataError, match="quoting must be one of csv, none"):
        read_labelled(path, quoting="tsv")


def test_an_empty_label_is_an_error_naming_the_line(tmp_path):
    # Not a class named "" that every blank cell would join.
    path = tmp_path / "d.csv"
    path.write_text("label,text\n1,hello world\n  ,no label here\n2,second\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"d\.csv:3: the label is empty; fill it in or drop the row$"):
        read_labelled(path)
