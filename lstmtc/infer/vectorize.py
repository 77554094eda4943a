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
    if padding_side not in PADDING_SIDES:
        raise ValueError(f"padding_side must be one of {PADDING_SIDES}, not {padding_side!r}")
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    # One lookup over all documents' tokens and one masked scatter: row-major order of the mask is
    # the order of the concatenated documents, for either padding side (a per-row numpy assignment
    # from a Python list cost about as much as the tokenizer).
    cut = [tokens if len(tokens) <= max_tokens else tokens[:max_tokens] for tokens in token_lists]
    lens = np.fromiter(map(len, cut), dtype=np.int64, count=len(cut))
    flat = np.fromiter(vocab.lookup(chain.from_iterable(cut)), dtype=np.int64, count=int(lens.sum()))
    out = np.full((len(cut), max_tokens), vocab.pad_index, dtype=np.int64)
    cols = np.arange(max_tokens)
    mask = cols >= (max_tokens - lens)[:, None] if padding_side == "pre" else cols < lens[:, None]
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

    @property
    def length_aware(self) -> bool:
        return self.padding_side == "packed"

    def ids(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """(n, width) int64: ``max_tokens`` wide, or for a length-aware pipeline as wide as the
        longest document of this batch (at least 1)."""
        width = self.max_tokens
        if self.length_aware:
            width = max(1, min(self.max_tokens, max((len(t) for t in token_lists), default=1)))
        return vectorize(token_lists, self.vocab, width, self.padding_side)

    def lengths(self, token_lists: Iterable[Sequence[str]]) -> np.ndarray:
        """(n,) int64: the tokens of each document that reach the model (an empty one counts 1: it
        is read as one padding step)."""
        n = self.max_tokens
        return np.fromiter((min(max(len(t), 1), n) for t in token_lists), dtype=np.int64)

    def __call__(self, texts: Iterable[str]) -> np.ndarray:
        return self.ids(self.model_tokens(texts))
