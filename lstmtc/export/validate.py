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
        for col in ("batch", "seq", "output", "torch shape", "onnx shape", "max |diff|", "argmax diff", "ok"):
            t.add_column(col, justify="right" if col not in ("output", "ok") else "left")
        for c in self.checks:
            t.add_row(str(c.batch), str(c.seq), c.output, str(c.torch_shape), str(c.onnx_shape),
                      f"{c.max_abs_diff:.2e}", str(c.argmax_mismatches), "yes" if c.ok else "[red]NO[/red]")
        return t


def _batches(texts: list[str], size: int) -> list[str]:
    reps = -(-size // len(texts))
    return (texts * reps)[:size]


def validate_export(model: torch.nn.Module, session, pipeline: TextPipeline, texts: list[str] | None = None,
                    batch_sizes=BATCH_SIZES, atol: float = ATOL, raise_on_failure: bool = True) -> ValidationReport:
    """Run the same inputs through ``model`` and the onnxruntime ``session`` at each batch size
    and at two sequence lengths (the pipeline's and a shorter one); compare names, shapes,
    max absolute logit difference and argmax."""
    texts = [t for t in (texts or SAMPLE_TEXTS)] or SAMPLE_TEXTS
    report = ValidationReport()
    in_names = [i.name for i in session.get_inputs()]
    out_names = [o.name for o in session.get_outputs()]
    if in_names != ["input_ids"]:
        report.failures.append(f"inputs are {in_names}, expected ['input_ids']")
    if out_names != ["logits"]:
        report.failures.append(f"outputs are {out_names}, expected ['logits']")
    seqs = sorted({pipeline.max_tokens, max(1, pipeline.max_tokens // 2)}, reverse=True)
    model = model.eval()
    for seq in seqs:
        for bs in batch_sizes:
            ids = pipeline(_batches(texts, bs))[:, -seq:] if pipeline.padding_side == "pre" else \
                pipeline(_batches(texts, bs))[:, :seq]
            ids = np.ascontiguousarray(ids)
            with torch.no_grad():
                expected = model(torch.from_numpy(ids)).numpy()
            try:
                got = session.run(None, {in_names[0]: ids})[0]
            except Exception as e:  # onnxruntime raises its own exception types
                report.failures.append(f"batch {bs}, seq {seq}: onnxruntime failed: {e}")
                continue
            same_shape = expected.shape == got.shape
            diff = float(np.abs(expected - got).max()) if same_shape else float("inf")
            mism = int((expected.argmax(1) != got.argmax(1)).sum()) if same_shape else bs
            check = Check(bs, seq, out_names[0] if out_names else "?", expected.shape, got.shape, diff, mism)
            report.checks.append(check)
            if not same_shape:
                report.failures.append(f"batch {bs}, seq {seq}: shape {got.shape} != PyTorch {expected.shape}")
            elif diff > atol:
                report.failures.append(f"batch {bs}, seq {seq}: max |logit diff| {diff:.2e} > {atol:.0e}")
            if same_shape and mism:
                report.failures.append(f"batch {bs}, seq {seq}: {mism} argmax differences")
    if report.failures and raise_on_failure:
        raise ExportValidationError(report.failures)
    return report
