"""Section 1: end-to-end throughput of ``lstmtc-classify`` against the PyTorch-eager baseline.

Both are real processes that read the same file (one document per line), tokenize, vectorize,
infer and write one label per line to a file, with the same thread count (onnxruntime intra-op
threads / ``torch.set_num_threads``) and batch size. Runs alternate (lstmtc first on even
repeats, torch first on odd ones) and the medians are compared. Two rates are reported:

- ``docs_per_s``: documents / process wall time (start to exit, start-up included);
- ``docs_per_s_steady``: (documents - 1) / (wall time on the file - wall time on its first line
  alone), i.e. start-up (interpreter, imports, model load) taken out. The target (>= 3x) is judged
  on this one, the stricter of the two: torch's import time would otherwise inflate the ratio.
  The input is the test set ``copies`` times over (5 in a full run), so that the difference is
  seconds long and start-up noise (torch's import varies by tenths of a second) weighs little.

Beside them, ``in_process``: both predictors in the runner's own process, alternating, without
start-up, reading or writing (lstmtc's ``Classifier.predict_proba`` loop vs the baseline's
DataLoader + forward): the ceiling of the steady ratio, and the least noisy figure.

The two outputs must be identical line for line (the same predicted labels).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE = Path(__file__).resolve().with_name("torch_baseline.py")
TARGET_RATIO = 3.0
MIN_STEADY_S = 1.0


def classify_exe() -> list[str]:
    """The ``lstmtc-classify`` console script of this interpreter's environment."""
    exe = Path(sys.executable).with_name("lstmtc-classify")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("lstmtc-classify")
    if found:
        return [found]
    return [sys.executable, "-c", "from lstmtc.infer.apps.classify_cli import run; run()"]


def lstmtc_cmd(bundle, threads: int | None = None, batch_size: int | None = None, precision: str | None = None,
               extra: tuple[str, ...] = ()) -> list[str]:
    cmd = classify_exe() + ["--model", str(bundle), "-q"]
    if threads:
        cmd += ["--threads", str(threads)]
    if batch_size:
        cmd += ["--batch-size", str(batch_size)]
    if precision:
        cmd += ["--precision", precision]
    return cmd + list(extra)


def baseline_cmd(ckpt, threads: int | None = None, batch_size: int | None = None) -> list[str]:
    cmd = [sys.executable, str(BASELINE), "--ckpt", str(ckpt)]
    if threads:
        cmd += ["--threads", str(threads)]
    if batch_size:
        cmd += ["--batch-size", str(batch_size)]
    return cmd


def run_process(cmd: list[str], stdin_path=None, input_bytes: bytes | None = None, stdout_path=None
                ) -> tuple[float, bytes]:
    """Run ``cmd`` to completion: (wall seconds from spawn to exit, stdout bytes unless sent to
    ``stdout_path``). A non-zero exit raises with the end of stderr. (Peak RSS is measured in
    rss.py through a small intermediate process: a child spawned from this large one would
    report this one's peak as its own.)"""
    with tempfile.TemporaryFile() as err, contextlib.ExitStack() as stack:
        if stdin_path is not None:
            stdin = stack.enter_context(open(stdin_path, "rb"))
        else:
            stdin = subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL
        stdout = stack.enter_context(open(stdout_path, "wb")) if stdout_path is not None else subprocess.PIPE
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=err)
        if input_bytes is not None:
            p.stdin.write(input_bytes)
            p.stdin.close()
        out = p.stdout.read() if p.stdout else b""
        p.wait()
        seconds = time.perf_counter() - t0
        if p.stdout:
            p.stdout.close()
        if p.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{show(cmd)} exited with {p.returncode}: {tail}")
    return seconds, out


def alternate(cmds: dict[str, list[str]], text_file, repeats: int, outs: dict, log=print) -> dict[str, dict]:
    """Run every command on ``text_file`` (stdin) ``repeats`` times, the order reversed on odd
    repeats, stdout to ``outs[name]``; per command: wall times, their median and docs/s."""
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    for r in range(repeats):
        for name in (list(cmds) if r % 2 == 0 else list(reversed(cmds))):
            walls[name].append(run_process(cmds[name], stdin_path=text_file, stdout_path=outs[name])[0])
            log(f"  repeat {r + 1}/{repeats}: {name} {walls[name][-1]:.2f} s")
    n = count_lines(text_file)
    return {k: {"command": show(cmds[k]) + " < FILE", "wall_s": v, "median_wall_s": statistics.median(v),
                "docs_per_s": n / statistics.median(v)} for k, v in walls.items()}


def show(cmd: list[str]) -> str:
    """A command as a reader would type it: the console script by name, paths relative to the repo."""
    words = []
    for i, w in enumerate(map(str, cmd)):
        if i == 0 and w == sys.executable:
            w = "python"
        elif i == 0:
            w = Path(w).name
        elif w.startswith(str(REPO) + os.sep):
            w = os.path.relpath(w, REPO)
        words.append(w)
    return " ".join(words)


def count_lines(path) -> int:
    with open(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))


def compare_outputs(a, b) -> tuple[bool, int]:
    """(byte-identical, number of differing lines)."""
    x, y = Path(a).read_bytes(), Path(b).read_bytes()
    if x == y:
        return True, 0
    xl, yl = x.split(b"\n"), y.split(b"\n")
    return False, sum(1 for p, q in zip(xl, yl) if p != q) + abs(len(xl) - len(yl))


def repeat_file(src, dst, copies: int) -> Path:
    data = Path(src).read_bytes()
    with open(dst, "wb") as f:
        for _ in range(copies):
            f.write(data)
    return Path(dst)


