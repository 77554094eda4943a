"""Classifier: an exported bundle behind one onnxruntime session. No torch anywhere."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .bundle import Bundle, load_bundle
from .errors import BundleError


def top_k(probs: np.ndarray, k: int, threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices, probabilities, keep-mask), each (n, min(k, classes)), best first; ties keep
    class order. ``keep`` marks the entries at or above ``threshold``."""
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(probs, order, axis=1)
    return order, top, top >= threshold


def top_labels(probs: np.ndarray, labels: Sequence[str], k: int = 1, threshold: float = 0.0
               ) -> tuple[list[list[str]], list[np.ndarray]]:
    """The one conversion of probabilities to class names: per row, the names of the ``k`` most
    likely classes (best first, ties in class order, those below ``threshold`` left out) and their
    probabilities."""
    order, top, keep = top_k(probs, k, threshold)
    return [[labels[i] for i in idx[kk]] for idx, kk in zip(order, keep)], [p[kk] for p, kk in zip(top, keep)]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def open_session(path: str | os.PathLike, threads: int | None = None):
    """The one way lstmtc opens an ONNX model: onnxruntime on the CPU, ``threads`` intra-op threads
    (default: onnxruntime's choice, all cores) and one inter-op thread, warnings silenced. A file
    onnxruntime cannot load is a BundleError naming it."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types, none of them ours
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BundleError(f"{path}: onnxruntime cannot load this model ({first})") from None


class Classifier:
    def __init__(self, bundle: Bundle, precision: str | None = None, threads: int | None = None):
        self.bundle = bundle
        self.pipeline = bundle.pipeline
        self.model_path = bundle.model_path(precision)
        self.session = open_session(self.model_path, threads)
        self._input = self.session.get_inputs()[0].name

    @classmethod
    def load(cls, bundle: str | os.PathLike | None = None, precision: str | None = None,
             threads: int | None = None) -> Classifier:
        """Load a bundle directory; ``None`` means the model shipped inside the package."""
        if bundle is None:
            from .default_model import default_bundle_path

            bundle = default_bundle_path()
        return cls(load_bundle(bundle), precision, threads)

    @property
    def labels(self) -> list[str]:
        return list(self.bundle.labelset.names)

    def logits_ids(self, input_ids: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: input_ids})[0]

    def logits(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(n, classes) logits; with ``batch_size``, one onnxruntime call per that many texts."""
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if batch_size is None or len(texts) <= batch_size:
            return self.logits_ids(self.pipeline(texts))
        return np.concatenate([self.logits_ids(self.pipeline(texts[i:i + batch_size]))
                               for i in range(0, len(texts), batch_size)])

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(n, classes) probabilities, columns in ``labels`` order."""
        return softmax(self.logits(texts, batch_size))

    def predict(self, texts: Sequence[str], k: int = 1, threshold: float = 0.0):
        """Top-``k`` classes per text, best first, dropping those below ``threshold``.

        Returns ``(labels, probs)``: a list of label lists and a list of probability arrays, one
        per text (fastText's shape; a list may be shorter than k, or empty, with a threshold).
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        return top_labels(self.predict_proba(texts), self.labels, k, threshold)
