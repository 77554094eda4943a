"""Validation of an export: the same real texts through PyTorch and onnxruntime.

Every check is collected before anything is raised, so one run shows everything that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from lstmtc.infer.errors import LstmtcError
from lstmtc.infer.vectorize import TextPipeline

ATOL = 1e-4
BATCH_SIZES = (1, 7, 1024)

SAMPLE_TEXTS = [
    "Stocks slid on Wall Street as oil prices jumped to a record high",
    "The home team won the championship after a dramatic overtime goal",
    "Rebels and government forces agreed to a ceasefire after talks in the capital",
    "A new chip promises faster laptops and longer battery life, the company said",
    "Central bank raises interest rates for the third time this year",
    "Astronomers discover a planet orbiting a nearby star",
    "Striker signs a four-year contract with the league leaders",
    "Elections postponed amid protests over the disputed vote count",
    "Software maker reports quarterly profit above analysts' expectations",
    "",
    "Scientists sequence the genome of a common crop to improve yields",
]


class ExportValidationError(LstmtcError):
    def __init__(self, failures: list[str]):
        super().__init__("export validation failed: " + "; ".join(failures))
        self.failures = failures


@dataclass
class Check:
    batch: int
    seq: int
    output: str
    torch_shape: tuple
    onnx_shape: tuple
    max_abs_diff: float
    argmax_mismatches: int
    # what was compared: onnxruntime against PyTorch on the same batch, or (length-aware models)
    # a batch -- in PyTorch or onnxruntime, padded to ``seq`` -- against each document scored alone
    compared: str = "ort|torch"

    @property
    def ok(self) -> bool:
        return (self.torch_shape == self.onnx_shape and self.max_abs_diff <= ATOL
                and self.argmax_mismatches == 0)


@dataclass
class ValidationReport:
    checks: list[Check] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def max_abs_diff(self) -> float:
        return max((c.max_abs_diff for c in self.checks), default=0.0)

    def table(self):
        from rich.table import Table

        t = Table(title="export validation: PyTorch vs onnxruntime")
        for col in ("compared", "batch", "seq", "output", "expected shape", "got shape", "max |diff|", "argmax diff",
                    "ok"):
            t.add_column(col, justify="left" if col in ("compared", "output", "ok") else "right")
        for c in self.checks:
            t.add_row(c.compared, str(c.batch), str(c.seq), c.output, str(c.torch_shape), str(c.onnx_shape),
                      f"{c.max_abs_diff:.2e}", str(c.argmax_mismatches), "yes" if c.ok else "[red]NO[/red]")
        return t

    def compare(self, expected: np.ndarray, got: np.ndarray, batch: int, seq: int, output: str, compared: str,
                atol: float) -> None:
        same_shape = expected.shape == got.shape
        diff, mism = (0.0, 0) if same_shape else (float("inf"), batch)
        if same_shape and expected.size:
            diff = float(np.abs(expected - got).max())
            mism = int((expected.argmax(1) != got.argmax(1)).sum())
        self.checks.append(Check(batch, seq, output, expected.shape, got.shape, diff, mism, compared))
        where = f"{compared}, batch {batch}, seq {seq}"
        if not same_shape:
            self.failures.append(f"{where}: shape {got.shape} != expected {expected.shape}")
            return
        if diff > atol:
            self.failures.append(f"{where}: max |logit diff| {diff:.2e} > {atol:.0e}")
        if mism:
            self.failures.append(f"{where}: {mism} argmax differences")


def _batches(texts: list[str], size: int) -> list[str]:
    reps = -(-size // len(texts))
    return (texts * reps)[:size]


def _run(session, feed: dict, report: ValidationReport, where: str):
    try:
        return session.run(None, feed)[0]
    except Exception as e:  # onnxruntime raises its own exception types
        report.failures.append(f"{where}: onnxruntime failed: {e}")
        return None


def validate_export(model: torch.nn.Module, session, pipeline: TextPipeline, texts: list[str] | None = None,
                    batch_sizes=BATCH_SIZES, atol: float = ATOL, raise_on_failure: bool = True) -> ValidationReport:
    """Run the same inputs through ``model`` and the onnxruntime ``session`` at each batch size and
    compare names, shapes, max absolute logit difference and argmax.

    A fixed-width model is compared at two sequence lengths (the pipeline's and a shorter one). A
    length-aware model is held to more: each batch, in PyTorch and in onnxruntime, padded to its
    longest document and to twice ``max_tokens``, must give every document the logits it gets
    scored alone -- whatever its padding, batch size and neighbours."""
    texts = [t for t in (texts or SAMPLE_TEXTS)] or SAMPLE_TEXTS
    report = ValidationReport()
    in_names = [i.name for i in session.get_inputs()]
    out_names = [o.name for o in session.get_outputs()]
    want_in = ["input_ids", "lengths"] if pipeline.length_aware else ["input_ids"]
    if in_names != want_in:
        report.failures.append(f"inputs are {in_names}, expected {want_in}")
    if out_names != ["logits"]:
        report.failures.append(f"outputs are {out_names}, expected ['logits']")
    output = out_names[0] if out_names else "?"
    model = model.eval()
    if pipeline.length_aware and in_names == want_in:
        _validate_lengths(model, session, pipeline, texts, batch_sizes, atol, report, output)
    elif not pipeline.length_aware and in_names:
        _validate_fixed(model, session, pipeline, texts, batch_sizes, atol, report, output, in_names[0])
    if report.failures and raise_on_failure:
        raise ExportValidationError(report.failures)
    return report


def _validate_fixed(model, session, pipeline, texts, batch_sizes, atol, report, output, name) -> None:
    seqs = sorted({pipeline.max_tokens, max(1, pipeline.max_tokens // 2)}, reverse=True)
    for seq in seqs:
        for bs in batch_sizes:
            ids = pipeline(_batches(texts, bs))[:, -seq:] if pipeline.padding_side == "pre" else \
                pipeline(_batches(texts, bs))[:, :seq]
            ids = np.ascontiguousarray(ids)
            with torch.no_grad():
                expected = model(torch.from_numpy(ids)).numpy()
            got = _run(session, {name: ids}, report, f"batch {bs}, seq {seq}")
            if got is not None:
                report.compare(expected, got, bs, seq, output, "ort|torch", atol)


def _validate_lengths(model, session, pipeline, texts, batch_sizes, atol, report, output) -> None:
    pad = pipeline.vocab.pad_index
    unique = list(dict.fromkeys(texts))
    alone = {}
    with torch.inference_mode():
        for t in unique:
            tokens = pipeline.model_tokens([t])
            alone[t] = model(torch.from_numpy(pipeline.ids(tokens)), torch.from_numpy(pipeline.lengths(tokens)))[0]
    for bs in batch_sizes:
        batch = _batches(texts, bs)
        # Neighbours differ between batch sizes: each batch starts the texts at another offset.
        batch = batch[bs % len(batch):] + batch[:bs % len(batch)]
        expected = torch.stack([alone[t] for t in batch]).numpy()
        tokens = pipeline.model_tokens(batch)
        ids, lengths = pipeline.ids(tokens), pipeline.lengths(tokens)
        with torch.inference_mode():
            got = model(torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()
        report.compare(expected, got, bs, ids.shape[1], output, "torch batch|alone", atol)
        for width in sorted({ids.shape[1], 2 * pipeline.max_tokens}):
            wide = np.pad(ids, ((0, 0), (0, width - ids.shape[1])), constant_values=pad)
            got = _run(session, {"input_ids": wide, "lengths": lengths}, report, f"batch {bs}, seq {width}")
            if got is not None:
                report.compare(expected, got, bs, width, output, "ort batch|alone", atol)