def in_process(bundle, ckpt, text_file, threads: int, batch_size: int, repeats: int) -> dict:
    """The same two predictors in this process, alternating, without process start-up, reading or
    writing: lstmtc's ``Classifier.predict_proba`` vs the baseline's DataLoader + torch forward."""
    import torch

    from benchmarks.torch_baseline import TorchClassifier, read_lines
    from lstmtc.infer.classifier import Classifier

    with open(text_file, "rb") as f:
        texts = read_lines(f)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        tc = TorchClassifier(ckpt, batch_size)
        clf = Classifier.load(bundle, None, threads)

        def ours():
            for i in range(0, len(texts), batch_size):
                clf.predict_proba(texts[i:i + batch_size])

        def theirs():
            tc.predict(texts)

        runs = {"lstmtc": ours, "torch": theirs}
        secs = {k: [] for k in runs}
        for r in range(max(repeats, 1)):
            for name in (list(runs) if r % 2 == 0 else list(reversed(runs))):
                t0 = time.perf_counter()
                runs[name]()
                secs[name].append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)
    rate = {k: len(texts) / statistics.median(v) for k, v in secs.items()}
    return {"n_docs": len(texts), "seconds": secs, "lstmtc_docs_per_s": rate["lstmtc"],
            "torch_docs_per_s": rate["torch"], "ratio": rate["lstmtc"] / rate["torch"]}


def measure(bundle, ckpt, text_file, one_line_file, threads: int, batch_size: int, repeats: int, workdir,
            copies: int = 1, with_in_process: bool = True) -> dict:
    """``text_file`` is fed ``copies`` times over (one file), so process start-up weighs less."""
    workdir = Path(workdir)
    single = text_file
    if copies > 1:
        text_file = repeat_file(text_file, workdir / f"throughput.x{copies}.txt", copies)
    n = count_lines(text_file)
    cmds = {"lstmtc": lstmtc_cmd(bundle, threads, batch_size), "torch": baseline_cmd(ckpt, threads, batch_size)}
    full = {k: [] for k in cmds}
    one = {k: [] for k in cmds}
    outs = {k: workdir / f"throughput.{k}.out" for k in cmds}
    for r in range(max(repeats, 1)):
        order = list(cmds) if r % 2 == 0 else list(reversed(cmds))
        for name in order:
            full[name].append(run_process(cmds[name], stdin_path=text_file, stdout_path=outs[name])[0])
        for name in order:
            one[name].append(run_process(cmds[name], stdin_path=one_line_file, stdout_path=os.devnull)[0])
    identical, mismatches = compare_outputs(outs["lstmtc"], outs["torch"])
    result = {"n_docs": n, "copies": copies, "threads": threads, "batch_size": batch_size, "repeats": max(repeats, 1),
              "labels_identical": identical, "label_mismatches": mismatches,
              "commands": {k: show(v) + " < FILE > OUT" for k, v in cmds.items()}}
    for name in cmds:
        wall, start = statistics.median(full[name]), statistics.median(one[name])
        result[name] = {"wall_s": full[name], "one_line_s": one[name], "median_wall_s": wall,
                        "median_one_line_s": start, "docs_per_s": n / wall}
    # The steady rates rest on a difference of two timings; under a second of work it is mostly the
    # noise of start-up (torch's import alone varies by tenths of a second), so it is not reported.
    result["steady_work_s"] = min(result[k]["median_wall_s"] - result[k]["median_one_line_s"] for k in cmds)
    result["steady_reliable"] = result["steady_work_s"] >= MIN_STEADY_S
    for name in cmds:
        r = result[name]
        r["docs_per_s_steady"] = ((n - 1) / (r["median_wall_s"] - r["median_one_line_s"])
                                  if result["steady_reliable"] else None)
    result["ratio"] = result["lstmtc"]["docs_per_s"] / result["torch"]["docs_per_s"]
    result["ratio_steady"] = (result["lstmtc"]["docs_per_s_steady"] / result["torch"]["docs_per_s_steady"]
                              if result["steady_reliable"] else None)
    result["target_ratio"] = TARGET_RATIO
    result["target_met"] = result["ratio_steady"] >= TARGET_RATIO if result["steady_reliable"] else None
    if with_in_process:
        result["in_process"] = in_process(bundle, ckpt, single, threads, batch_size, repeats)
    return result


COLUMNS = ["preset", "docs", "threads", "batch", "lstmtc docs/s", "torch docs/s", "ratio",
           "lstmtc steady docs/s", "torch steady docs/s", "steady ratio (target >= 3)",
           "in-process ratio (no I/O)", "labels identical"]


def table(results: dict) -> tuple[str, list[str], list[list]]:
    rows = []
    for preset, r in results.items():
        if "skipped" in r or "error" in r:
            rows.append([preset, r.get("skipped") or f"error: {r['error'][:80]}"] + [""] * (len(COLUMNS) - 2))
            continue
        steady = r["steady_reliable"]
        rows.append([preset, r["n_docs"], r["threads"], r["batch_size"], r["lstmtc"]["docs_per_s"],
                     r["torch"]["docs_per_s"], r["ratio"], r["lstmtc"]["docs_per_s_steady"] if steady else "-",
                     r["torch"]["docs_per_s_steady"] if steady else "-",
                     f"{r['ratio_steady']:.2f}" if steady else f"n/a (< {MIN_STEADY_S:g} s of work; more --copies)",
                     r["in_process"]["ratio"] if "in_process" in r else "-",
                     "yes" if r["labels_identical"] else f"NO ({r['label_mismatches']} lines differ)"])
    return ("1. end-to-end throughput: lstmtc-classify vs PyTorch eager (reference data path); docs/s = docs / "
            "process wall time, steady = start-up (one-line run) taken out", COLUMNS, rows)
