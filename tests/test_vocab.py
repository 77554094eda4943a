"""Vocab.build against torchtext's own build_vocab_from_iterator, and the vocabulary's JSON form.

torchtext's ``vocab/vocab_factory.py`` imports its C++ extension and the torch-based Vocab class,
so its source is executed with those two imports replaced by stubs: a VocabPybind that records
the token list it is given, and a Vocab that holds it. Everything else is torchtext's code.
"""

from __future__ import annotations

import csv
import json
import sys

import pytest
from conftest import NEEDS_SHARED, SHARED, torchtext_file
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmtc.infer.errors import LstmtcError, VocabError
from lstmtc.infer.text import basic_english
from lstmtc.infer.vocab import FORMAT, PAD, UNK, VERSION, Vocab

SPECIALS = ["<unk>", "<pad>"]
PYBIND_IMPORT = "from torchtext._torchtext import Vocab as VocabPybind\n"
VOCAB_IMPORT = "from .vocab import Vocab\n"


class RecordingPybind:
    """Stands in for torchtext._torchtext.Vocab: keeps the tokens torchtext hands to C++."""

    def __init__(self, tokens, default_index):
        self.tokens = list(tokens)
        self.default_index = default_index


class StubVocab:
    def __init__(self, pybind):
        self.pybind = pybind


@pytest.fixture(scope="module")
def torchtext_build():
    path = torchtext_file("vocab/vocab_factory.py")
    if path is None:
        pytest.skip("torchtext's files are not installed (pip install --no-deps torchtext==0.18.0)")
    source = path.read_text(encoding="utf-8")
    # Fail loudly if torchtext's imports are not the ones replaced (then the stubs would be unused).
    assert PYBIND_IMPORT in source and VOCAB_IMPORT in source
    source = source.replace(PYBIND_IMPORT, "").replace(VOCAB_IMPORT, "")
    namespace = {"__name__": "_torchtext_vocab_factory", "VocabPybind": RecordingPybind, "Vocab": StubVocab}
    exec(compile(source, str(path), "exec"), namespace)
    assert "torchtext" not in sys.modules

    def build(token_lists, min_freq=1, specials=None, max_tokens=None) -> list[str]:
        v = namespace["build_vocab_from_iterator"](token_lists, min_freq=min_freq, specials=specials,
                                                   max_tokens=max_tokens)
        assert isinstance(v, StubVocab)
        return v.pybind.tokens

    return build


def test_stubbed_torchtext_orders_by_frequency_then_code_point(torchtext_build):
    # A sanity check of the harness itself, with an order worked out by hand.
    tokens = torchtext_build([["b", "a", "c", "b"], ["c", "B"]], specials=list(SPECIALS))
    assert tokens == ["<unk>", "<pad>", "b", "c", "B", "a"]


def _check(torchtext_build, token_lists, min_freq, max_tokens, specials=SPECIALS):
    expected = torchtext_build(iter(token_lists), min_freq=min_freq, specials=list(specials), max_tokens=max_tokens)
    v = Vocab.build(iter(token_lists), min_freq=min_freq, max_tokens=max_tokens, specials=specials)
    assert v.tokens == expected
    assert v.unk_index == expected.index(UNK)
    assert v.pad_index == expected.index(PAD)
    # Every token maps to its position in torchtext's list; anything else to <unk>.
    assert v.lookup(expected) == list(range(len(expected)))
    return v


@pytest.fixture(scope="module")
def agnews_tokens():
    lists = []
    for name in ("test.csv", "partial_train/train_prefix_581rows.csv"):
        with open(SHARED / name, newline="", encoding="utf-8") as f:
            lists.extend(basic_english(title + " " + desc) for _, title, desc in csv.reader(f))
    assert len(lists) == 7_600 + 581
    return lists


@NEEDS_SHARED
@pytest.mark.parametrize("min_freq", [1, 2, 5])
@pytest.mark.parametrize("max_tokens", [None, 1000])
def test_parity_on_agnews(torchtext_build, agnews_tokens, min_freq, max_tokens):
    v = _check(torchtext_build, agnews_tokens, min_freq, max_tokens)
    if max_tokens is None:
        assert len(v) > 5_000 // min_freq
    else:
        assert len(v) == max_tokens  # AG News has far more than 1000 words seen >= 5 times


@NEEDS_SHARED
def test_parity_on_agnews_with_tutorial_specials(torchtext_build, agnews_tokens):
    expected = torchtext_build(iter(agnews_tokens), specials=["<UNK>"])
    v = Vocab.build(iter(agnews_tokens), specials=["<UNK>"], unk_token="<UNK>", pad_token="<UNK>")
    assert v.tokens == expected
    assert v.unk_index == v.pad_index == 0


