"""The linear model mixed into a trained network: TF-IDF + logistic regression on the same tokens.

Why: on every dataset measured, a TF-IDF + logistic-regression model and the LSTM err on different
documents, and averaging their probabilities beat either on validation (docs/results.md). The
linear model reads what the network reads -- the vocabulary's token ids, cut at ``max_tokens``, and
their adjacent pairs hashed as the n-gram bag hashes them -- so the bundle computes it from the
same inputs (``LSTMClassifier.linear_logits``). scikit-learn fits it; its C and the mix are chosen
on the validation rows by the run's ``select`` score, and a mix of 0 (the network alone) is kept
when the linear model does not help.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .model import linear_tf_table, pair_hash

# Inverse regularisation strengths tried (the TF-IDF+LR peer's grid, benchmarks/peers.py).
LINEAR_C = (1.0, 10.0, 100.0)
# Shares of the linear model in the mixed output tried on validation; 0 = the network alone.
LINEAR_MIX = tuple(round(0.1 * i, 1) for i in range(11))
# saga: on BANKING77 (77 classes) 2-17 s a fit where lbfgs took 16-35 s; rows of TF-IDF are
# L2-normalised, which is what saga converges fast on. Seeded: it visits the rows in random order.
LINEAR_MAX_ITER = 1000
# Above this many weights ((vocabulary + hashed pairs) x classes: 100 MB in fp32) the linear model
# is left out with a note: 1,000 classes over AG News's 300,000 features would add 1.2 GB to the
# bundle. BANKING77 (77 classes) needs 2.7 million, AG News 1.2 million.
LINEAR_MAX_WEIGHTS = 25_000_000


@dataclass
class LinearFit:
    c: float
    mix: float
    score: float  # the run's select score of the mix on validation
    linear_score: float  # ... of the linear model alone
    network_score: float  # ... of the network alone


def term_counts(ids: torch.Tensor, lengths: torch.Tensor | None, pad_index: int, vocab_size: int, buckets: int):
    """Sparse (rows, vocab_size + buckets) counts of each row's real tokens and hashed adjacent pairs."""
    from scipy.sparse import csr_matrix

    ids = ids.to(torch.int64)
    if lengths is None:
        real = ids != pad_index
    else:
        real = torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    pair = real[:, :-1] & real[:, 1:]
    h = pair_hash(ids, buckets) + vocab_size
    rows = torch.arange(len(ids)).unsqueeze(1)
    r = torch.cat([rows.expand_as(ids)[real], rows.expand_as(h)[pair]]).numpy()
    c = torch.cat([ids[real], h[pair]]).numpy()
    return csr_matrix((np.ones(len(r), dtype=np.float64), (r, c)), shape=(len(ids), vocab_size + buckets))


def sublinear(counts):
    """scikit-learn's sublinear tf, 1 + log tf, as the model computes it: tf x (1 + log t) / t from
    its table (``linear_tf_table``), t = tf up to the table's end."""
    table = linear_tf_table().numpy().astype(np.float64)
    counts = counts.copy()
    counts.data = counts.data * table[np.minimum(counts.data, len(table) - 1).astype(np.int64)]
    return counts


def fit_linear(model, x_train, len_train, y_train, x_valid, len_valid, y_valid, network_probs: np.ndarray,
               score: Callable[[np.ndarray, np.ndarray], float], seed: int = 0) -> LinearFit:
    """Fit the linear model for ``model`` (an LSTMClassifier whose config has ``linear_buckets``),
    write it into the model's buffers, and choose C and the mix on validation with ``score(gold,
    pred)``; ``network_probs`` are the network's validation probabilities."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    c = model.config
    args = (c.pad_index, c.vocab_size, c.linear_buckets)
    tfidf = TfidfTransformer()  # the tf weighting is applied here, as the model applies it
    xt = tfidf.fit_transform(sublinear(term_counts(x_train, len_train, *args)))
    xv = tfidf.transform(sublinear(term_counts(x_valid, len_valid, *args)))
    gold, train_gold = y_valid.numpy(), y_train.numpy()
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a C that has not converged is judged as it is
        for cc in LINEAR_C:
            clf = LogisticRegression(C=cc, solver="saga", max_iter=LINEAR_MAX_ITER, random_state=seed)
            clf.fit(xt, train_gold)
            probs = _full_probs(clf, xv, c.num_classes)
            s = score(gold, probs.argmax(1))
            if best is None or s > best[0]:
                best = (s, cc, clf, probs)
    linear_score, cc, clf, probs = best
    mixes = [(score(gold, ((1 - m) * network_probs + m * probs).argmax(1)), -m, m) for m in LINEAR_MIX]
    mixed, _, mix = max(mixes)  # ties: the smaller share of the linear model
    load_linear(model, clf, tfidf.idf_, mix)
    return LinearFit(cc, mix, mixed, linear_score, score(gold, network_probs.argmax(1)))


def load_linear(model, clf, idf: np.ndarray, mix: float) -> None:
    """Write a fitted LogisticRegression ``clf`` over (vocabulary + pair rows) features with their
    ``idf`` into ``model``'s linear buffers, at share ``mix``."""
    c = model.config
    weight, bias = _class_weights(clf, c.num_classes)
    idf = torch.from_numpy(idf).float()
    with torch.no_grad():
        model.lin_uni.copy_(weight[: c.vocab_size])
        model.lin_bi.copy_(weight[c.vocab_size:])
        model.lin_uni_idf.copy_(idf[: c.vocab_size])
        model.lin_bi_idf.copy_(idf[c.vocab_size:])
        model.lin_bias.copy_(bias)
        model.lin_mix.fill_(mix)


