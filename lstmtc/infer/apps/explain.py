"""Which words drove a prediction: LIME's text explainer over the ONNX model's class probabilities.

Torch-free like the rest of ``lstmtc.infer``; ``lime`` (the ``explain`` extra) is imported only
when an explanation is asked for, so importing this module never needs it.

How LIME's words line up with the model's tokens. LIME cuts the raw string into words and
separators, drops words from it, and hands the perturbed *string* to the classifier, which
re-tokenizes it with basic_english. So LIME's words must be exactly the model's word tokens:

* the text is lower-cased first (basic_english's first step, so the model sees the same tokens),
  which makes 'Shares' and 'shares' one feature, as they are one token to the model;
* words are split on whitespace and on the characters basic_english cuts or drops
  (``' " . , ( ) ! ? ; :`` and ``<br />``), *not* on LIME's default ``\\W+``: that would cut
  'oil-rich' (one token to the model) into two words, and dropping 'oil' would leave '-rich',
  a token the model has never seen. Punctuation tokens ('.', ',') are kept, never features;
* ``bow=True``: a word is one feature and dropping it drops every occurrence, which is the
  only way to make the model stop seeing a token.

The one rare mismatch: basic_english deletes '"' without a space (``a"b`` is one token 'ab'),
while here '"' separates words, as it does in normal quoted text.

For a ``multilingual`` model the words follow its tokens too: each character of a script written
without spaces (Chinese, Japanese, Thai, ...) is a word of its own, and punctuation and symbols
outside ASCII (``，。！`` and the like) separate words.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ExplainError, MissingExtraError
from ..scoring.scorer import batched

#: What separates two words for LIME: whitespace and everything basic_english splits off or drops.
SPLIT_EXPRESSION = r"(?:<br />|[\s'\".,()!?;:])+"
_SPLIT = re.compile(SPLIT_EXPRESSION)
_SPLIT_ANY_CASE = re.compile(SPLIT_EXPRESSION, re.IGNORECASE)

#: Perturbed samples per onnxruntime call (the classify CLI's benchmarked default is 256).
DEFAULT_BATCH = 256


@dataclass
class Explanation:
    """A LIME explanation of one text for one class.

    ``weights``: (word, weight) pairs, largest |weight| first; a positive weight pushed the text
    toward ``label``, a negative one away from it. ``probabilities``: the model's probability
    of every class for the original text, in ``labels`` order.
    """

    text: str
    label: str
    label_index: int
    probability: float
    predicted: str
    labels: list[str]
    probabilities: list[float]
    weights: list[tuple[str, float]]
    intercept: float
    score: float
    num_samples: int
    seed: int | None
    lime: Any = field(repr=False, compare=False, default=None)
    tokenizer: str = "basic_english"  # the model's: how ``text`` splits into words (``segments``)

    @property
    def predicted_probability(self) -> float:
        return self.probabilities[self.labels.index(self.predicted)]

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "label": self.label,
            "probability": self.probability,
            "predicted": self.predicted,
            "probabilities": dict(zip(self.labels, self.probabilities)),
            "weights": [{"word": w, "weight": x} for w, x in self.weights],
            "intercept": self.intercept,
            "score": self.score,
            "num_samples": self.num_samples,
            "seed": self.seed,
        }

    def html(self) -> str:
        """LIME's own HTML view (class probabilities, weight bars, the highlighted text), one
        self-contained page (LIME inlines its JavaScript)."""
        if self.lime is None:
            raise ExplainError("this explanation carries no LIME object to render as HTML")
        return self.lime.as_html(labels=(self.label_index,))


def require_lime():
    """Import ``lime.lime_text`` or raise MissingExtraError (the 'explain' extra)."""
    try:
        from lime import lime_text
    except ImportError:
        raise MissingExtraError("explain", "lime") from None
    return lime_text


@functools.cache
def _multilingual_words() -> re.Pattern:
    """A word of a multilingual model: one character of a script without spaces, or a run of characters
    that are neither separators for basic_english nor cut off by multilingual."""
    from ..text import NO_SPACE, symbol_class

    sym = symbol_class()
    return re.compile(rf"(?![{sym}])[{NO_SPACE}]|(?:(?!<br />)[^\s'\".,()!?;:{NO_SPACE}{sym}])+", re.IGNORECASE)


def words(text: str, tokenizer: str = "basic_english") -> list[str]:
    """The words LIME perturbs in ``text`` (lower-cased, in order, repeats kept)."""
    if tokenizer == "multilingual":
        return _multilingual_words().findall(text.lower())
    return [w for w in _SPLIT.split(text.lower()) if w]


def segments(text: str, tokenizer: str = "basic_english") -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_word) pieces that join back to ``text``; words as LIME sees
    them (compare lower-cased). For showing the original text with its words highlighted."""
    out: list[tuple[str, bool]] = []
    pos = 0
    if tokenizer == "multilingual":
        for m in _multilingual_words().finditer(text):
            if m.start() > pos:
                out.append((text[pos:m.start()], False))
            out.append((m.group(), True))
            pos = m.end()
        if pos < len(text):
            out.append((text[pos:], False))
        return out
    for m in _SPLIT_ANY_CASE.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], True))
        if m.end() > m.start():
            out.append((m.group(), False))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], True))
    return out


