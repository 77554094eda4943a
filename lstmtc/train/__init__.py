"""Training: PyTorch models, presets, checkpoints (needs the ``train`` extra)."""

from .checkpoint import load_model, read_checkpoint
from .config import PRESETS, TrainConfig
from .model import LSTMClassifier, ModelConfig

__all__ = ["load_model", "read_checkpoint", "PRESETS", "TrainConfig", "LSTMClassifier", "ModelConfig"]
