"""Section 2: where the time goes inside lstmtc-classify, as shares of the total.

The CLI's line-mode loop (``lstmtc.infer.cli.classify_lines``) re-run in process with the very
functions it calls, each timed on its own:

- read: ``stream.batched_lines`` over the file descriptor (read, split lines, decode UTF-8);
- tokenize: ``TextPipeline.tokenize`` (``text.basic_english``);
- vectorize: ``vectorize.vectorize`` (vocabulary lookup, truncate, pad into an int64 array);
- session.run: ``Classifier.logits_ids`` (onnxruntime);
- postprocess: ``classifier.softmax`` and ``LineFormatter.lines`` (probabilities -> label text);
- write: opening the output, the per-batch writes and flushes, closing it. By default the output
  is a plain file, as with ``lstmtc-classify < FILE > OUT`` (section 1's command); with
  ``output="-o"`` it goes through ``csvscore.output_stream`` as ``-o OUT`` does (a temporary file,
  fsync, rename: a fixed cost per run of a few milliseconds, more on a busy disk).

Model load and interpreter start-up are not in the total (section 3 measures them). The output
file is hashed, so a test can check it is byte-identical to the CLI's.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from pathlib import Path

STAGES = ("read", "tokenize", "vectorize", "session.run", "postprocess", "write")
LIMIT = 0.30  # any stage but session.run above this share of the total is to be made faster


def one_pass(clf, text_file, out_path, batch_size: int, output: str = "stdout") -> dict:
    from lstmtc.infer.classifier import softmax
    from lstmtc.infer.csvscore import output_stream
    from lstmtc.infer.output import LineFormatter
    from lstmtc.infer.stream import Decoder, batched_lines
    from lstmtc.infer.vectorize import vectorize

    clock = time.perf_counter
    t = dict.fromkeys(STAGES, 0.0)
    pipe = clf.pipeline
    vocab, max_tokens, side = pipe.vocab, pipe.max_tokens, pipe.padding_side
    fmt = LineFormatter(clf.labels)
    docs = 0
    start = clock()
    fd = os.open(text_file, os.O_RDONLY)
    try:
        batches = batched_lines(fd, batch_size, Decoder(str(text_file)), None, wait_for_more=False)
        a = clock()
        cm = output_stream(str(out_path)) if output == "-o" else open(out_path, "w", encoding="utf-8")
        out = cm.__enter__()
        t["write"] += clock() - a
        try:
            while True:
                a = clock()
                batch = next(batches, None)
                t["read"] += clock() - a
                if batch is None:
                    break
                docs += len(batch)
                a = clock()
                live = [i for i, s in enumerate(batch) if s.strip()]
                lines = [fmt.empty()] * len(batch)
                if live:
                    tokens = pipe.tokenize([batch[i] for i in live])
                    b = clock()
                    ids = vectorize(tokens, vocab, max_tokens, side)
                    c = clock()
                    logits = clf.logits_ids(ids)
                    d = clock()
                    for i, line in zip(live, fmt.lines(softmax(logits))):
                        lines[i] = line
                    e = clock()
                    t["tokenize"] += b - a
                    t["vectorize"] += c - b
                    t["session.run"] += d - c
                    t["postprocess"] += e - d
                else:
                    e = a
                out.write("\n".join(lines) + "\n")
                out.flush()
                t["write"] += clock() - e
        except BaseException as exc:
            cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        a = clock()
        cm.__exit__(None, None, None)
        t["write"] += clock() - a
    finally:
        os.close(fd)
    return {"docs": docs, "stage_s": t, "loop_wall_s": clock() - start}


def measure(bundle, text_file, threads: int | None, batch_size: int, repeats: int, workdir,
            precision: str | None = None, output: str = "stdout") -> dict:
    from lstmtc.infer.classifier import Classifier

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
            "precision": precision or clf.bundle.manifest.get("default_precision", "fp32"),
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
