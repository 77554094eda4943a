"""Training, with PyTorch (the ``train`` extra): the model (``model``), its settings and the five
reference presets (``config``), reading and vectorizing a run's data with the torch-free reader and
text pipeline (``prepare``), the loop with its atomic checkpoints and resume (``loop``), the formats
it writes (``checkpoint``, ``runrecord``: the run directory), pretrained vectors (``embeddings``),
evaluation of a checkpoint or bundle (``evaluate``) and two command lines (``cli``: lstmtc-train,
``evaluate_cli``: lstmtc-evaluate). Builds on lstmtc.infer; never imports lstmtc.export."""

from .checkpoint import load_model, read_checkpoint
from .config import PRESETS, TrainConfig
from .model import LSTMClassifier, ModelConfig

__all__ = ["load_model", "read_checkpoint", "PRESETS", "TrainConfig", "LSTMClassifier", "ModelConfig"]
