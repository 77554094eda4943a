"""Training configuration and the five reference presets (SPEC.md's table)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class TrainConfig:
    """Every field defaults to the reference tutorial's behaviour, so a checkpoint written before a
    field existed resumes exactly as it trained; ``recipe_config`` holds the defaults for new data."""

    # Reference settings: Adam 1e-3, batch 1024, 10 epochs. None = chosen from the data
    # (``auto_batch_size``), resolved before training and stored resolved.
    lr: float = 1e-3
    batch_size: int | None = 1024
    epochs: int = 10
    seed: int = 0
    # Share of the training file held out for validation when no --valid file is given.
    valid_fraction: float = 0.05
    # "random" = the reference presets' seeded permutation (the published runs used it);
    # "stratified" = the same share of every class, so a 13% class or one of 77 is validated too.
    split: str = "random"
    # The tutorial kept every token (min_freq=1, no max size).
    min_freq: int = 1
    max_vocab: int | None = None
    # None = a high percentile of the training documents' lengths (``auto_max_tokens``).
    max_tokens: int | None = 50
    # "adam" is the reference; "adamw" decouples weight decay from the adaptive step.
    optimizer: str = "adam"
    weight_decay: float = 0.0
    # "constant" is the reference; "warmup-cosine" ramps up over ``warmup`` of the planned steps
    # (large early steps on random weights are what blow up a fresh LSTM) and then decays to zero
    # at the epoch cap.
    schedule: str = "constant"
    warmup: float = 0.0
    # Gradient-norm clipping; None = none (the reference). LSTMs occasionally take a huge step.
    clip_norm: float | None = None
    # Early stopping: stop after this many epochs without a better ``select`` score; None = run
    # every epoch (the reference). best.pt always holds the best epoch.
    patience: int | None = None
    # Which validation figure picks best.pt: "accuracy" (the reference), "macro-f1" (every class
    # counts the same, so a model that ignores a small class cannot win) or "loss".
    select: str = "accuracy"
    # When two epochs score the same ``select`` figure: "first" keeps the earlier (the reference);
    # "loss" prefers the lower validation loss, and a lower loss counts as progress for ``patience``.
    # A small validation set ties all the time: 30 rows reach 100% in three epochs, 5 rows sit at the
    # majority class's share while the model is still learning; the first such epoch is under-trained.
    tie_break: str = "first"
    # "balanced" weights each class's loss by n / (classes * count): a 13% class then pulls as
    # hard as the majority. "none" = the reference.
    class_weight: str = "none"
    # Pretrained word vectors (``lstmtc.train.embeddings.load_vectors`` spec) and what to do with them.
    embeddings: str | None = None
    freeze_embeddings: bool = False
    extend_vocab: int = 0
    # "post" is the reference; "pre" puts the last word on the step the head reads; "packed" makes a
    # length-aware model (lstmtc.train.model): no step reads padding, in training or in the bundle.
    padding_side: str = "post"
    # A name in lstmtc.infer.text.TOKENIZERS; it travels with the checkpoint and the bundle.
    tokenizer: str = "basic_english"
    device: str = "cpu"
    # fp32 by default, as the reference. "bf16": mixed precision (autocast; weights, optimizer and
    # validation stay fp32): a preset-2 epoch takes ~0.6x the fp32 time on an AVX512-BF16 CPU, and
    # 4 of the 5 presets stayed within 0.5 point of the reference loop, preset 5 did not (-0.63,
    # docs/results.md) -- so it is opt-in. "auto": bf16 where the device computes bf16 natively,
    # fp32 where emulation would only be slower. A run stores what it resolved to, for --resume.
    precision: str = "fp32"
    # After training, fit a TF-IDF + logistic-regression model of the same tokens and mix its
    # probabilities into the output where that scores higher on validation (lstmtc.train.linear).
    # False = the network alone (the reference).
    linear: bool = False
    # Rows its word pairs are hashed into; None = the n-gram bag's (the same hash), or as the bag's
    # "auto" where there is no bag. Fewer rows: a smaller bundle (each row costs classes + 1 floats).
    linear_buckets: int | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


PRECISIONS = ("fp32", "bf16", "auto")  # lstmtc-train --precision
OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "warmup-cosine")
SELECTS = ("macro-f1", "accuracy", "loss")
TIE_BREAKS = ("loss", "first")
CLASS_WEIGHTS = ("none", "balanced")
SPLITS = ("stratified", "random")
# TrainConfig field -> its allowed values (lstmtc.train.loop.check_config refuses anything else).
CHOICES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "select": SELECTS, "class_weight": CLASS_WEIGHTS,
           "split": SPLITS, "tie_break": TIE_BREAKS}

# The default recipe: what lstmtc-train does without --preset, chosen for data it has never seen
# (docs/results.md measures it on SMS spam, BANKING77 and AG News against TF-IDF+LR and fastText).
RECIPE = {
    "lr": 2e-3,
    "batch_size": None,
    "epochs": 20,
    "split": "stratified",
    "min_freq": 2,
    "max_tokens": None,
    # Length-aware: a document's logits do not depend on its padding or batch neighbours, a training
    # batch runs at its own longest document, and lstmtc-classify sorts by length (docs/benchmarks.md).
    "padding_side": "packed",
    "optimizer": "adamw",
    "weight_decay": 0.01,
    "schedule": "warmup-cosine",
    "warmup": 0.05,
    "clip_norm": 1.0,
    "patience": 3,
    "select": "macro-f1",
    # 300 rows of SMS spam's training split (15 held out: they reach 100% or sit at the majority share
    # and stop the run early), scored on its 557 validation rows, two draws: 86.54 / 86.54% (the
    # majority class) with "first", 96.23 / 94.79% with "loss" (TF-IDF+LR 93.18 / 90.31%). 600 rows:
    # 96.41 / 96.77% vs 96.41 / 95.87%. On the full datasets no two epochs tie: the runs are unchanged.
    "tie_break": "loss",
    # Unweighted: with macro-F1 picking the epoch, the model found the minority class anyway, and
    # "balanced" measured lower validation macro-F1 on SMS spam (13% spam: 0.954/0.957 vs
    # 0.961/0.964 over two seeds) and on a 3%-spam cut of it (0.876/0.897 vs 0.915/0.897).
    "class_weight": "none",
    # basic_english for any script: the same tokens on ASCII text; Chinese, Japanese or Thai become
    # characters instead of whole clauses (ChnSentiCorp hotel reviews: a collapse to the majority
    # class with basic_english, docs/results.md).
    "tokenizer": "multilingual",
    # Pretrained vectors where they know the data's words (``AUTO_VECTORS``). Validation accuracy, random
    # 100-d -> GloVe 50d, mean over seeds (docs/results.md): TREC-6 85.61 -> 87.49 (5 seeds), SMS spam
    # 98.62 -> 99.10, BANKING77 88.47 -> 89.27, BBC News 95.20 -> 96.00 (3 seeds); AG News 92.34 -> 93.67.
    "embeddings": "auto",
    # The network and a TF-IDF + logistic-regression model err on different documents: mixing their
    # probabilities (the share chosen on validation) scored higher on validation than the network
    # alone on TREC-6, BBC News, BANKING77 and GermEval 2018 and equal on SMS spam (docs/results.md).
    "linear": True,
}
# ``embeddings="auto"``: these vectors when they cover at least this share of the training tokens,
# else random embeddings of RECIPE_MODEL's size. Measured shares: English data 88.9% (TREC-6
# questions) to 99.2% (BANKING77), SMS slang 91.8%, German tweets 65.5% (GermEval 2018: validation
# 74.32 -> 75.12 with GloVe, 3 seeds), Chinese reviews 13.9% (ChnSentiCorp, one token per character:
# level: 90.15 random, 89.96 GloVe, 2 seeds): the vectors help where they know most of the words.
AUTO = "auto"
AUTO_VECTORS = "glove-6b-50d"
AUTO_VECTORS_MIN_COVERAGE = 0.5
# A bidirectional LSTM read by max-pooling over the real tokens: every word can reach the head
# directly, where reading the last step makes the head depend on how far the words lie from it.
# 100-d embeddings: validation macro-F1 0.874 vs 0.864 (50-d) on BANKING77, 0.969 vs 0.961 on SMS
# spam; with --embeddings the vectors' size wins.
# Beside it, a bag of word and word-pair vectors (fastText's model inside the network): validation
# over three seeds each, without -> with, accuracy / macro-F1: BANKING77 87.83 -> 88.57 / 0.878 ->
# 0.887, SMS spam 98.20 -> 98.20 / 0.961 -> 0.961; AG News (two seeds) 91.40 -> 92.24 / 0.914 ->
# 0.923 (docs/results.md).
# 64 LSTM units per direction: with the linear model mixed in, level with 128 on validation on
# seven datasets (macro-F1, mean over seeds, 128 -> 64: TREC-6 0.852 -> 0.853, BANKING77 0.906 ->
# 0.905, SMS spam 0.982 -> 0.979, BBC 0.978 -> 0.975, AG News 0.939 -> 0.938; docs/results.md), for
# 1.4-1.8x the classify speed and 2.6x the training speed on AG News, where a 128-unit LSTM was
# most of the model's time. 32 units lost more (BANKING77 0.899, SMS spam 0.977).
# Without the linear model (--no-linear) the network alone is the model, and there 64 units lost
# 0.8-1.8 points of validation macro-F1 to 128 (TREC-6, BANKING77, BBC): such runs keep 128.
RECIPE_HIDDEN_WITHOUT_LINEAR = (128,)
RECIPE_MODEL = {"embed_dim": 100, "hidden_sizes": (64,), "num_layers": 1, "bidirectional": True, "dropout": 0.5,
                "pooling": "max", "ngram_buckets": "auto", "ngram_dim": 8}
# ``ngram_buckets="auto"``: as many rows as the training texts have distinct word pairs, rounded up to a
# power of two within this range: SMS spam (28,679 pairs) and BANKING77 (18,255) get 32,768 rows
# (1 MB in fp32 at width 8), AG News (758,969) the most, 262,144 x 8 floats (8 MB; half in fp16).
AUTO_NGRAM_BUCKETS_RANGE = (1024, 262144)
# Tokens per document from the data: this percentile of the training documents' lengths ...
AUTO_MAX_TOKENS_PERCENTILE = 95
# ... or, for a length-aware model, this one: a long document then costs only its own steps (a
# batch runs at its longest row, and classify sorts by length), so a higher cap loses fewer words.
AUTO_MAX_TOKENS_PERCENTILE_PACKED = 99
# ... within these bounds (a longer cap costs time on every step of every document that long) ...
AUTO_MAX_TOKENS_RANGE = (8, 256)
# ... or these, for a length-aware model. BBC News articles (median 368 tokens; 874 training rows,
# validated on 125): 91.20% at 256 (77.5% of documents cut), 94.40% at 512, 95.20% at 1024, at 6.6 /
# 30 / 65 s an epoch (2 cores); TF-IDF+LR, which reads all of every document, 96.8%.
AUTO_MAX_TOKENS_RANGE_PACKED = (8, 512)
# Batches from the data: about this many updates per epoch, a power of two within the range.
AUTO_BATCH_UPDATES = 100
AUTO_BATCH_RANGE = (16, 128)


def auto_max_tokens(lengths, packed: bool = False) -> int:
    """Tokens kept per document when none is given: the 95th percentile of training lengths within
    AUTO_MAX_TOKENS_RANGE (the 99th within AUTO_MAX_TOKENS_RANGE_PACKED for a length-aware model)."""
    import numpy as np

    lo, hi = AUTO_MAX_TOKENS_RANGE_PACKED if packed else AUTO_MAX_TOKENS_RANGE
    if len(lengths) == 0:
        return lo
    q = AUTO_MAX_TOKENS_PERCENTILE_PACKED if packed else AUTO_MAX_TOKENS_PERCENTILE
    return int(min(hi, max(lo, math.ceil(float(np.percentile(lengths, q))))))


def auto_ngram_buckets(distinct_pairs: int) -> int:
    """Rows of the n-gram bag's pair table for a corpus with this many distinct word pairs."""
    lo, hi = AUTO_NGRAM_BUCKETS_RANGE
    return int(min(hi, max(lo, 2 ** math.ceil(math.log2(max(1, distinct_pairs))))))


