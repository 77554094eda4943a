"""Inference: text pipeline, bundle format and the onnxruntime classifier. Never imports torch."""

from .classifier import Classifier
from .errors import BundleError, DataError, LstmtcError, VocabError
from .text import basic_english
from .vocab import Vocab

__all__ = ["Classifier", "BundleError", "DataError", "LstmtcError", "VocabError", "basic_english", "Vocab"]
