"""Classifier: an exported bundle behind one onnxruntime session. No torch anywhere."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from math import ceil
from pathlib import Path
from threading import Lock

import numpy as np

from .batching import chunk_bounds, run_batches
from .bundle import INPUT, LENGTHS, OUTPUT_NAME, Bundle, load_bundle
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


def run_session(session, input_ids: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """One onnxruntime call on a bundle's model: (batch, classes) logits of ``input_ids`` (and, for a
    length-aware model, the rows' ``lengths``)."""
    feed = {INPUT["name"]: input_ids}
    if lengths is not None:
        feed[LENGTHS["name"]] = lengths
    return session.run(None, feed)[0]


def session_logits(session, pipeline, id_lists, classes: int, batch_size: int | None = None,
                   sort: bool = True) -> np.ndarray:
    """(n, classes) logits of documents as vocabulary ids (``pipeline.model_ids``) through ``session``
    (``batching.run_batches``)."""
    return run_batches(id_lists, batch_size, vectorize=pipeline.pad, run=lambda *a: run_session(session, *a),
                       classes=classes, lengths=pipeline.lengths if pipeline.length_aware else None, sort=sort)


# Guards the creation of a classifier's thread pool; a fresh one in a forked child, where a lock
# held by another thread at the fork would stay held.
_POOL_LOCK = Lock()
if hasattr(os, "register_at_fork"):
    def _new_pool_lock() -> None:
        global _POOL_LOCK
        _POOL_LOCK = Lock()

    os.register_at_fork(after_in_child=_new_pool_lock)

# Without a batch size, up to this many texts go to onnxruntime in one call, not split across
# threads: below it the hand-off between threads costs about what a second core saves.
UNSPLIT = 64


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


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
    not fit its model is refused at load with one line, not discovered by some text later: the input
    ``input_ids`` (int64, rank 2, its sequence length max_tokens if fixed) and, for a length-aware
    model (format 2, padding "packed"), ``lengths`` (int64, rank 1) -- no other inputs; the first
    output ``logits`` (float, rank 2) with one column per class; every vocabulary id inside the
    embedding. The last two are checked by running the model once on the largest id (int8 and fp16
    models store the embedding differently, and onnx, the package that could read it, is not a
    dependency of the runtime); onnxruntime's Gather refuses an id past the embedding's rows."""
    where = f"{bundle.path}: {Path(model_path).name}"
    inputs, outputs = session.get_inputs(), session.get_outputs()
    pipe, n_labels = bundle.pipeline, len(bundle.labelset)
    wanted = [(INPUT["name"], "tensor(int64)", 2)]
    if pipe.length_aware:
        wanted.append((LENGTHS["name"], "tensor(int64)", 1))
    found = [(i.name, i.type, len(i.shape)) for i in inputs]
    if found != wanted:
        have = ", ".join(_describe(i) for i in inputs) or "none"
        want = ", ".join(f"{n} {t} (rank {r})" for n, t, r in wanted)
        raise BundleError(f"{where}: the model's inputs are {have}; bundle.json (padding {pipe.padding_side!r}) "
                          f"says the model takes {want}")
    out0 = outputs[0] if outputs else None
    if out0 is None or out0.name != OUTPUT_NAME or out0.type != "tensor(float)" or len(out0.shape) != 2:
        found = ", ".join(_describe(o) for o in outputs) or "none"
        raise BundleError(f"{where}: the model's output is {found}; a bundle's model gives logits "
                          "tensor(float) [batch, classes]")
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
    lengths = np.array([probe.shape[1]], dtype=np.int64) if pipe.length_aware else None
    try:
        out = run_session(session, probe, lengths)
    except Exception as e:  # onnxruntime's own exception types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BundleError(f"{where}: the model fails on the vocabulary's largest id {len(pipe.vocab) - 1} "
                          f"(vocab.json has {len(pipe.vocab)} tokens; more than the embedding's rows?): "
                          f"{first[:200]}") from None
    if out.shape != (1, n_labels):
        raise BundleError(f"{where}: the model gives {out.shape[-1]} class scores, bundle.json names {n_labels} "
                          "classes; re-export the model")


class Classifier:
    """An exported bundle ready to score text.

    ``threads``: the cores to score on (default: all this process may use). The input is cut into
    that many chunks of whole batches, scored at once by as many onnxruntime calls with one thread
    each: for these small LSTMs two one-thread calls beat one call split over two threads, and the
    Python tokenizer of one chunk runs while onnxruntime holds the other (docs/benchmarks.md). A
    document's logits do not depend on its chunk: a length-aware model scores each document alone,
    and a fixed-width model's batches are the ones a single pass would make.
    """

    def __init__(self, bundle: Bundle, precision: str | None = None, threads: int | None = None):
        self.bundle = bundle
        self.pipeline = bundle.pipeline
        self.model_path = bundle.model_path(precision)
        self.threads = threads or available_cores()
        self.session = open_session(self.model_path, 1)
        check_session(bundle, self.session, self.model_path)
        self.length_aware = self.pipeline.length_aware
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid: int | None = None

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

    def logits_ids(self, input_ids: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """One onnxruntime call: (batch, classes) logits of vectorized documents (and, for a
        length-aware model, their lengths: ``pipeline.lengths`` of the same token lists)."""
        if self.length_aware and lengths is None:
            raise ValueError("this model is length-aware: call logits_ids(input_ids, lengths)")
        return run_session(self.session, input_ids, lengths if self.length_aware else None)

    def logits(self, texts: Sequence[str], batch_size: int | None = None, sort: bool = True) -> np.ndarray:
        """(n, classes) logits; with ``batch_size``, one onnxruntime call per that many texts (a
        length-aware model's texts sorted by length first, unless ``sort`` is False), else one call
        per thread (for more than ``UNSPLIT`` texts) or one for all."""
        size = batch_size or max(UNSPLIT, ceil(len(texts) / self.threads))
        return self.map_chunks(lambda part: session_logits(self.session, self.pipeline,
                                                           self.pipeline.model_ids(part), len(self.labels),
                                                           size, sort), texts, size)

    def map_chunks(self, score: Callable[[Sequence], np.ndarray], items: Sequence, batch_size: int) -> np.ndarray:
        """``score`` applied to up to ``threads`` contiguous chunks of ``items`` (whole batches of
        ``batch_size``) at once; the results concatenated in input order."""
        bounds = chunk_bounds(len(items), batch_size, self.threads)
        if len(bounds) <= 1:
            return score(items)
        return np.concatenate(list(self._executor().map(lambda b: score(items[b[0]:b[1]]), bounds)))

    def _executor(self) -> ThreadPoolExecutor:
        """This process's thread pool. A child forked after the pool started (multiprocessing,
        a pre-forking server) has the pool object but none of its threads: it makes its own."""
        pid = os.getpid()
        if self._pool is None or self._pool_pid != pid:
            with _POOL_LOCK:
                if self._pool is None or self._pool_pid != pid:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="lstmtc-score")
                    self._pool_pid = pid
        return self._pool

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
