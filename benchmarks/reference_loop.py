"""A faithful re-implementation of the reference tutorial's training loop, quirks included.

Used twice: as the accuracy baseline each preset must reach (docs/results.md) and as the
"re-tokenize every batch" loop that benchmarks/train_speed.py times against lstmtc's loop.

Quirks kept on purpose: the text is tokenized and looked up in the DataLoader's collate function
for every batch of every epoch; padding uses id 0, which is also <UNK>; every forward pass draws
random initial hidden and cell states; the final model (not the best one) is evaluated.
Leaks fixed, so the comparison is on the same data as lstmtc: the vocabulary is built from the
training split only and validation is held out of the training data (the same seeded split).

    python -m benchmarks.reference_loop --train ../shared/data/ag_news/train_pool.csv \
        --test ../shared/data/ag_news/test.csv --preset 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import re
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

from lstmtc.infer.data import read_labelled
from lstmtc.infer.vocab import Vocab
from lstmtc.train.config import PRESETS
from lstmtc.train.prepare import split_indices

# torchtext's basic_english as torchtext wrote it: a chain of regex substitutions.
_PATTERNS = [(re.compile(p), r) for p, r in zip(
    [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"],
    [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "])]


def regex_tokenizer(line: str) -> list[str]:
    line = line.lower()
    for pattern, repl in _PATTERNS:
        line = pattern.sub(repl, line)
    return line.split()


class ReferenceModel(nn.Module):
    """The tutorial's model: random (h0, c0) on every forward, head on the last time step."""

    def __init__(self, vocab_size, num_classes, hidden_sizes, num_layers, bidirectional, embed_dim=50):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.dirs = 2 if bidirectional else 1
        self.num_layers = num_layers
        lstms, width = [], embed_dim
        for h in hidden_sizes:
            lstms.append(nn.LSTM(width, h, num_layers=num_layers, batch_first=True, bidirectional=bidirectional))
            width = h * self.dirs
        self.lstms = nn.ModuleList(lstms)
        self.linear = nn.Linear(width, num_classes)

    def forward(self, x):
        out = self.embedding(x)
        for lstm in self.lstms:
            shape = (self.num_layers * self.dirs, len(x), lstm.hidden_size)
            out, _ = lstm(out, (torch.randn(*shape), torch.randn(*shape)))
        return self.linear(out[:, -1])


def _timed(collate):
    """``collate`` that adds its own run time to ``.seconds`` (read and reset per epoch by ``run``),
    so a benchmark can say what share of an epoch re-tokenizing costs."""

    def timed(batch):
        t0 = time.perf_counter()
        try:
            return collate(batch)
        finally:
            timed.seconds += time.perf_counter() - t0

    timed.seconds = 0.0
    return timed


def make_collate(vocab: Vocab, max_words: int, tokenizer=regex_tokenizer):
    def vectorize_batch(batch):
        y, texts = zip(*batch)
        x = [vocab.lookup(tokenizer(t)) for t in texts]
        x = [ids + [0] * (max_words - len(ids)) if len(ids) < max_words else ids[:max_words] for ids in x]
        return torch.tensor(x, dtype=torch.int32), torch.tensor(y)

    return vectorize_batch


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    loss_fn = nn.CrossEntropyLoss()
    losses, preds, gold = [], [], []
    for x, y in loader:
        logits = model(x)
        losses.append(loss_fn(logits, y).item())
        preds.append(logits.argmax(-1))
        gold.append(y)
    preds, gold = torch.cat(preds), torch.cat(gold)
    return float(torch.tensor(losses).mean()), float((preds == gold).float().mean()), preds.tolist()


def run(train_path, preset: int, epochs=10, batch_size=1024, lr=1e-3, seed=0, valid_fraction=0.05,
        test_path=None, log=print, max_batches=None):
    torch.manual_seed(seed)
    data = read_labelled(train_path)
    tr_idx, va_idx = split_indices(len(data), valid_fraction, seed)
    train_rows = [(data.labels[i], data.texts[i]) for i in tr_idx]
    valid_rows = [(data.labels[i], data.texts[i]) for i in va_idx]
    vocab = Vocab.build((regex_tokenizer(t) for _, t in train_rows), specials=["<UNK>"],
                        unk_token="<UNK>", pad_token="<UNK>")
    arch = dict(PRESETS[preset])
    max_words = arch.pop("max_tokens")
    collate = _timed(make_collate(vocab, max_words))
    train_loader = DataLoader(train_rows, batch_size=batch_size, collate_fn=collate, shuffle=True)
    valid_loader = DataLoader(valid_rows, batch_size=batch_size, collate_fn=collate)
    model = ReferenceModel(len(vocab), len(data.labelset), **arch)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        collate.seconds = 0.0
        model.train()
        losses = []
        for b, (x, y) in enumerate(train_loader):
            if max_batches is not None and b >= max_batches:
                break
            loss = loss_fn(model(x), y)
            losses.append(loss.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
        train_seconds = time.perf_counter() - t0
        vloss, vacc, _ = evaluate(model, valid_loader)
        seconds = time.perf_counter() - t0
        history.append({"epoch": epoch, "train_loss": float(torch.tensor(losses).mean()), "valid_loss": vloss,
                        "valid_acc": vacc, "seconds": seconds, "train_seconds": train_seconds,
                        "collate_seconds": collate.seconds})
        log(f"[reference preset {preset}] epoch {epoch}/{epochs} train loss {history[-1]['train_loss']:.4f} "
            f"valid loss {vloss:.4f} valid acc {vacc * 100:.2f}% {seconds:.1f}s")
    result = {"preset": preset, "train": str(train_path), "n_train": len(train_rows), "n_valid": len(valid_rows),
              "history": history, "seed": seed}
    if test_path:
        test = read_labelled(test_path, data.labelset)
        test_loader = DataLoader(list(zip(test.labels, test.texts)), batch_size=batch_size, collate_fn=collate)
        _, acc, preds = evaluate(model, test_loader)
        result["test_accuracy"] = acc
        result["test_n"] = len(test)
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test")
    ap.add_argument("--preset", type=int, required=True, choices=sorted(PRESETS))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json", help="write the result here")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    result = run(a.train, a.preset, epochs=a.epochs, seed=a.seed, test_path=a.test)
    if "test_accuracy" in result:
        print(f"reference preset {a.preset}: test accuracy {result['test_accuracy'] * 100:.2f}% on {result['test_n']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
