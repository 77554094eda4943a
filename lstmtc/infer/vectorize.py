"""Texts -> fixed-width int64 token-id arrays (numpy only), as the model and its bundle expect."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from .text import TOKENIZERS, tokenize_prefix
from .vocab import Vocab

# "packed": post-padded, and the model also takes each row's length, so it never computes on the
# padding (a length-aware model, bundle format 2); the width is then the batch's longest document.
PADDING_SIDES = ("post", "pre", "packed")


def vectorize(
    token_lists: Iterable[Sequence[str]], vocab: Vocab, max_tokens: int, padding_side: str = "post"
) -> np.ndarray:
    """Keep the first ``max_tokens`` tokens of each document and pad with ``vocab.pad_index``.

    ``post`` (and ``packed``) pads at the end (the reference); ``pre`` pads at the start, so the
    last real token lands on the final time step, which is the one the classifier head reads.
    """
    _check(max_tokens, padding_side)
    # One lookup over all documents' tokens, then ``pad_ids``'s scatter (a per-row numpy assignment
    # from a Python list cost about as much as the tokenizer).
    cut = [tokens if len(tokens) <= max_tokens else tokens[:max_tokens] for tokens in token_lists]
    return _scatter(cut, vocab.lookup(chain.from_iterable(cut)), vocab.pad_index, max_tokens, padding_side)


def pad_ids(id_lists: Sequence[Sequence[int]], pad_index: int, max_tokens: int,
            padding_side: str = "post") -> np.ndarray:
    """``vectorize`` for documents already looked up in the vocabulary (``TextPipeline.model_ids``)."""
    _check(max_tokens, padding_side)
    cut = [ids if len(ids) <= max_tokens else ids[:max_tokens] for ids in id_lists]
    return _scatter(cut, chain.from_iterable(cut), pad_index, max_tokens, padding_side)


def _check(max_tokens: int, padding_side: str) -> None:
    if padding_side not in PADDING_SIDES:
        raise ValueError(f"padding_side must be one of {PADDING_SIDES}, not {padding_side!r}")
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")


def _scatter(cut: list, flat_ids: Iterable[int], pad_index: int, width: int, padding_side: str) -> np.ndarray:
    """(len(cut), width) int64: each row's ids (``flat_ids``, all rows' in order) at its start (or
    its end for ``pre``), the rest ``pad_index``. Row-major order of the mask is the order of the
    concatenated rows, for either padding side."""
    lens = np.fromiter(map(len, cut), dtype=np.int64, count=len(cut))
    flat = np.fromiter(flat_ids, dtype=np.int64, count=int(lens.sum()))
    out = np.full((len(cut), width), pad_index, dtype=np.int64)
    cols = np.arange(width)
    mask = cols >= (width - lens)[:, None] if padding_side == "pre" else cols < lens[:, None]
    out[mask] = flat
    return out


@dataclass(frozen=True)
class TextPipeline:
    """Everything between a raw string and the model's ``input_ids``; travels with every model."""

    vocab: Vocab
    max_tokens: int
    padding_side: str = "post"
    tokenizer: str = "basic_english"

    def __post_init__(self):
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {self.tokenizer!r}; known: {', '.join(TOKENIZERS)}")
        if self.padding_side not in PADDING_SIDES:
            raise ValueError(f"padding_side must be one of {PADDING_SIDES}, not {self.padding_side!r}")

    def tokenize(self, texts: Iterable[str]) -> list[list[str]]:
        """Every token of each text."""
        tok = TOKENIZERS[self.tokenizer]
        return [tok(t) for t in texts]

    def model_tokens(self, texts: Iterable[str]) -> list[list[str]]:
        """The tokens of each text that reach the model: the first ``max_tokens``, found without
        tokenising the rest (``text.tokenize_prefix``), so a huge line costs no more than a short one."""
        tok, n = TOKENIZERS[self.tokenizer], self.max_tokens
        return [tokenize_prefix(t, n, tok) for t in texts]

    def model_ids(self, texts: Iterable[str]) -> list[list[int]]:
        """``model_tokens`` looked up in the vocabulary, text by text: a token is looked up while the
        string the tokenizer just made is still in the CPU's cache (a lookup per batch, between two
        model calls, cost 2.5x as much). ``pad`` makes the model's input of them."""
        tok, n, lookup = TOKENIZERS[self.tokenizer], self.max_tokens, self.vocab.lookup
        return [lookup(tokenize_prefix(t, n, tok)) for t in texts]

    @property
    def length_aware(self) -> bool:
        return self.padding_side == "packed"

    def _width(self, lists: Sequence[Sequence]) -> int:
        """``max_tokens``, or for a length-aware pipeline the longest document of this batch (at least 1)."""
        if not self.length_aware:
            return self.max_tokens
        return max(1, min(self.max_tokens, max(map(len, lists), default=1)))

    def ids(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """(n, width) int64 ids of token lists: ``max_tokens`` wide, or for a length-aware pipeline
        as wide as the longest document of this batch (at least 1)."""
        return vectorize(token_lists, self.vocab, self._width(token_lists), self.padding_side)

    def pad(self, id_lists: Sequence[Sequence[int]]) -> np.ndarray:
        """``ids`` for documents already looked up (``model_ids``)."""
        return pad_ids(id_lists, self.vocab.pad_index, self._width(id_lists), self.padding_side)

    def lengths(self, token_lists: Iterable[Sequence]) -> np.ndarray:
        """(n,) int64, of token or id lists: the tokens of each document that reach the model (an
        empty one counts 1: it is read as one padding step)."""
        n = self.max_tokens
        return np.fromiter((min(max(len(t), 1), n) for t in token_lists), dtype=np.int64)

    def __call__(self, texts: Iterable[str]) -> np.ndarray:
        return self.pad(self.model_ids(texts))
