"""The torch-free layer: everything that reads text, runs an exported model and writes what it
predicts. It never imports torch, lstmtc.train or lstmtc.export (tests/test_layering.py).

The runtime is this package's own modules: ``text`` (tokenizers) -> ``vocab`` (the vocab.json
format) -> ``vectorize`` (``TextPipeline``: texts -> token ids) -> ``bundle`` (the bundle format)
-> ``classifier`` (one onnxruntime session: ids -> logits -> probabilities -> labels); with
``labels``, ``errors``, ``files`` (atomic writes, digests) and ``default_model``. On top of it:
``data`` (the one reader of lines and CSV/TSV, labelled data, the output writers), ``scoring``
(the one scorer, the metrics, the evaluation report) and ``apps`` (classify, explain, the Dask
engine, and their command lines).
"""

from .classifier import Classifier
from .errors import BundleError, DataError, LstmtcError, VocabError
from .text import basic_english
from .vocab import Vocab

__all__ = ["Classifier", "BundleError", "DataError", "LstmtcError", "VocabError", "basic_english", "Vocab"]