def _class_weights(clf, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(features x k, k) weights giving softmax = the classifier's probabilities; every class gets a
    column, also those absent from training (which then never win)."""
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:  # binary: sigmoid(z) = softmax([-z/2, z/2])
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    weight = np.zeros((coef.shape[1], k), dtype=np.float32)
    bias = np.full(k, -1e4, dtype=np.float32)
    weight[:, clf.classes_] = coef.T
    bias[clf.classes_] = intercept
    return torch.from_numpy(weight), torch.from_numpy(bias)


def _full_probs(clf, x, k: int) -> np.ndarray:
    probs = np.zeros((x.shape[0], k))
    probs[:, clf.classes_] = clf.predict_proba(x)
    return probs


def mix_into_best(out, cfg, prep, device: torch.device, log: Callable[[str], None]) -> None:
    """Fit the linear model for the run in ``out`` and rewrite its best.pt with it (once: a best.pt
    that has one is left alone, so a resumed run that was complete does not fit it again)."""
    from lstmtc.infer.scoring.metrics import report

    from .checkpoint import BEST, read_checkpoint, save_checkpoints
    from .config import auto_ngram_buckets
    from .model import LSTMClassifier, ModelConfig, distinct_pairs

    best = read_checkpoint(out / BEST)
    if best["model_config"].get("linear_buckets") or best.get("linear"):
        return
    buckets = cfg.linear_buckets or best["model_config"].get("ngram_buckets") or auto_ngram_buckets(
        distinct_pairs(prep.x_train, prep.pipeline.vocab.pad_index))
    weights = (best["model_config"]["vocab_size"] + buckets) * best["model_config"]["num_classes"]
    if weights > LINEAR_MAX_WEIGHTS:
        log(f"note: no linear model: {weights:,} weights (vocabulary + word pairs x classes) would add "
            f"{weights * 4 / 1e6:,.0f} MB to the model; --no-linear leaves it out without this note")
        return
    log(f"fitting the linear model (TF-IDF + logistic regression, C of {'/'.join(f'{c:g}' for c in LINEAR_C)}) "
        f"on {len(prep.x_train):,} rows ...")
    network = LSTMClassifier(ModelConfig(**best["model_config"]))
    network.load_state_dict(best["state_dict"])
    network_probs = _probs(network, prep.x_valid, prep.len_valid, cfg.batch_size, device)
    model = LSTMClassifier(ModelConfig(**{**best["model_config"], "linear_buckets": buckets}))
    model.load_state_dict(network.state_dict(), strict=False)  # all but the linear part, which is fitted next
    key = "macro_f1" if cfg.select == "macro-f1" else "accuracy"
    names = prep.train.labelset.names

    def score(gold, pred) -> float:
        return report(gold, pred, names)[key]

    fit = fit_linear(model, prep.x_train, prep.len_train, prep.y_train, prep.x_valid, prep.len_valid,
                     prep.y_valid, network_probs, score, cfg.seed)
    what = "macro-F1" if key == "macro_f1" else "accuracy"
    log(f"linear model (TF-IDF + logistic regression, C={fit.c:g}): valid {what} {fit.linear_score:.4f}; "
        f"mixed into the network's {fit.network_score:.4f} at share {fit.mix:.1f}: {fit.score:.4f}"
        + ("" if fit.mix else " (the network alone)"))
    about = {"c": fit.c, "mix": fit.mix, "select": cfg.select, "valid_score": fit.score,
             "valid_linear": fit.linear_score, "valid_network": fit.network_score}
    if not fit.mix:  # the network alone: the bundle carries and computes nothing for it
        save_checkpoints(out, {BEST: {**best, "linear": about}})
        return
    save_checkpoints(out, {BEST: {**best, "model_config": model.config.to_dict(), "linear": about,
                                  "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}})


@torch.no_grad()
def _probs(model, x, lengths, batch_size: int, device: torch.device) -> np.ndarray:
    """``model``'s probabilities on ``x``, batch by batch on ``device``."""
    from .batches import model_batches

    model.to(device).eval()
    out = [logits.softmax(-1).cpu() for _, logits in model_batches(model, x, lengths, batch_size, device)]
    model.cpu()
    return torch.cat(out).numpy()
