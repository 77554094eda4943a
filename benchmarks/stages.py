"""Section 2: where the time goes inside lstmtc-classify, as shares of the total.

The CLI's own line-mode path (``lstmtc.infer.apps.classify.classify_lines`` with the one
``Scorer`` and ``LineFormatter``) is run in process, its steps wrapped with timers (hooks: the
scorer's steps and the formatter's ``lines`` are attributes, ``classify_lines`` takes its reader
and writes to any stream), so what is timed is the code that runs, not a copy of it:

- read: ``reader.line_batches`` over the file descriptor (read, split lines, decode UTF-8);
- tokenize: ``Scorer.tokenize`` (``TextPipeline.model_ids``: the tokenizer, and each text's tokens
  looked up in the vocabulary while they are fresh in the cache);
- vectorize: ``Scorer.vectorize`` (``TextPipeline.pad``: the batch's ids padded into an int64 array);
- session.run: ``Scorer.run`` (onnxruntime);
- postprocess: ``Scorer.softmax`` and ``LineFormatter.lines`` (probabilities -> label text);
- write: opening the output, the per-batch writes and flushes, closing it. By default the output
  is a plain file, as with ``lstmtc-classify < FILE > OUT`` (section 1's command); with
  ``output="-o"`` it goes through ``writers.output_stream`` as ``-o OUT`` does (a temporary file,
  fsync, rename: a fixed cost per run of a few milliseconds, more on a busy disk).

What no stage claims (finding the blank lines, joining a batch's lines) is the loop's overhead,
left out of the shares. Model load and interpreter start-up are not in the total (section 3
measures them). The output file is hashed, so a test can check it is byte-identical to the CLI's.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path

STAGES = ("read", "tokenize", "vectorize", "session.run", "postprocess", "write")
LIMIT = 0.30  # any stage but session.run above this share of the total is to be made faster


class _TimedWriter:
    """A text stream whose writes and flushes are added to a stage."""

    def __init__(self, f, add):
        self.f, self.add = f, add

    def write(self, text: str) -> int:
        start = time.perf_counter()
        try:
            return self.f.write(text)
        finally:
            self.add(time.perf_counter() - start)

    def flush(self) -> None:
        start = time.perf_counter()
        try:
            self.f.flush()
        finally:
            self.add(time.perf_counter() - start)


def one_pass(clf, text_file, out_path, batch_size: int, output: str = "stdout") -> dict:
    from lstmtc.infer.apps.classify import classify_lines
    from lstmtc.infer.data.reader import line_batches
    from lstmtc.infer.data.writers import LineFormatter, output_stream
    from lstmtc.infer.scoring.scorer import Scorer

    clock = time.perf_counter
    t = dict.fromkeys(STAGES, 0.0)
    docs = 0

    def add(stage: str):
        def add_seconds(seconds: float) -> None:
            t[stage] += seconds

        return add_seconds

    def timed(stage: str, fn):
        def run(*args, **kwargs):
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                t[stage] += clock() - start

        return run

    def read(*args, **kwargs):
        nonlocal docs
        batches = line_batches(*args, **kwargs)
        while True:
            start = clock()
            batch = next(batches, None)
            t["read"] += clock() - start
            if batch is None:
                return
            docs += len(batch)
            yield batch

    scorer = Scorer(clf, batch_size)
    for step, stage in (("tokenize", "tokenize"), ("vectorize", "vectorize"), ("run", "session.run"),
                        ("softmax", "postprocess")):
        setattr(scorer, step, timed(stage, getattr(scorer, step)))
    fmt = LineFormatter(clf.labels)
    fmt.lines = timed("postprocess", fmt.lines)
    start = clock()
    a = clock()
    cm = output_stream(str(out_path)) if output == "-o" else open(out_path, "w", encoding="utf-8")
    out = cm.__enter__()
    t["write"] += clock() - a
    try:
        classify_lines(scorer, [str(text_file)], fmt, _TimedWriter(out, add("write")), read=read)
    except BaseException as exc:
        cm.__exit__(type(exc), exc, exc.__traceback__)
        raise
    a = clock()
    cm.__exit__(None, None, None)
    t["write"] += clock() - a
    return {"docs": docs, "stage_s": t, "loop_wall_s": clock() - start}


def measure(bundle, text_file, threads: int | None, batch_size: int, repeats: int, workdir,
            precision: str | None = None, output: str = "stdout") -> dict:
    from lstmtc.infer.classifier import Classifier

    if threads != 1:
        # On more threads the classifier scores chunks at once and the stages' clocks overlap.
        raise ValueError(f"stage timing runs on one thread (got threads={threads}): run it with --threads 1")
    clf = Classifier.load(bundle, precision, threads)
    out_path = Path(workdir) / "stages.out"
    one_pass(clf, text_file, out_path, batch_size, output)  # warm-up: page cache, onnxruntime's first allocations
    passes = [one_pass(clf, text_file, out_path, batch_size, output) for _ in range(max(repeats, 1))]
    median = {s: statistics.median(p["stage_s"][s] for p in passes) for s in STAGES}
    total = sum(median.values())
    shares = {s: median[s] / total if total else 0.0 for s in STAGES}
    over = [s for s in STAGES if s != "session.run" and shares[s] > LIMIT]
    docs = passes[0]["docs"]
    return {"n_docs": docs, "threads": threads, "batch_size": batch_size, "repeats": len(passes), "output": output,
            "precision": precision or clf.bundle.default_precision,
            "median_stage_s": median, "total_s": total, "shares": shares,
            "docs_per_s": docs / total if total else None,
            "loop_wall_s": [p["loop_wall_s"] for p in passes],
            "dominant": max(shares, key=shares.get), "over_limit": over, "limit": LIMIT, "target_met": not over,
            "output_sha256": hashlib.sha256(out_path.read_bytes()).hexdigest()}


def table(results: dict) -> tuple[str, list[str], list[list]]:
    rows = []
    for preset, r in results.items():
        if "skipped" in r or "error" in r:
            rows.append([preset, r.get("skipped") or f"error: {r['error'][:80]}"] + [""] * (len(STAGES) + 2))
            continue
        rows.append([preset, r["n_docs"]] + [f"{r['shares'][s] * 100:.1f}%" for s in STAGES]
                    + [r["total_s"], r["docs_per_s"]])
    return ("2. where lstmtc-classify's time goes (share of the in-process total; "
            f"target: no stage but session.run over {LIMIT:.0%})",
            ["preset", "docs", *STAGES, "total s", "docs/s"], rows)
