"""Bundle size vs accuracy for one trained run: vocabulary pruning, int8 and fp16, alone and
combined. Accuracy on the run's held-out validation split (what a choice may use) and on the
test set (what the model card reports).

    python -m benchmarks.size_tradeoff runs/cand3 --max-vocab 20000 30000 --json out.json
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import SHARED, print_table, write_json
from lstmtc.export import export_bundle
from lstmtc.infer.classifier import Classifier
from lstmtc.infer.data import read_labelled
from lstmtc.train.checkpoint import labelset_from_checkpoint, read_checkpoint
from lstmtc.train.prepare import split_indices


def accuracy(clf: Classifier, texts, labels) -> float:
    pred = np.concatenate([clf.logits(texts[i:i + 1024]).argmax(1) for i in range(0, len(texts), 1024)])
    return float((pred == np.asarray(labels)).mean())


def bundle_size(path: Path, precision: str) -> int:
    """Bytes a bundle holding only this precision's model would take (model + vocab + manifest)."""
    model = {"fp32": "model.onnx", "int8": "model.int8.onnx", "fp16": "model.fp16.onnx"}[precision]
    return sum((path / n).stat().st_size for n in (model, "vocab.json", "bundle.json"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--max-vocab", type=int, nargs="*", default=[])
    ap.add_argument("--test", default=str(SHARED / "test.csv"))
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    ckpt = read_checkpoint(Path(a.run) / "best.pt")
    labelset = labelset_from_checkpoint(ckpt)
    tc = ckpt["train_config"]
    full = read_labelled(ckpt["train_file"], labelset, **(ckpt.get("read_options") or {}))
    _, va_idx = split_indices(len(full), tc["valid_fraction"], tc["seed"])
    vtexts, vlabels = [full.texts[i] for i in va_idx], [full.labels[i] for i in va_idx]
    test = read_labelled(a.test, labelset)
    rows, out = [], []
    with tempfile.TemporaryDirectory() as d:
        for mv in [None, *a.max_vocab]:
            b = Path(d) / f"b{mv}"
            export_bundle(Path(a.run) / "best.pt", b, precisions=("int8", "fp16"), max_vocab=mv, validate=False)
            for prec in ("fp32", "int8", "fp16"):
                clf = Classifier.load(b, prec)
                r = {"max_vocab": mv or len(read_checkpoint(Path(a.run) / "best.pt")["vocab"]["tokens"]),
                     "precision": prec, "bytes": bundle_size(b, prec),
                     "valid_acc": accuracy(clf, vtexts, vlabels), "test_acc": accuracy(clf, test.texts, test.labels)}
                out.append(r)
                rows.append([r["max_vocab"], prec, f"{r['bytes'] / 1e6:.2f} MB", r["valid_acc"] * 100,
                             r["test_acc"] * 100])
    print_table(f"size vs accuracy: {a.run}", ["vocab", "precision", "bundle size", "valid acc %", "test acc %"],
                rows)
    print(f"wrote {write_json(a.json, 'size_tradeoff', {'run': a.run, 'rows': out})}")


if __name__ == "__main__":
    main()