def auto_batch_size(n_train: int) -> int:
    """A power of two that gives about AUTO_BATCH_UPDATES updates per epoch, within AUTO_BATCH_RANGE:
    batch 1024 on 4,000 texts is four updates an epoch, too few to learn anything."""
    lo, hi = AUTO_BATCH_RANGE
    target = max(1, n_train // AUTO_BATCH_UPDATES)
    return int(min(hi, max(lo, 2 ** int(math.log2(target)))))


def recipe_config(**overrides) -> TrainConfig:
    """The default recipe, with ``overrides`` (the options a user gave) on top."""
    return TrainConfig(**{**RECIPE, **overrides})

# name -> (max_tokens, model architecture). Architectures are those of the reference tutorial.
PRESETS: dict[int, dict] = {
    1: {"max_tokens": 25, "hidden_sizes": (75,), "num_layers": 1, "bidirectional": False},
    2: {"max_tokens": 50, "hidden_sizes": (75,), "num_layers": 1, "bidirectional": False},
    3: {"max_tokens": 50, "hidden_sizes": (75,), "num_layers": 3, "bidirectional": False},
    4: {"max_tokens": 50, "hidden_sizes": (50, 60, 75), "num_layers": 1, "bidirectional": False},
    5: {"max_tokens": 50, "hidden_sizes": (75,), "num_layers": 3, "bidirectional": True},
}

PRESET_DESCRIPTIONS = {
    1: "single LSTM(50->75), 25 tokens",
    2: "single LSTM(50->75), 50 tokens",
    3: "LSTM(50->75, num_layers=3), 50 tokens",
    4: "stacked LSTM(50->50) -> LSTM(50->60) -> LSTM(60->75), 50 tokens",
    5: "bidirectional LSTM(50->75, num_layers=3) -> Linear(150->classes), 50 tokens",
}
