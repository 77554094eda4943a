"""lstmtc's basic_english against torchtext's own code, on all of AG News and on generated text.

torchtext no longer imports beside a current torch, so its pure-Python ``torchtext/data/utils.py``
is loaded by file path (``pip install --no-deps torchtext==0.18.0`` puts it there).
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import NEEDS_SHARED, SHARED, torchtext_file
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lstmtc.infer.text import TOKENIZERS, basic_english


def _load_reference():
    path = torchtext_file("data/utils.py")
    if path is None:
        pytest.skip("torchtext's files are not installed (pip install --no-deps torchtext==0.18.0)")
    spec = importlib.util.spec_from_file_location("_torchtext_data_utils", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._basic_english_normalize


@pytest.fixture(scope="module")
def reference():
    return _load_reference()


def test_reference_loaded_without_importing_torchtext(reference):
    assert "torchtext" not in sys.modules
    # Sanity: this really is the regex chain, not something trivially equal to str.split.
    assert reference("Hello, World!") == ["hello", ",", "world", "!"]
    assert TOKENIZERS["basic_english"] is basic_english


# ---------------------------------------------------------------------------------------------
# Every text of every CSV under ../shared/data/ag_news
# ---------------------------------------------------------------------------------------------

# (relative path, has header, columns) -> expected data rows; the README gives these counts.
AGNEWS_FILES = {
    "test.csv": (False, ("class", "title", "description"), 7_600),
    "train_pool.csv": (True, ("label", "text"), 69_199),
    "partial_train/train_prefix_581rows.csv": (False, ("class", "title", "description"), 581),
    "partial_train/train_subset_20000rows_kaggle_format.csv": (True, ("class_index", "title", "description"), 20_000),
}
# Full texts of all files, plus title and description apart for the three-column files.
EXPECTED_COMPARED = sum(n for *_, n in AGNEWS_FILES.values()) + 2 * sum(
    n for _, cols, n in AGNEWS_FILES.values() if len(cols) == 3
)


def _texts(path: Path, has_header: bool, columns: tuple[str, ...]):
    """Yield the strings to compare: the document text, then title and description alone."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        if has_header:
            assert tuple(next(reader)) == columns
        for row in reader:
            assert len(row) == len(columns), f"{path}:{reader.line_num}: {row!r}"
            if len(columns) == 3:
                _, title, description = row
                yield title + " " + description
                yield title
                yield description
            else:
                yield row[1]


@NEEDS_SHARED
def test_every_agnews_csv_is_covered():
    found = {p.relative_to(SHARED).as_posix() for p in SHARED.rglob("*.csv")}
    assert found == set(AGNEWS_FILES), "a CSV was added to or removed from ../shared/data/ag_news"


@NEEDS_SHARED
@pytest.mark.parametrize("name", sorted(AGNEWS_FILES))
def test_parity_on_agnews_file(name, reference, record_property):
    has_header, columns, rows = AGNEWS_FILES[name]
    compared, mismatches = 0, []
    for text in _texts(SHARED / name, has_header, columns):
        compared += 1
        if basic_english(text) != reference(text):
            mismatches.append(text)
    per_row = 3 if len(columns) == 3 else 1
    assert compared == rows * per_row
    record_property("texts_compared", compared)
    print(f"{name}: {compared} texts compared")
    assert not mismatches, f"{len(mismatches)} texts differ, first: {mismatches[0]!r}"


def test_expected_total():
    # 97,380 documents; 28,181 of them also split into title and description.
    assert EXPECTED_COMPARED == 97_380 + 2 * 28_181 == 153_742


# ---------------------------------------------------------------------------------------------
# Generated text
# ---------------------------------------------------------------------------------------------