# Few distinct tokens so frequencies tie often; include the specials themselves and
# strings whose code-point order differs from any locale order.
token = st.one_of(
    st.sampled_from(["a", "B", "b", "A", "é", "e", "Z", "<unk>", "<pad>", "", "10", "9", "ß", "İ", "😀"]),
    st.text(max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    token_lists=st.lists(st.lists(token, max_size=12), max_size=12),
    min_freq=st.integers(1, 4),
    max_tokens=st.one_of(st.none(), st.integers(4, 12)),  # more than any specials list below
    specials=st.sampled_from([SPECIALS, ["<pad>", "<unk>"], ["<unk>", "<pad>", "<bos>"], ["<pad>", "b", "<unk>"]]),
)
def test_parity_on_generated_tokens(torchtext_build, token_lists, min_freq, max_tokens, specials):
    _check(torchtext_build, token_lists, min_freq, max_tokens, specials)


def test_max_tokens_must_leave_room_beside_specials(torchtext_build):
    with pytest.raises(AssertionError):
        torchtext_build([["a"]], specials=list(SPECIALS), max_tokens=2)
    with pytest.raises(VocabError):
        Vocab.build([["a"]], max_tokens=2)
    assert Vocab.build([["a", "b"]], max_tokens=3).tokens == ["<unk>", "<pad>", "a"]


def test_unk_and_pad_must_be_specials():
    with pytest.raises(VocabError):
        Vocab.build([["a"]], specials=["<unk>"])
    with pytest.raises(VocabError):
        Vocab.build([["a"]], specials=["<pad>"])


# ---------------------------------------------------------------------------------------------
# The Vocab object
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def small():
    return Vocab.build([["the", "cat", "sat"], ["the", "dog"], ["the", "cat"]])


def test_basics(small):
    assert small.tokens == ["<unk>", "<pad>", "the", "cat", "dog", "sat"]
    assert len(small) == 6
    assert small["the"] == 2 and small["sat"] == 5
    assert small["never-seen"] == small.unk_index == 0
    assert small.pad_index == 1 and small.pad_index != small.unk_index
    assert small["<pad>"] == small.pad_index
    assert "cat" in small and "cow" not in small
    assert small.lookup(["dog", "cow", "the", "<pad>"]) == [4, 0, 2, 1]
    assert small.lookup(iter([])) == []


def test_tokens_is_a_copy(small):
    small.tokens.append("mutated")
    assert len(small) == 6 and "mutated" not in small


def test_min_freq_and_max_tokens(small):
    docs = [["the", "cat", "sat"], ["the", "dog"], ["the", "cat"]]
    assert Vocab.build(docs, min_freq=2).tokens == ["<unk>", "<pad>", "the", "cat"]
    assert Vocab.build(docs, max_tokens=4).tokens == ["<unk>", "<pad>", "the", "cat"]
    assert Vocab.build(docs, min_freq=4).tokens == ["<unk>", "<pad>"]


def test_json_round_trip(small, tmp_path):
    path = tmp_path / "vocab.json"
    small.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {"format": FORMAT, "version": VERSION, "tokens": small.tokens, "unk_index": 0, "pad_index": 1}
    loaded = Vocab.load(path)
    assert loaded == small
    assert loaded.tokens == small.tokens and loaded.unk_index == small.unk_index
    assert loaded.pad_index == small.pad_index
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temporary file left behind


@settings(max_examples=50, deadline=None)
@given(words=st.lists(st.text(min_size=1), unique=True, max_size=30))
def test_json_round_trip_of_any_unicode(tmp_path_factory, words):
    v = Vocab([UNK, PAD, *(w for w in words if w not in (UNK, PAD))], 0, 1)
    path = tmp_path_factory.mktemp("v") / "vocab.json"
    v.save(path)
    assert Vocab.load(path) == v


def test_equality_depends_on_indices():
    assert Vocab(["<unk>", "<pad>", "a"], 0, 1) != Vocab(["<unk>", "<pad>", "a"], 1, 0)
    assert Vocab(["<unk>", "<pad>", "a"], 0, 1) != Vocab(["<unk>", "<pad>", "b"], 0, 1)
    assert Vocab(["<unk>", "<pad>"], 0, 1) != ["<unk>", "<pad>"]


GOOD = {"format": FORMAT, "version": VERSION, "tokens": ["<unk>", "<pad>", "a"], "unk_index": 0, "pad_index": 1}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("this is not json", "not valid JSON"),
        ("", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({**GOOD, "format": "torchtext-vocab"}, "not an lstmtc vocabulary"),
        ({k: v for k, v in GOOD.items() if k != "format"}, "not an lstmtc vocabulary"),
        ({**GOOD, "version": VERSION + 1}, "upgrade lstmtc"),
        ({**GOOD, "version": "1"}, "version"),
        ({**GOOD, "tokens": "abc"}, "list of strings"),
        ({**GOOD, "tokens": ["<unk>", "<pad>", 3]}, "list of strings"),
        ({**GOOD, "tokens": []}, "list of strings"),
        ({**GOOD, "tokens": ["<unk>", "<pad>", "a", "a"]}, "duplicate token 'a'"),
        ({**GOOD, "unk_index": 3}, "unk_index 3"),
        ({**GOOD, "unk_index": -1}, "unk_index -1"),
        ({**GOOD, "pad_index": 7}, "pad_index 7"),
        ({**GOOD, "pad_index": None}, "pad_index None"),
        ({**GOOD, "pad_index": 1.0}, "pad_index 1.0"),
        ({**GOOD, "pad_index": True}, "pad_index True"),
    ],
)
def test_load_rejects(tmp_path, content, words):
    path = tmp_path / "vocab.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    with pytest.raises(VocabError) as info:
        Vocab.load(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:")
    assert words in msg
    assert isinstance(info.value, LstmtcError)


def test_load_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "vocab.json"
    with pytest.raises(VocabError, match="no such file") as info:
        Vocab.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_load_a_directory(tmp_path):
    with pytest.raises(VocabError) as info:
        Vocab.load(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}:") and "\n" not in str(info.value)


def test_constructor_rejects_duplicates_and_bad_indices():
    with pytest.raises(VocabError, match="duplicate"):
        Vocab(["a", "b", "a"], 0, 1)
    with pytest.raises(VocabError, match="unk_index"):
        Vocab(["a", "b"], 2, 1)
    with pytest.raises(VocabError, match="pad_index"):
        Vocab(["a", "b"], 0, -1)
