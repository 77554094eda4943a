"""Texts -> fixed-width int64 token-id arrays (numpy only), as the model and its bundle expect."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .text import TOKENIZERS, tokenize_prefix
from .vocab import Vocab

PADDING_SIDES = ("post", "pre")


def vectorize(
    token_lists: Iterable[Sequence[str]], vocab: Vocab, max_tokens: int, padding_side: str = "post"
) -> np.ndarray:
    """Keep the first ``max_tokens`` tokens of each document and pad with ``vocab.pad_index``.

    ``post`` pads at the end (the reference); ``pre`` pads at the start, so the last real token
    lands on the final time step, which is the one the classifier head reads.
    """
    if padding_side not in PADDING_SIDES:
        raise ValueError(f"padding_side must be one of {PADDING_SIDES}, not {padding_side!r}")
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    rows = [vocab.lookup(tokens[:max_tokens]) for tokens in token_lists]
    out = np.full((len(rows), max_tokens), vocab.pad_index, dtype=np.int64)
    pre = padding_side == "pre"
    for i, ids in enumerate(rows):
        if ids:
            if pre:
                out[i, max_tokens - len(ids) :] = ids
            else:
                out[i, : len(ids)] = ids
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

    def ids(self, token_lists: Iterable[Sequence[str]]) -> np.ndarray:
        return vectorize(token_lists, self.vocab, self.max_tokens, self.padding_side)

    def __call__(self, texts: Iterable[str]) -> np.ndarray:
        return self.ids(self.model_tokens(texts))
