"""Classifier: an exported bundle behind one onnxruntime session. No torch anywhere."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .bundle import INPUT, OUTPUT_NAME, Bundle, load_bundle
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


def _describe(arg) -> str:
    return f"{arg.name} {arg.type} {list(arg.shape)}"


def check_session(bundle: Bundle, session, model_path) -> None:
    """Check what bundle.json says against the model onnxruntime loaded, so that a bundle that does
    not fit its model is refused at load with one line, not discovered by some text later: one input
    ``input_ids`` (int64, rank 2, its sequence length max_tokens if fixed), the first output
    ``logits`` (float, rank 2) with one column per class, and every vocabulary id inside the
    embedding. The last two are checked by running the model once on the largest id (int8 and fp16
    models store the embedding differently, and onnx, the package that could read it, is not a
    dependency of the runtime); onnxruntime's Gather refuses an id past the embedding's rows."""
    where = f"{bundle.path}: {Path(model_path).name}"
    inputs, outputs = session.get_inputs(), session.get_outputs()
    ok_input = (len(inputs) == 1 and inputs[0].name == INPUT["name"] and inputs[0].type == "tensor(int64)"
                and len(inputs[0].shape) == 2)
    if not ok_input:
        found = ", ".join(_describe(i) for i in inputs) or "none"
        raise BundleError(f"{where}: the model's input is {found}; a bundle's model takes one input_ids "
                          "tensor(int64) [batch, sequence]")
    out0 = outputs[0] if outputs else None
    if out0 is None or out0.name != OUTPUT_NAME or out0.type != "tensor(float)" or len(out0.shape) != 2:
        found = ", ".join(_describe(o) for o in outputs) or "none"
        raise BundleError(f"{where}: the model's output is {found}; a bundle's model gives logits "
                          "tensor(float) [batch, classes]")
    pipe, n_labels = bundle.pipeline, len(bundle.labelset)
    length = inputs[0].shape[1]
    if isinstance(length, int) and length != pipe.max_tokens:
        raise BundleError(f"{where}: the model takes {length} tokens per document, bundle.json says "
                          f"max_tokens {pipe.max_tokens}")
    width = outputs[0].shape[1]
    if isinstance(width, int) and width != n_labels:
        raise BundleError(f"{where}: the model gives {width} class scores, bundle.json names {n_labels} "
                          "classes; re-export the model")
    probe = np.full((1, length if isinstance(length, int) else min(pipe.max_tokens, 4)), pipe.vocab.pad_index,
                    dtype=np.int64)
    probe[0, 0] = len(pipe.vocab) - 1
    try:
        out = session.run(None, {INPUT["name"]: probe})[0]
    except Exception as e:  # onnxruntime's own exception types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BundleError(f"{where}: the model fails on the vocabulary's largest id {len(pipe.vocab) - 1} "
                          f"(vocab.json has {len(pipe.vocab)} tokens; more than the embedding's rows?): "
                          f"{first[:200]}") from None
    if out.shape != (1, n_labels):
        raise BundleError(f"{where}: the model gives {out.shape[-1]} class scores, bundle.json names {n_labels} "
                          "classes; re-export the model")


class Classifier:
    def __init__(self, bundle: Bundle, precision: str | None = None, threads: int | None = None):
        self.bundle = bundle
        self.pipeline = bundle.pipeline
        self.model_path = bundle.model_path(precision)
        self.session = open_session(self.model_path, threads)
        check_session(bundle, self.session, self.model_path)
        self._input = INPUT["name"]

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
