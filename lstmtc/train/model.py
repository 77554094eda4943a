"""The LSTM classifier: Embedding -> LSTM module(s) -> Linear on the last step or a pooling.

Small enough to read in one sitting; ``ModelConfig`` holds everything needed to rebuild it.

A length-aware model (``ModelConfig.lengths``) takes each row's number of real tokens beside the
post-padded ids and runs its LSTMs on packed sequences: no step of either direction reads padding,
so a document's logits do not depend on how far it is padded or on its batch neighbours.

An n-gram bag (``ModelConfig.ngram_buckets``) can sit beside the LSTM: fastText's mean of word and
hashed word-pair vectors, concatenated with the pooled LSTM features before the head. The pairs are
hashed from the token ids inside the model, so an exported bundle takes the same inputs.

A linear model (``ModelConfig.linear_buckets``) can be mixed in after training: logistic regression
on TF-IDF of the same tokens and hashed pairs (``lstmtc.train.linear`` fits it with scikit-learn and
picks the mix on validation). The model then returns log((1 - mix) p_lstm + mix p_linear), whose
softmax is the mixed probability.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

POOLINGS = ("last", "max", "mean")
# Multiplier of the first token id in a pair's hash: a prime above any vocabulary size, so pairs
# (a, b) and (a', b') meet in a row only by the modulo, never by the multiplication.
NGRAM_HASH_PRIME = 10_000_019
# The linear model weighs a term seen tf times by 1 + log tf, read from a table of (1 + log t) / t
# per position: onnxruntime's Log rounds an element differently by where it falls in the tensor,
# so computing it in the graph moved a document's answer with the batch's width (~1e-6; the ~1e-7
# of onnxruntime's ReduceSum over the steps is gone too: lstmtc.export.exact_sums). A term
# repeated more often than the table is long counts as if seen LINEAR_TF_TABLE - 1 times per share.
LINEAR_TF_TABLE = 4096


def pair_hash(ids: torch.Tensor, buckets: int) -> torch.Tensor:
    """The row of each adjacent token pair of ``ids`` (batch, seq) in a table of ``buckets`` rows:
    (batch, seq - 1). It reads token ids only (not the vocabulary size), so a pruned vocabulary
    keeps the ids, and with them the rows, of every pair it keeps. The n-gram bag and the linear
    model (in the graph and in its fit) hash alike."""
    return (ids[:, :-1] * NGRAM_HASH_PRIME + ids[:, 1:]) % buckets


def linear_tf_table() -> torch.Tensor:
    """(1 + log t) / t for t = 0 .. LINEAR_TF_TABLE - 1 (t = 0 never read: padding has tf 1)."""
    t = torch.arange(LINEAR_TF_TABLE, dtype=torch.float64).clamp_min(1)
    return ((1 + t.log()) / t).float()


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
    # True: forward() takes (input_ids, lengths) and packs the sequences (the default recipe);
    # False: the reference's fixed-width input, padding included in every step.
    lengths: bool = False
    # > 0: beside the LSTM, a bag of n-grams (fastText's model) feeds the head: the mean of one
    # ``ngram_dim`` vector per token and per adjacent token pair, the pairs hashed into this many
    # rows. It sees word order the pooled LSTM blurs and learns rare words' evidence directly; 0 =
    # none (the reference, and every model trained before the option existed).
    ngram_buckets: int = 0
    # Width of the n-gram vectors (fastText's ``dim``), which the head maps to the classes. 8: on
    # AG News validation width 4 scored 0.2-0.4 point lower; each unit costs (vocabulary + buckets)
    # x 4 bytes of bundle (half in fp16).
    ngram_dim: int = 8
    # > 0: a TF-IDF + logistic-regression model of the tokens and of their adjacent pairs hashed into
    # this many rows, mixed into the output (``lstmtc.train.linear``); 0 = none (the reference).
    linear_buckets: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.hidden_sizes = tuple(int(h) for h in self.hidden_sizes)
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError("hidden_sizes needs at least one positive size")
        if self.num_classes < 2:
            raise ValueError("num_classes must be at least 2")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")
        if self.ngram_buckets < 0 or (self.ngram_buckets and self.ngram_dim < 1):
            raise ValueError("ngram_buckets must be >= 0 and ngram_dim >= 1")
        if self.linear_buckets < 0:
            raise ValueError("linear_buckets must be >= 0")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d


def distinct_pairs(ids: torch.Tensor, pad_index: int) -> int:
    """How many different adjacent (token, token) pairs the padded id matrix ``ids`` holds."""
    a, b = ids[:, :-1], ids[:, 1:]  # (n, seq - 1) each
    real = (a != pad_index) & (b != pad_index)
    return int(torch.unique(a[real] * (int(ids.max()) + 1) + b[real]).numel())


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
        if c.ngram_buckets:
            self.unigrams = nn.Embedding(c.vocab_size, c.ngram_dim)
            self.bigrams = nn.Embedding(c.ngram_buckets, c.ngram_dim)
            # Zero start, as fastText's output side: the bag begins silent and grows from evidence.
            nn.init.zeros_(self.unigrams.weight)
            nn.init.zeros_(self.bigrams.weight)
            width += c.ngram_dim
        self.head = nn.Linear(width, c.num_classes)
        if c.linear_buckets:
            # Fitted after training, not by gradient: buffers (saved and exported, never trained).
            k = c.num_classes
            self.register_buffer("lin_uni", torch.zeros(c.vocab_size, k))  # weight of each token
            self.register_buffer("lin_uni_idf", torch.ones(c.vocab_size))
            self.register_buffer("lin_bi", torch.zeros(c.linear_buckets, k))  # of each hashed pair
            self.register_buffer("lin_bi_idf", torch.ones(c.linear_buckets))
            self.register_buffer("lin_bias", torch.zeros(k))
            self.register_buffer("lin_mix", torch.zeros(()))  # the linear model's share of the output
            self.register_buffer("lin_tf", linear_tf_table(), persistent=False)

    def describe(self) -> str:
        """One line for the training log: the architecture and its trained weights."""
        c = self.config
        layers = f" x {c.num_layers} layers" if c.num_layers > 1 else ""
        lstm = " -> ".join(f"{'bi-' if c.bidirectional else ''}LSTM {h}{layers}" for h in c.hidden_sizes)
        read = {"max": "max-pooled", "mean": "mean-pooled"}.get(c.pooling, "read at its last step")
        bag = f" beside an n-gram bag ({c.ngram_dim}-d)" if c.ngram_buckets else ""
        n = sum(p.numel() for p in self.parameters())
        return (f"model: embedding {c.vocab_size:,} x {c.embed_dim} -> {lstm}, {read}{bag} -> {c.num_classes} classes; "
                f"{n:,} weights ({n * 4 / 1e6:.1f} MB in fp32)")

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.config.lengths:
            if lengths is None:
                raise ValueError("this model is length-aware: call it with (input_ids, lengths)")
            return self._forward_packed(input_ids, lengths)
        x = self.embedding(input_ids)  # (batch, seq, embed_dim)
        for i, lstm in enumerate(self.lstms):
            if i:
                x = self.dropout(x)
            # No (h0, c0): zero initial states, so the same input always gives the same logits
            # (the reference drew them from torch.randn on every call).
            x, _ = lstm(x)  # (batch, seq, hidden * dirs)
        real = (input_ids != self.config.pad_index).unsqueeze(-1)  # (batch, seq, 1)
        return self._head(x, real, None, input_ids)

    def _forward_packed(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        seq = input_ids.shape[1]
        # A document with no token at all still runs one (padding) step, as the ONNX graph does.
        lengths = lengths.clamp(1, seq).to("cpu", torch.int64)
        x = self.embedding(input_ids)  # (batch, seq, embed_dim)
        for i, lstm in enumerate(self.lstms):
            if i:
                x = self.dropout(x)
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = lstm(packed)
            x, _ = pad_packed_sequence(out, batch_first=True, total_length=seq)  # (batch, seq, hidden * dirs)
        lengths = lengths.to(input_ids.device)  # pack_padded_sequence wanted them on the CPU
        steps = torch.arange(seq, device=input_ids.device)
        real = (steps.unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)  # (batch, seq, 1)
        return self._head(x, real, lengths, input_ids)

    def _head(self, x: torch.Tensor, real: torch.Tensor, lengths: torch.Tensor | None,
              input_ids: torch.Tensor) -> torch.Tensor:
        """Logits from the LSTM outputs ``x`` (batch, seq, hidden * dirs); ``real`` marks the real
        steps; ``lengths`` is given for a length-aware model."""
        if self.config.pooling == "last":
            if lengths is None:
                feats = x[:, -1, :]  # (batch, hidden * dirs): the last time step, as the reference
            else:
                # Each document's own last token: the forward half at step length-1, the backward
                # half at step 0 (where the backward direction ends).
                last = x.gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, x.shape[2])).squeeze(1)
                if self.config.bidirectional:
                    half = x.shape[2] // 2
                    feats = torch.cat([last[:, :half], x[:, 0, half:]], dim=1)  # (batch, hidden * dirs)
                else:
                    feats = last  # (batch, hidden)
        elif self.config.pooling == "max":
            feats = x.masked_fill(~real, -1e4).amax(dim=1)  # (batch, hidden * dirs)
            # A document with no real token (an empty text) reads zeros, not the -1e4 fill:
            # that would reach the head as logits in the thousands.
            feats = feats.masked_fill(~real.any(dim=1), 0.0)
        else:
            feats = (x * real).sum(dim=1) / real.sum(dim=1).clamp(min=1)  # (batch, hidden * dirs)
        feats = self.dropout(feats)
        if self.config.ngram_buckets:
            feats = torch.cat([feats, self._ngram_bag(input_ids, real)], dim=1)  # (batch, width + ngram_dim)
        logits = self.head(feats)  # (batch, num_classes)
        if not self.config.linear_buckets:
            return logits
        # log((1 - mix) p_network + mix p_linear) as the log-sum-exp of two terms, read off a
        # LogSoftmax (v - LogSoftmax(v) = logsumexp(v)): onnxruntime computes it row by row, the
        # same bits at any batch size, where an elementwise Log of p would not.
        w = torch.stack([1 - self.lin_mix, self.lin_mix]).clamp_min(1e-30).log()  # (2,)
        v = torch.stack([logits.log_softmax(-1) + w[0],
                         self.linear_logits(input_ids, real).log_softmax(-1) + w[1]], dim=-1)  # (batch, classes, 2)
        lse = v - v.log_softmax(-1)  # (batch, classes, 2): both columns hold the log-sum-exp
        # Read it off the term with the larger weight (the other's -69 for a share of 0 or 1 loses digits).
        return torch.where(self.lin_mix <= 0.5, lse[..., 0], lse[..., 1])  # (batch, classes): log-probabilities

    def linear_logits(self, input_ids: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The linear model's logits: TfidfTransformer(sublinear_tf=True, norm="l2") of the real
        tokens and pairs, times the fitted weights. A term's tf is counted by comparing every
        position with every other (batch x seq x seq), which any ONNX runtime can do."""
        real = real.squeeze(-1).to(self.lin_uni.dtype)  # (batch, seq)
        pair = real[:, :-1] * real[:, 1:]  # (batch, seq - 1)
        h = pair_hash(input_ids, self.config.linear_buckets)  # (batch, seq - 1)
        sums = (_tfidf_terms(input_ids, real, self.lin_uni_idf[input_ids], self.lin_uni[input_ids], self.lin_tf)
                + _tfidf_terms(h, pair, self.lin_bi_idf[h], self.lin_bi[h], self.lin_tf))  # (batch, classes + 1)
        norm = sums[:, -1:].clamp_min(1e-12).sqrt()  # (batch, 1)
        return sums[:, :-1] / norm + self.lin_bias  # (batch, num_classes)

    def _ngram_bag(self, input_ids: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The mean n-gram vector of each row over its real tokens and real adjacent pairs."""
        real = real.to(self.unigrams.weight.dtype)  # (batch, seq, 1)
        pair = real[:, :-1] * real[:, 1:]  # (batch, seq - 1, 1)
        h = pair_hash(input_ids, self.config.ngram_buckets)  # (batch, seq - 1)
        total = (self.unigrams(input_ids) * real).sum(dim=1) + (self.bigrams(h) * pair).sum(dim=1)  # (batch, dim)
        return total / (real.sum(dim=1) + pair.sum(dim=1)).clamp(min=1)  # (batch, ngram_dim)


def _tfidf_terms(ids: torch.Tensor, real: torch.Tensor, idf: torch.Tensor, weight: torch.Tensor,
                 table: torch.Tensor) -> torch.Tensor:
    """For terms ``ids`` (batch, n) where ``real``: the sums of tf-idf x weight and of tf-idf squared,
    (batch, num_classes + 1); tf-idf = (1 + log tf) x idf per distinct term as scikit-learn's
    sublinear tf, each of a term's tf positions carrying 1/tf of it. Both are summed over the
    positions in one reduction over the middle axis; padding adds exact zeros, and the export takes
    that sum in float64 (``lstmtc.export.exact_sums``: onnxruntime's float32 order depends on the
    width), so a document's answer keeps its bits at any padded width."""
    # Padding reads as ids no term has (-1 - its position: terms are >= 0), so a position matches
    # real positions only, without a mask over the (batch, n, n) comparisons.
    steps = torch.arange(ids.shape[1], device=ids.device)
    distinct = torch.where(real > 0, ids, -1 - steps)  # (batch, n)
    same = (distinct.unsqueeze(2) == distinct.unsqueeze(1)).to(real.dtype)  # (batch, n, n)
    tf = (same.sum(-1) * real).clamp_min(1.0)  # (batch, n): the count of each position's term (exact)
    per = table[tf.clamp_max(len(table) - 1).long()]  # (batch, n): (1 + log tf) / tf
    share = (real * idf * per).unsqueeze(-1)  # (batch, n, 1)
    return torch.cat([share * weight, share * share * tf.unsqueeze(-1)], dim=-1).sum(1)  # (batch, classes + 1)
