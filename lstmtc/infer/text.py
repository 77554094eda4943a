"""torchtext's ``basic_english`` tokenizer, without torchtext, and ``multilingual``: the same rules
for any script.

torchtext is discontinued and no longer imports beside a current torch, so the rules are
re-implemented here and proven identical to its code by tests/test_text_parity.py.

torchtext applies twelve regex substitutions in order. Every pattern is a literal, so a chain
of ``str.replace`` calls in the same order gives the same tokens several times faster (3.8-4.7x
on the AG News test set, see benchmarks/tokenizer.py). The final ``\\s+`` rule is implied
by ``split()``, which splits on the same Unicode whitespace as ``re``'s ``\\s``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
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


# Scripts written without spaces between words: Thai, Lao, Tibetan, Myanmar, Khmer, the CJK
# radicals, symbols and punctuation, kana, bopomofo, Han ideographs (BMP and planes 2-3). basic_english
# makes a whole Chinese clause one token, never seen twice, so a model learns nothing; here every such
# character is a token, and the n-gram bag's pairs see the two-character words.
NO_SPACE = ("\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff\u2e80-\u2fdf\u3000-\u312f\u31a0-\u31ff"
            "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\U00020000-\U0003134f")
NO_SPACE_SCRIPT = re.compile(f"[{NO_SPACE}]")
# Typographic quotes become the ASCII ones (so "don\u2019t" tokenizes as "don't" does, and double quotes
# vanish as basic_english drops '"'); zero-width spaces and the BOM separate words as a space does.
_TRANSLATE = str.maketrans({**dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
                            **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
                            **dict.fromkeys("\u200b\u2060\ufeff", " ")})


def multilingual(text: str) -> list[str]:
    """basic_english for any script: equal to it on ASCII text; otherwise the text is NFKC-normalised
    (full-width letters and punctuation become ASCII, ligatures letters), typographic quotes become
    ASCII quotes, and each character of a script without spaces, and each symbol, is a token."""
    if text.isascii():
        return basic_english(text)
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    return basic_english(_split().sub(r" \g<0> ", text))


@functools.cache
def _split() -> re.Pattern:
    return re.compile(f"[{NO_SPACE}{symbol_class()}]")


@functools.cache
def symbol_class() -> str:
    """The body of a regex character class of what multilingual cuts around besides the characters of
    scripts without spaces: every punctuation mark and symbol outside ASCII (Unicode categories P* and
    S* in planes 0-1: Arabic's comma, Devanagari's danda, dashes, currency, emoji, ...), as
    basic_english cuts around , ( ) ! ? Built at the first non-ASCII text (~30 ms), so an ASCII-only
    run never pays it. The categories are those of Python's Unicode database, which each Python
    release may extend by newly assigned characters."""
    runs: list[list[int]] = []
    for c in range(0x80, 0x20000):
        if unicodedata.category(chr(c))[0] in "PS":
            if runs and runs[-1][1] == c - 1:
                runs[-1][1] = c
            else:
                runs.append([c, c])
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in runs)


TOKENIZERS = {"basic_english": basic_english, "multilingual": multilingual}

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
    rules cannot reach further back. So a prefix with ``max_tokens + 2`` tokens suffices. The same
    holds for multilingual: NFKC composes a character only with the marks right after it, and its
    other rules map one character at a time. Any other tokenizer gets the whole text."""
    if tokenize is not basic_english and tokenize is not multilingual:
        return tokenize(text)[:max_tokens]
    end = _CHARS_PER_TOKEN * (max_tokens + 2)
    while end < len(text):
        cut = _cut(text, end)
        tokens = tokenize(text[:cut]) if cut else []
        if len(tokens) >= max_tokens + 2:
            return tokens[:max_tokens]
        end *= 2
    return tokenize(text)[:max_tokens]
