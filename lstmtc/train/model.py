"""The LSTM classifier: Embedding -> LSTM module(s) -> Linear on the last time step.

Small enough to read in one sitting; ``ModelConfig`` holds everything needed to rebuild it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

POOLINGS = ("last", "max", "mean")


@dataclass
class ModelConfig:
    vocab_size: int
    num_classes: int
    # 50: the reference tutorial's embedding width for all five approaches.
    embed_dim: int = 50
    # One nn.LSTM module per entry. Preset 4 stacks three separate modules (50, 60, 75);
    # the other presets use a single module of 75 units.
    hidden_sizes: tuple[int, ...] = (75,)
    # Layers inside each module (preset 3 and 5 use 3).
    num_layers: int = 1
    bidirectional: bool = False
    # 0.0 as in the reference; applied between LSTM layers/modules and before the head.
    dropout: float = 0.0
    # The id the vectorizer pads with; its embedding is fixed at zero.
    pad_index: int = 1
    # What the head reads: "last" = the output at the last time step (the reference);
    # "max" / "mean" = pooled over the real (non-padding) time steps.
    pooling: str = "last"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.hidden_sizes = tuple(int(h) for h in self.hidden_sizes)
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError("hidden_sizes needs at least one positive size")
        if self.num_classes < 2:
            raise ValueError("num_classes must be at least 2")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d


class LSTMClassifier(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        dirs = 2 if c.bidirectional else 1
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=c.pad_index)
        lstms, width = [], c.embed_dim
        for hidden in c.hidden_sizes:
            lstms.append(
                nn.LSTM(width, hidden, num_layers=c.num_layers, batch_first=True,
                        bidirectional=c.bidirectional, dropout=c.dropout if c.num_layers > 1 else 0.0)
            )
            width = hidden * dirs
        self.lstms = nn.ModuleList(lstms)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(width, c.num_classes)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(input_ids)  # (batch, seq, embed_dim)
        for i, lstm in enumerate(self.lstms):
            if i:
                x = self.dropout(x)
            # No (h0, c0): zero initial states, so the same input always gives the same logits
            # (the reference drew them from torch.randn on every call).
            x, _ = lstm(x)  # (batch, seq, hidden * dirs)
        if self.config.pooling == "last":
            feats = x[:, -1, :]  # (batch, hidden * dirs): the last time step, as the reference
        else:
            real = (input_ids != self.config.pad_index).unsqueeze(-1)  # (batch, seq, 1)
            if self.config.pooling == "max":
                feats = x.masked_fill(~real, -1e4).amax(dim=1)  # (batch, hidden * dirs)
                # A document with no real token (an empty text) reads zeros, not the -1e4 fill:
                # that would reach the head as logits in the thousands.
                feats = feats.masked_fill(~real.any(dim=1), 0.0)
            else:
                feats = (x * real).sum(dim=1) / real.sum(dim=1).clamp(min=1)  # (batch, hidden * dirs)
        return self.head(self.dropout(feats))  # (batch, num_classes)
