"""Shrink a trained model's vocabulary after training: the least frequent tokens become <unk>.

The vocabulary is ordered by descending training frequency (specials first), so keeping the first
``max_vocab`` rows keeps the most frequent tokens; their embedding rows are kept as trained.
"""

from __future__ import annotations

import copy

import torch

from lstmtc.infer.vectorize import TextPipeline
from lstmtc.infer.vocab import Vocab


def prune_vocab(model: torch.nn.Module, pipeline: TextPipeline, max_vocab: int):
    vocab = pipeline.vocab
    if max_vocab >= len(vocab):
        return model, pipeline
    if max(vocab.unk_index, vocab.pad_index) >= max_vocab:
        raise ValueError("max_vocab must keep the special tokens")
    new_vocab = Vocab(vocab.tokens[:max_vocab], vocab.unk_index, vocab.pad_index)
    model = copy.deepcopy(model)
    old = model.embedding
    emb = torch.nn.Embedding(max_vocab, old.embedding_dim, padding_idx=old.padding_idx)
    with torch.no_grad():
        emb.weight.copy_(old.weight[:max_vocab])
    model.embedding = emb
    if model.config.ngram_buckets:
        # Kept tokens keep their ids, so the pair rows (hashed from ids) stay valid as trained.
        uni = torch.nn.Embedding(max_vocab, model.unigrams.embedding_dim)
        with torch.no_grad():
            uni.weight.copy_(model.unigrams.weight[:max_vocab])
        model.unigrams = uni
    if model.config.linear_buckets:
        # Buffers, not modules: the dropped tokens' weights go with their ids (now <unk>'s).
        model.lin_uni = model.lin_uni[:max_vocab].clone()
        model.lin_uni_idf = model.lin_uni_idf[:max_vocab].clone()
    model.config.vocab_size = max_vocab
    return model, TextPipeline(new_vocab, pipeline.max_tokens, pipeline.padding_side, pipeline.tokenizer)
