"""The PyTorch-eager baseline classifier that lstmtc-classify is measured against.

The reference tutorial's data path: the documents go through a torch DataLoader whose collate
function tokenizes them (``reference_loop.regex_tokenizer``, torchtext's regex chain), looks the
tokens up in the vocabulary and pads them; the model's forward runs in torch. The model and its
pipeline settings (vocabulary, max_tokens, padding side and id) come from the lstmtc checkpoint,
so it predicts the classes the exported bundle predicts and prints them the way
``lstmtc-classify`` does (one label name per input line; an empty line for an empty line). A
length-aware checkpoint gets each row's length beside the ids, padded to max_tokens as the
tutorial padded.

``--best``: torch's best inference path for a length-aware checkpoint instead -- lstmtc's own
tokenizer and vectorizer (no DataLoader), the documents sorted by length and cut into batches
padded to their own longest, packed sequences, ``torch.inference_mode``.

    python benchmarks/torch_baseline.py --ckpt runs/preset1/best.pt [FILE] [--batch-size 256] [--threads 1] [--best]
    echo "Stocks slid as oil prices jumped" | python benchmarks/torch_baseline.py --ckpt runs/preset1/best.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `lstmtc` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch.utils.data import DataLoader

from benchmarks.reference_loop import regex_tokenizer
from lstmtc.train.checkpoint import (
    labelset_from_checkpoint,
    model_from_checkpoint,
    pipeline_from_checkpoint,
    read_checkpoint,
)


def make_collate(vocab, max_words: int, pad_index: int, padding_side: str = "post", tokenizer=regex_tokenizer):
    """reference_loop.make_collate with the checkpoint's padding id and side (the tutorial padded
    with 0 at the end; an lstmtc model pads with its own <pad> id). For a length-aware model
    ("packed"): (ids, lengths)."""

    def vectorize_batch(texts):
        x = [vocab.lookup(tokenizer(t))[:max_words] for t in texts]  # as the reference: look up all, then cut
        lengths = torch.tensor([max(len(ids), 1) for ids in x], dtype=torch.int64)
        if padding_side == "pre":
            x = [[pad_index] * (max_words - len(ids)) + ids for ids in x]
        else:
            x = [ids + [pad_index] * (max_words - len(ids)) for ids in x]
        ids = torch.tensor(x, dtype=torch.int64)
        return (ids, lengths) if padding_side == "packed" else ids

    return vectorize_batch


def read_lines(src) -> list[str]:
    """One document per line, split on '\\n' only (as lstmtc-classify does), line endings dropped."""
    data = src.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


class TorchClassifier:
    def __init__(self, ckpt_path, batch_size: int = 256):
        ckpt = read_checkpoint(ckpt_path)
        self.model = model_from_checkpoint(ckpt)
        self.pipeline = pipeline = pipeline_from_checkpoint(ckpt)
        self.names = list(labelset_from_checkpoint(ckpt).names)
        self.collate = make_collate(pipeline.vocab, pipeline.max_tokens, pipeline.vocab.pad_index,
                                    pipeline.padding_side)
        self.batch_size = batch_size

    @torch.no_grad()
    def predict(self, texts: list[str]) -> list[int]:
        loader = DataLoader(texts, batch_size=self.batch_size, collate_fn=self.collate, shuffle=False)
        out: list[int] = []
        for x in loader:
            logits = self.model(*x) if isinstance(x, tuple) else self.model(x)
            out.extend(logits.argmax(-1).tolist())
        return out

    def label_lines(self, texts: list[str]) -> list[str]:
        live = [i for i, t in enumerate(texts) if t.strip()]
        lines = [""] * len(texts)
        for i, p in zip(live, self.predict([texts[i] for i in live])):
            lines[i] = self.names[p]
        return lines


class BestTorchClassifier(TorchClassifier):
    """Packed sequences over length-sorted batches under inference_mode (length-aware checkpoints)."""

    def __init__(self, ckpt_path, batch_size: int = 256):
        super().__init__(ckpt_path, batch_size)
        if not self.model.config.lengths:
            raise SystemExit(f"{ckpt_path}: --best needs a length-aware checkpoint "
                             "(trained with --padding-side packed)")

    def predict(self, texts: list[str]) -> list[int]:
        import numpy as np

        tokens = self.pipeline.model_tokens(texts)
        lengths = self.pipeline.lengths(tokens)
        order = np.argsort(lengths, kind="stable")
        out = np.empty(len(texts), dtype=np.int64)
        with torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                idx = order[i:i + self.batch_size]
                ids = self.pipeline.ids([tokens[j] for j in idx])
                logits = self.model(torch.from_numpy(ids), torch.from_numpy(lengths[idx]))
                out[idx] = logits.argmax(-1).numpy()
        return out.tolist()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", default="-", help="one document per line ('-' or nothing: stdin)")
    ap.add_argument("--ckpt", required=True, help="lstmtc checkpoint (best.pt) or run directory")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, help="torch intra-op threads [default: torch's]")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    ap.add_argument("--best", action="store_true",
                    help="torch's best path: sorted by length, packed sequences, inference_mode (length-aware models)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
        try:
            torch.set_num_interop_threads(1)  # as lstmtc-classify sets onnxruntime's inter-op threads
        except RuntimeError:
            pass
    clf = (BestTorchClassifier if a.best else TorchClassifier)(a.ckpt, a.batch_size)
    if a.file == "-":
        texts = read_lines(sys.stdin.buffer)
    else:
        with open(a.file, "rb") as f:
            texts = read_lines(f)
    lines = clf.label_lines(texts)
    body = "".join(line + "\n" for line in lines)
    if a.output:
        with open(a.output, "w", encoding="utf-8", newline="") as f:
            f.write(body)
    else:
        sys.stdout.write(body)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
