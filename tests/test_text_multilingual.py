"""text.multilingual: basic_english for any script (the default recipe's tokenizer)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from lstmtc.infer.text import TOKENIZERS, basic_english, multilingual, tokenize_prefix
from lstmtc.infer.vectorize import TextPipeline
from lstmtc.infer.vocab import Vocab


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=300))
def test_equal_to_basic_english_on_ascii(text):
    assert multilingual(text) == basic_english(text)


def test_scripts_without_spaces_become_characters():
    assert multilingual("距离川沙公路较近,但是") == list("距离川沙公路较近") + [","] + list("但是")
    assert multilingual("こんにちは、世界") == list("こんにちは、世界")
    assert multilingual("CBD中心！") == ["cbd", "中", "心", "!"]  # full-width ! is NFKC's "!"
    assert multilingual("ภาษาไทย") == list("ภาษาไทย")
    assert multilingual("𠀀𠀁") == ["𠀀", "𠀁"]  # plane 2


def test_scripts_with_spaces_keep_their_words():
    assert multilingual("안녕하세요 세계") == ["안녕하세요", "세계"]
    assert multilingual("Café naïve Москва") == ["café", "naïve", "москва"]
    assert multilingual("Ａｐｐｌｅ １２３ ﬁne") == ["apple", "123", "fine"]


def test_typographic_quotes_symbols_and_invisible_spaces():
    # As the ASCII spelling tokenizes: a model trained on ASCII quotes reads typographic ones.
    assert multilingual("\u201cdon\u2019t\u201d") == basic_english('"don\'t"')
    assert multilingual("great\U0001f600\U0001f600 \u20ac5 \u2014 ok") == ["great", "\U0001f600", "\U0001f600",
                                                                         "\u20ac", "5", "\u2014", "ok"]
    assert multilingual("a\u200bb\ufeffc") == ["a", "b", "c"]
    assert multilingual("\u00bfqu\u00e9?") == ["\u00bf", "qu\u00e9", "?"]
    # Punctuation of other scripts, by Unicode category: Arabic comma and question mark, Devanagari danda.
    assert multilingual("\u0645\u0631\u062d\u0628\u0627\u060c \u0643\u064a\u0641\u061f") == [
        "\u0645\u0631\u062d\u0628\u0627", "\u060c", "\u0643\u064a\u0641", "\u061f"]
    namaste = "\u0928\u092e\u0938\u094d\u0924\u0947"
    assert multilingual(namaste + "\u0964") == [namaste, "\u0964"]


def test_registered_and_usable_by_a_pipeline():
    assert TOKENIZERS["multilingual"] is multilingual
    vocab = Vocab.build([list("好差") + ["ok"]])
    pipe = TextPipeline(vocab, 5, tokenizer="multilingual")
    assert pipe.model_tokens(["好差OK"]) == [["好", "差", "ok"]]


PIECES = ["中", "文", "、", "。", "，", "ｱ", "Ａ", "ﬁ", "e\u0301", "\u0301", "\u1100\u1161", "\u11a8", "\u03a3", "'",
          "\u2019", "\u201c", ".", ",", "<br />", "<br", " ", "\u3000", "\u200b", "\U0001f600", "ก", "\u0e34", "ab"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=300).map("".join), st.integers(1, 12))
def test_prefix_tokens_equal_whole_text_cut(text, n):
    assert tokenize_prefix(text, n, multilingual) == multilingual(text)[:n]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.integers(1, 8))
def test_prefix_tokens_equal_on_any_unicode(text, n):
    assert tokenize_prefix(text, n, multilingual) == multilingual(text)[:n]


def test_huge_line_is_tokenised_by_prefix():
    text = "中文" * 5_000_000  # 30 MB of UTF-8
    assert tokenize_prefix(text, 4, multilingual) == ["中", "文", "中", "文"]
