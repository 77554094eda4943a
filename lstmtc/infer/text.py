"""torchtext's ``basic_english`` tokenizer, without torchtext.

torchtext is discontinued and no longer imports beside a current torch, so the rules are
re-implemented here and proven identical to its code by tests/test_text_parity.py.

torchtext applies twelve regex substitutions in order. Every pattern is a literal, so a chain
of ``str.replace`` calls in the same order gives the same tokens several times faster (3.8-4.7x
on the AG News test set, see benchmarks/tokenizer.py). The final ``\\s+`` rule is implied
by ``split()``, which splits on the same Unicode whitespace as ``re``'s ``\\s``.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def basic_english(text: str) -> list[str]:
    """Lower-case ``text`` and split it into tokens exactly as torchtext's basic_english does."""
    line = text.lower().replace("'", " '  ").replace('"', "").replace(".", " . ")
    if "<br />" in line:
        line = line.replace("<br />", " ")
    return (
        line.replace(",", " , ")
        .replace("(", " ( ")
        .replace(")", " ) ")
        .replace("!", " ! ")
        .replace("?", " ? ")
        .replace(";", " ")
        .replace(":", " ")
        .split()
    )


TOKENIZERS = {"basic_english": basic_english}

# str.lower() is context-free in CPython except for capital sigma (final or not, by the cased
# letters after it, skipping case-ignorable ones such as '.', "'" and ':'). These characters are
# neither cased nor case-ignorable, so they end that look-ahead: a cut before one of them lowers
# the text before the cut exactly as the whole text lowers it (tests/test_text_prefix.py).
_HARD = re.compile(r"[\s,;()!?]")
_SIGMA = "\u03a3"
# Characters per kept token to try first: a prefix of about this many characters per token usually
# holds enough tokens; if not, the prefix doubles until it does or is the whole text.
_CHARS_PER_TOKEN = 16


def _cut(text: str, end: int) -> int:
    """Where to cut ``text`` at or before ``end`` so that lower-casing the prefix agrees with
    lower-casing the whole text: anywhere without a capital sigma, else before a hard character
    (0 when there is none)."""
    if _SIGMA not in text[:end]:
        return end
    last = 0
    for hard in _HARD.finditer(text, 0, end):
        last = hard.start()
    return last


def tokenize_prefix(text: str, max_tokens: int, tokenize: Callable[[str], list[str]] = basic_english) -> list[str]:
    """``tokenize(text)[:max_tokens]`` without tokenising more of ``text`` than can reach that cut:
    a 50 MB line costs a few kB of work, not a list of millions of tokens.

    For basic_english the first tokens of a prefix are the first tokens of the whole text, all but
    the last two at most: a cut can split a word, or a ``<br />`` (whose removal needs all six
    characters) into ``<br`` and ``/``, but lower-casing (cut with ``_cut``) and the single-character
    rules cannot reach further back. So a prefix with ``max_tokens + 2`` tokens suffices. Any other
    tokenizer gets the whole text."""
    if tokenize is not basic_english:
        return tokenize(text)[:max_tokens]
    end = _CHARS_PER_TOKEN * (max_tokens + 2)
    while end < len(text):
        cut = _cut(text, end)
        tokens = tokenize(text[:cut]) if cut else []
        if len(tokens) >= max_tokens + 2:
            return tokens[:max_tokens]
        end *= 2
    return tokenize(text)[:max_tokens]