def batched_proba(classifier, batch_size: int = DEFAULT_BATCH):
    """LIME's ``classifier_fn``: it gets every perturbed sample at once; score them
    ``batch_size`` at a time, one ``predict_proba`` call per batch."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")

    def proba(texts: Sequence[str]) -> np.ndarray:
        parts = [np.asarray(classifier.predict_proba(b)) for b in batched(texts, batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(classifier.labels)), dtype=np.float32)

    return proba


def calls_needed(num_samples: int, batch_size: int) -> int:
    """How many ``predict_proba`` calls an explanation makes (LIME scores all samples at once)."""
    return math.ceil(num_samples / batch_size)


def resolve_label(labels: Sequence[str], label: str | int | None) -> int | None:
    """Index of class ``label`` (a name, or an int index); None stays None (the predicted class)."""
    if label is None:
        return None
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        if 0 <= label < len(labels):
            return int(label)
        raise ExplainError(f"label index {label} is out of range: the model has {len(labels)} classes")
    if label in labels:
        return list(labels).index(label)
    folded = [i for i, name in enumerate(labels) if name.casefold() == str(label).casefold()]
    if len(folded) == 1:
        return folded[0]
    raise ExplainError(unknown_label_message(labels, str(label)))


def unknown_label_message(labels: Sequence[str], label: str, many: int = 12) -> str:
    """One line: the closest class names (case-insensitive), and every name when the model has
    at most ``many`` classes or nothing is close."""
    import difflib

    by_folded: dict[str, list[str]] = {}
    for name in labels:
        by_folded.setdefault(name.casefold(), []).append(name)
    close = [n for f in difflib.get_close_matches(label.casefold(), list(by_folded), n=3, cutoff=0.6)
             for n in by_folded[f]]
    msg = f"unknown label {label!r}"
    if not close:
        return msg + f"; the model's labels are: {', '.join(labels)}"
    quoted = [repr(n) for n in close]
    msg += "; did you mean " + (", ".join(quoted[:-1]) + " or " if len(quoted) > 1 else "") + quoted[-1] + "?"
    if len(labels) <= many:
        return msg + f" The model's labels are: {', '.join(labels)}"
    return msg + f" The model has {len(labels)} labels."


def explain(classifier, text: str, label: str | int | None = None, num_features: int = 10,
            num_samples: int = 1000, seed: int | None = 0, batch_size: int = DEFAULT_BATCH) -> Explanation:
    """Explain ``classifier``'s probability of ``label`` (default: its predicted class) for ``text``.

    LIME draws ``num_samples`` copies of the text with random sets of words removed (the first is
    the text itself), scores them in batches of ``batch_size`` through
    ``classifier.predict_proba``, and fits a weighted linear model; its ``num_features`` largest
    coefficients are the word weights. The same ``seed`` gives the same weights.
    """
    if num_features < 1:
        raise ValueError("num_features must be at least 1")
    if num_samples < 2:
        raise ValueError("num_samples must be at least 2 (the text itself and one perturbation)")
    lime_text = require_lime()
    labels = list(classifier.labels)
    index = resolve_label(labels, label)
    lowered = text.lower()
    tokenizer = classifier.pipeline.tokenizer
    if not words(lowered, tokenizer):
        raise ExplainError("nothing to explain: the text has no words")

    split = (lambda s: words(s, tokenizer)) if tokenizer == "multilingual" else SPLIT_EXPRESSION
    explainer = lime_text.LimeTextExplainer(class_names=labels, split_expression=split, bow=True,
                                            random_state=seed)
    fn = batched_proba(classifier, batch_size)
    if index is None:
        exp = explainer.explain_instance(lowered, fn, top_labels=1, num_features=num_features,
                                         num_samples=num_samples)
        index = int(exp.top_labels[0])
    else:
        exp = explainer.explain_instance(lowered, fn, labels=(index,), num_features=num_features,
                                         num_samples=num_samples)
    probs = [float(p) for p in exp.predict_proba]
    predicted = index if label is None else int(np.argmax(exp.predict_proba))
    return Explanation(
        text=text,
        label=labels[index],
        label_index=index,
        probability=probs[index],
        predicted=labels[predicted],
        labels=labels,
        probabilities=probs,
        weights=[(str(w), float(x)) for w, x in exp.as_list(label=index)],
        intercept=float(exp.intercept[index]),
        score=float(exp.score),
        num_samples=num_samples,
        seed=seed,
        lime=exp,
        tokenizer=tokenizer,
    )