UNICODE_WHITESPACE = (
    "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
# Look-alikes that are NOT whitespace to re's \s or str.split.
NOT_WHITESPACE = "\u200b\u200c\u200d\u2060\ufeff\u180e"
RULE_PUNCTUATION = "'\".,()!?;:"
OTHER_PUNCTUATION = "\\/-_#$&*+<=>@[]^`{|}~%"
BR_VARIANTS = ["<br />", "<BR />", "<Br />", "<br/>", "<br>", "<br;/>", '<br"/>', '<br "/>', "<br '/>", "<br  />",
               "<br\t/>", "<br . />", "<br,/>", "<<br />>", "<br /><br />"]
LENGTH_CHANGING = "İẞﬁŉǰΐΰ"  # lower() of 'İ' is two code points; the others change under casefold/upper
SCRIPTS = "Здравствуй мир Ελληνικά עברית العربية हिन्दी 中文字符 日本語のテキスト 한국어 ไทย ÀÉÎÕÜ ǅǈǋ ΣΣ"

pieces = st.one_of(
    st.sampled_from(BR_VARIANTS),
    st.sampled_from(list(UNICODE_WHITESPACE)),
    st.sampled_from(list(NOT_WHITESPACE)),
    st.sampled_from(list(RULE_PUNCTUATION)),
    st.sampled_from(list(OTHER_PUNCTUATION)),
    st.sampled_from(list(LENGTH_CHANGING)),
    st.sampled_from(SCRIPTS.split()),
    st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x7A), min_size=1, max_size=8),
    st.text(min_size=1, max_size=4),  # anything at all, surrogates aside
)
mixed_text = st.lists(pieces, max_size=40).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mixed_text)
@example(text="")
@example(text="It's \"quoted\"<br />A.B,(C)!?;:D")
@example(text="<BR />x<br;/>y<br\"/>z<br />")
@example(text="İSTANBUL'da İyi")
@example(text="".join(f"w{i}{ch}" for i, ch in enumerate(UNICODE_WHITESPACE)))
@example(text=NOT_WHITESPACE.join("abcdefg"))
def test_parity_on_generated_text(text, reference):
    assert basic_english(text) == reference(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_parity_on_arbitrary_unicode(text, reference):
    assert basic_english(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(chars=st.lists(st.sampled_from([*UNICODE_WHITESPACE, "a", "B", "<br />", "<BR />", "'", '"']), max_size=30))
def test_every_unicode_whitespace_splits(chars, reference):
    text = "".join(chars)
    tokens = basic_english(text)
    assert tokens == reference(text)
    assert not any(ch in tok for tok in tokens for ch in UNICODE_WHITESPACE)


# ---------------------------------------------------------------------------------------------
# The rules themselves (independent of torchtext, so they hold where its files are absent)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hello World", ["hello", "world"]),
        ("It's", ["it", "'", "s"]),
        ('say "hi"', ["say", "hi"]),
        ("a.b,c(d)e!f?g;h:i", ["a", ".", "b", ",", "c", "(", "d", ")", "e", "!", "f", "?", "g", "h", "i"]),
        ("one<br />two", ["one", "two"]),
        ("one<BR />two", ["one", "two"]),  # lower-cased first, so this is removed too
        ("one<br/>two", ["one<br/>two"]),  # only the exact '<br />' is removed
        ('one<br "/>two', ["one", "two"]),  # the quote goes first, leaving '<br />'
        ("one<br;/>two", ["one<br", "/>two"]),  # ';' becomes a space after '<br />' was looked for
        ("a\u3000b\x1cc\x85d\u2028e", ["a", "b", "c", "d", "e"]),
        ("a\u200bb", ["a\u200bb"]),
        ("İ", ["i\u0307"]),
        ("", []),
        ("  \t\n ", []),
    ],
)
def test_rules(text, tokens):
    assert basic_english(text) == tokens


@settings(max_examples=200, deadline=None)
@given(mixed_text)
def test_tokens_are_lower_nonempty_and_free_of_removed_characters(text):
    for tok in basic_english(text):
        assert tok and tok == tok.strip()
        assert '"' not in tok and ";" not in tok and ":" not in tok
        for ch in "'.,()!?":
            assert ch not in tok or tok == ch
        assert tok == tok.lower()
