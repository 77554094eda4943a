"""Texts -> token-id arrays: truncation, padding side, pad and unk ids, dtype and shape."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmtc.infer.text import basic_english
from lstmtc.infer.vectorize import TextPipeline, vectorize
from lstmtc.infer.vocab import Vocab

# unk and pad deliberately not at 0 and 1, so a hard-coded id would show.
VOCAB = Vocab(["the", "<pad>", "cat", "<unk>", "sat", "on", "mat", "."], unk_index=3, pad_index=1)
ID = {t: i for i, t in enumerate(VOCAB.tokens)}


def test_post_padding_and_truncation():
    out = vectorize([["the", "cat", "sat"], ["the", "cat", "sat", "on", "the", "mat"]], VOCAB, 4)
    assert out.dtype == np.int64
    assert out.shape == (2, 4)
    assert out.tolist() == [
        [ID["the"], ID["cat"], ID["sat"], VOCAB.pad_index],
        [ID["the"], ID["cat"], ID["sat"], ID["on"]],  # the first four tokens, not the last
    ]


def test_pre_padding_puts_the_last_real_token_on_the_final_step():
    out = vectorize([["the", "cat", "sat"], ["on"], ["the", "cat", "sat", "on", "the", "mat"]], VOCAB, 4,
                    padding_side="pre")
    assert out.tolist() == [
        [VOCAB.pad_index, ID["the"], ID["cat"], ID["sat"]],
        [VOCAB.pad_index] * 3 + [ID["on"]],
        [ID["the"], ID["cat"], ID["sat"], ID["on"]],  # truncation still keeps the first tokens
    ]


def test_unknown_tokens_map_to_unk():
    out = vectorize([["dog", "sat", "on", "a", "mat"]], VOCAB, 6)
    assert out.tolist() == [[3, ID["sat"], ID["on"], 3, ID["mat"], VOCAB.pad_index]]
    assert VOCAB.unk_index == 3 and VOCAB.pad_index != VOCAB.unk_index


@pytest.mark.parametrize("side", ["post", "pre"])
def test_empty_documents_are_all_padding(side):
    out = vectorize([[], ["cat"], []], VOCAB, 5, padding_side=side)
    assert out.shape == (3, 5) and out.dtype == np.int64
    assert (out[0] == VOCAB.pad_index).all() and (out[2] == VOCAB.pad_index).all()
    assert (out[1] != VOCAB.pad_index).sum() == 1


@pytest.mark.parametrize("side", ["post", "pre"])
def test_no_documents(side):
    out = vectorize([], VOCAB, 7, padding_side=side)
    assert out.shape == (0, 7) and out.dtype == np.int64


def test_accepts_any_iterable_of_sequences():
    out = vectorize((t for t in [("the", "cat"), ["mat"]]), VOCAB, 2)
    assert out.tolist() == [[ID["the"], ID["cat"]], [ID["mat"], VOCAB.pad_index]]


def test_bad_arguments():
    with pytest.raises(ValueError, match="padding_side"):
        vectorize([["the"]], VOCAB, 3, padding_side="left")
    with pytest.raises(ValueError, match="max_tokens"):
        vectorize([["the"]], VOCAB, 0)


@settings(max_examples=200, deadline=None)
@given(
    docs=st.lists(st.lists(st.sampled_from([*VOCAB.tokens, "dog", "a", ""]), max_size=12), max_size=8),
    max_tokens=st.integers(1, 10),
    side=st.sampled_from(["post", "pre"]),
)
def test_matches_a_plain_python_model(docs, max_tokens, side):
    out = vectorize(docs, VOCAB, max_tokens, padding_side=side)
    assert out.shape == (len(docs), max_tokens) and out.dtype == np.int64
    for row, doc in zip(out.tolist(), docs):
        ids = [ID.get(t, VOCAB.unk_index) for t in doc][:max_tokens]
        pad = [VOCAB.pad_index] * (max_tokens - len(ids))
        assert row == (ids + pad if side == "post" else pad + ids)


# ---------------------------------------------------------------------------------------------
# TextPipeline
# ---------------------------------------------------------------------------------------------


def test_pipeline_tokenizes_then_vectorizes():
    pipe = TextPipeline(VOCAB, max_tokens=5)
    texts = ["The cat SAT.", "", "The dog sat on the mat, twice"]
    assert pipe.tokenize(texts) == [basic_english(t) for t in texts]
    out = pipe(texts)
    assert out.dtype == np.int64 and out.shape == (3, 5)
    assert out.tolist() == [
        [ID["the"], ID["cat"], ID["sat"], ID["."], VOCAB.pad_index],
        [VOCAB.pad_index] * 5,
        [ID["the"], VOCAB.unk_index, ID["sat"], ID["on"], ID["the"]],
    ]
    np.testing.assert_array_equal(out, vectorize([basic_english(t) for t in texts], VOCAB, 5))


def test_pipeline_pre_padding():
    out = TextPipeline(VOCAB, max_tokens=4, padding_side="pre")(["cat sat", "the cat sat on the mat"])
    assert out.tolist() == [
        [VOCAB.pad_index, VOCAB.pad_index, ID["cat"], ID["sat"]],
        [ID["the"], ID["cat"], ID["sat"], ID["on"]],
    ]


def test_pipeline_accepts_a_generator():
    out = TextPipeline(VOCAB, max_tokens=2)(t for t in ["mat", "cat mat"])
    assert out.tolist() == [[ID["mat"], VOCAB.pad_index], [ID["cat"], ID["mat"]]]


def test_pipeline_rejects_unknown_settings():
    with pytest.raises(ValueError, match="tokenizer"):
        TextPipeline(VOCAB, 5, tokenizer="spacy")
    with pytest.raises(ValueError, match="padding_side"):
        TextPipeline(VOCAB, 5, padding_side="middle")


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=st.sampled_from("the cat sat on mat dog . ,ÉÜ’"), max_size=40), max_size=8),
    max_tokens=st.integers(1, 10),
    side=st.sampled_from(["post", "pre", "packed"]),
    tokenizer=st.sampled_from(["basic_english", "multilingual"]),
)
def test_ids_looked_up_per_text_pad_to_the_same_array(texts, max_tokens, side, tokenizer):
    # The scorer looks each text up as it is tokenized (model_ids) and pads per batch (pad); export
    # validation and training go through token lists (ids): both must give the model the same input.
    pipe = TextPipeline(VOCAB, max_tokens, padding_side=side, tokenizer=tokenizer)
    ids = pipe.model_ids(texts)
    tokens = pipe.model_tokens(texts)
    assert ids == [[ID.get(t, VOCAB.unk_index) for t in doc] for doc in tokens]
    np.testing.assert_array_equal(pipe.pad(ids), pipe.ids(tokens))
    np.testing.assert_array_equal(pipe.lengths(ids), pipe.lengths(tokens))
    np.testing.assert_array_equal(pipe(texts), pipe.ids(tokens))
