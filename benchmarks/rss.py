"""Section 4: peak resident memory (RSS) of lstmtc-classify.

Each run is one ``lstmtc-classify`` process; its peak RSS is the ``ru_maxrss`` that ``wait4``
reports for exactly that process. It is spawned by a small Python wrapper (about 10 MiB), not by
the runner: Linux carries the pre-exec memory high-water mark into ``ru_maxrss``, so a child of
the runner (which holds torch and several models) would report the runner's peak as its own.
The wrapper alone (running ``true``) is the first row: no figure can be below it.

Inputs: one line (interpreter, onnxruntime and the model: what every run pays), the test set as
lines, the test set as a CSV (``--csv``), and a synthetic CSV of >= 1M rows (``--csv
--text-column text``). If memory stays bounded while streaming, the last three stay close to the
one-line figure whatever the input size.

The synthetic CSV is made here from word lists (no AG News text) and cached under
``benchmarks/out/`` (its name carries the row count and seed).
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import sys
from pathlib import Path

from benchmarks.throughput import count_lines, lstmtc_cmd, run_process, show

WRAPPER = """
import json, os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    json.dump({"maxrss_kib": usage.ru_maxrss, "seconds": seconds}, f)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def peak_rss(cmd: list[str], stdin_path=None, stdout_path=None, workdir=None) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of ``cmd`` run from a small wrapper process."""
    import json
    import tempfile

    fd, report = tempfile.mkstemp(suffix=".json", dir=workdir)
    os.close(fd)
    try:
        run_process([sys.executable, "-c", WRAPPER, report, *map(str, cmd)], stdin_path=stdin_path,
                    stdout_path=stdout_path)
        with open(report) as f:
            r = json.load(f)
    finally:
        os.unlink(report)
    return r["maxrss_kib"] / 1024, r["seconds"]

WORDS = {
    "world": "government minister election parliament troops border talks president embassy rebels ceasefire "
             "refugees summit treaty sanctions protest capital province diplomats nuclear vote coalition".split(),
    "sports": "coach season striker playoff tournament champion league injury match goal pitcher quarterback "
              "medal olympic final record team stadium transfer victory defeat draft".split(),
    "business": "shares profit quarterly earnings investors merger stocks bankruptcy pension market revenue "
                "analysts acquisition dividend inflation bonds retail oil prices forecast layoffs".split(),
    "tech": "software internet browser chip processor satellite genome researchers laptop wireless network "
            "startup patent server database security virus robot telescope smartphone update".split(),
}
FILLER = ("the a of in on to and for with said after new over as by from at its their this that will "
          "has have was were is are be more than first two three year week monday tuesday friday").split()
NAMES = "Acme Borealis Cygnus Delmar Everly Fenwick Galloway Harrow Ingram Juniper Kestrel Lumen".split()


def _text(rng: random.Random, words: list[str]) -> str:
    n = rng.randint(12, 60)
    toks = rng.choices(words, k=n)
    for _ in range(rng.randint(0, 3)):  # proper names, numbers, punctuation and the odd unseen word
        toks[rng.randrange(n)] = rng.choice(NAMES)
    toks[rng.randrange(n)] += rng.choice([",", ".", "'s", ":", ";", " (AP)", " -"])
    if rng.random() < 0.3:
        toks[rng.randrange(n)] = f"{rng.randint(1, 999)}.{rng.randint(0, 9)}%"
    if rng.random() < 0.1:
        toks[rng.randrange(n)] = "zq" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=6))
    return " ".join(toks).capitalize() + "."


def synthetic_csv(rows: int, cache_dir, seed: int = 0) -> Path:
    """A CSV ``id,topic,text`` of ``rows`` synthetic documents, made once and cached."""
    path = Path(cache_dir) / f"synthetic_{rows}_s{seed}.csv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    topics = list(WORDS)
    pools = {t: WORDS[t] * 2 + FILLER * 3 for t in topics}
    from lstmtc.infer.files import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "topic", "text"])
        for i in range(rows):
            topic = topics[i % 4] if rng.random() < 0.8 else rng.choice(topics)
            w.writerow([i, topic, _text(rng, pools[topic])])
    return path


def measure(bundle, text_file, one_line_file, test_csv, synthetic, threads: int | None, batch_size: int | None,
            workdir) -> dict:
    workdir = Path(workdir)
    out = workdir / "rss.out"
    cases = [
        ("one line", one_line_file, ()),
        ("test set, lines", text_file, ()),
        ("test set, --csv", None, ("--csv", str(test_csv), "--no-header", "--title-column", "2",
                                   "--text-column", "3", "-o", str(out))),
        ("synthetic CSV, --csv", None, ("--csv", str(synthetic), "--text-column", "text", "-o", str(out))),
    ]
    result = {"threads": threads, "batch_size": batch_size, "cases": []}
    true = shutil.which("true") or "/bin/true"
    floor, _ = peak_rss([true], workdir=workdir)
    result["cases"].append({"input": "(the wrapper alone: the floor)", "rows": 0, "peak_rss_mib": floor,
                            "seconds": None, "rows_per_s": None, "command": "true"})
    for name, stdin, extra in cases:
        cmd = lstmtc_cmd(bundle, threads, batch_size, extra=extra)
        mib, seconds = peak_rss(cmd, stdin_path=stdin, stdout_path=out if stdin else os.devnull, workdir=workdir)
        if stdin:
            rows = count_lines(stdin)
        else:
            rows = count_lines(out) - (0 if "--no-header" in extra else 1)  # data rows scored
        result["cases"].append({"input": name, "rows": rows, "peak_rss_mib": mib, "seconds": seconds,
                                "rows_per_s": rows / seconds,
                                "command": show(cmd) + (f" < {Path(stdin).name}" if stdin else "")})
    one_line = result["cases"][1]["peak_rss_mib"]
    result["max_growth_over_one_line_mib"] = max(c["peak_rss_mib"] for c in result["cases"]) - one_line
    return result


def table(results: dict) -> tuple[str, list[str], list[list]]:
    rows = []
    for preset, r in results.items():
        if "skipped" in r or "error" in r:
            rows.append([preset, r.get("skipped") or f"error: {r['error'][:80]}", "", "", "", ""])
            continue
        for c in r["cases"]:
            rows.append([preset, c["input"], c["rows"], c["peak_rss_mib"], c["seconds"] or "-",
                         c["rows_per_s"] or "-"])
    return "4. peak RSS of lstmtc-classify (one process per input)", \
        ["preset", "input", "rows", "peak RSS MiB", "wall s", "rows/s"], rows
