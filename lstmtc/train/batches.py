"""Training batches: which rows go together in each step, and the tensors a model takes for them."""

from __future__ import annotations

import torch
from torch import nn

# A length-aware model trains on batches of similar length: each epoch's shuffled order is cut into
# pools of this many batches, each pool sorted by length and cut into batches, and the batches
# shuffled again -- a batch then runs at about its own documents' length instead of the longest
# of a random 64 (on AG News about half the LSTM steps).
BUCKET_POOL = 32


def epoch_batches(n: int, batch_size: int, gen: torch.Generator, lengths: torch.Tensor | None) -> list[torch.Tensor]:
    """The row indices of each batch of one epoch, drawn from ``gen``; ``lengths`` given: bucketed
    by length (BUCKET_POOL). Without lengths: a random permutation cut in order (the reference)."""
    perm = torch.randperm(n, generator=gen)
    if lengths is None:
        return [perm[i : i + batch_size] for i in range(0, n, batch_size)]
    batches = []
    pool = batch_size * BUCKET_POOL
    for i in range(0, n, pool):
        chunk = perm[i : i + pool]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    order = torch.randperm(len(batches), generator=gen)
    return [batches[int(k)] for k in order]


def batch_inputs(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None, idx, device: torch.device):
    """(ids, lengths) of the rows ``idx`` for ``model``: a length-aware model gets its rows cut to
    the batch's longest document (the rest is padding it would skip anyway) and their lengths; the
    reference models get the fixed-width rows and None."""
    if not model.config.lengths:
        return x[idx].to(device), None
    lb = lengths[idx]
    return x[idx, : int(lb.max())].to(device), lb


def model_batches(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None, batch_size: int,
                  device: torch.device):
    """(rows, logits) of ``model`` on ``x``, ``batch_size`` rows at a time on ``device``: the one
    batched forward pass behind validation and the linear model's mixing."""
    for i in range(0, len(x), batch_size):
        rows = slice(i, i + batch_size)
        yield rows, model(*batch_inputs(model, x, lengths, rows, device))
