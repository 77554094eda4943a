"""text.tokenize_prefix: the first max_tokens tokens of a text without tokenising all of it, equal to
basic_english on the whole text cut to max_tokens (issue #17, memory)."""

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from lstmtc.infer.text import _HARD, basic_english, tokenize_prefix
from lstmtc.infer.vectorize import TextPipeline
from lstmtc.infer.vocab import Vocab

# The characters basic_english treats specially, the pieces of "<br />", capital sigma and the
# case-ignorable characters its final form looks through, whitespace of several kinds, and letters.
SPECIAL = list("'\".,()!?;:<br />BR") + ["<br />", "\u03a3", "\u03a3.", "\u00b7", "\u2019", "\u0301",
                                           " ", "\t", "\n", "\r", "\u00a0", "\u2028", "\x85", "\u0130"]
piece = st.one_of(st.sampled_from(SPECIAL), st.text(alphabet="abcXYZ\u03c3", min_size=1, max_size=4))
texts = st.lists(piece, max_size=300).map("".join)


@settings(max_examples=600, deadline=None)
@given(texts, st.integers(1, 12))
def test_prefix_tokens_equal_whole_text_cut(text, n):
    assert tokenize_prefix(text, n) == basic_english(text)[:n]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.integers(1, 8))
def test_prefix_tokens_equal_on_any_unicode(text, n):
    assert tokenize_prefix(text, n) == basic_english(text)[:n]


def test_capital_sigma_far_from_the_cut():
    # Final or not depends on the letter after 1000 apostrophes (each its own token).
    for tail in ("B", "", " B"):
        text = "A\u03a3" + "'" * 1000 + tail
        assert tokenize_prefix(text, 3) == basic_english(text)[:3]
        text = "x " * 5 + "A\u03a3" + "." * 5000 + tail
        assert tokenize_prefix(text, 7) == basic_english(text)[:7]


def test_br_split_by_the_cut():
    for k in range(40):
        text = "w " * k + "a<br />b " * 200
        for n in (1, 2, 5, 17):
            assert tokenize_prefix(text, n) == basic_english(text)[:n]


def test_hard_characters_stop_the_final_sigma_look_ahead():
    # The cut rule for texts with a capital sigma relies on this for every character _HARD matches.
    hard = [chr(c) for c in range(sys.maxunicode + 1) if _HARD.fullmatch(chr(c))]
    assert len(hard) > 20
    for h in hard:
        assert ("A\u03a3" + h + "B").lower()[1] == "\u03c2", hex(ord(h))


def test_huge_text_is_not_tokenised_whole():
    text = "word " * 2_000_000  # 10 MB
    calls = []

    def spy(t):
        calls.append(len(t))
        return basic_english(t)

    assert tokenize_prefix(text, 50) == ["word"] * 50
    # basic_english itself is what runs (the spy only checks how much text a tokenizer would see):
    assert tokenize_prefix(text, 50, spy) == ["word"] * 50 and calls == [len(text)]


def test_pipeline_model_tokens_and_ids_use_the_prefix():
    vocab = Vocab.build([["a", "b"]])
    pipe = TextPipeline(vocab, 4)
    text = "a b " * 100_000
    assert pipe.model_tokens([text]) == [["a", "b", "a", "b"]]
    assert pipe([text]).tolist() == pipe.ids([basic_english(text)]).tolist()


@settings(max_examples=300, deadline=None)
@given(texts)
def test_every_cut_changes_at_most_the_last_two_tokens(text):
    # The lemma tokenize_prefix rests on, at every cut _cut allows.
    from lstmtc.infer.text import _cut

    whole = basic_english(text)
    for end in range(len(text) + 1):
        cut = _cut(text, end)
        tokens = basic_english(text[:cut])
        keep = max(len(tokens) - 2, 0)
        assert tokens[:keep] == whole[:keep], (cut, text[:cut])


def test_a_cut_inside_br_changes_two_tokens():
    text = "x a<br />b"
    assert basic_english(text[:8]) == ["x", "a<br", "/"] and basic_english(text)[:2] == ["x", "a"]
