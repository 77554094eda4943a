"""Tokenizer throughput: lstmtc's basic_english against torchtext's regex chain.

    python -m benchmarks.tokenizer [--data ../shared/data/ag_news/test.csv] [--repeats 7] [--json out.json]

Texts are the documents of a labelled file (AG News: title + " " + description). torchtext's own
``torchtext/data/utils.py`` is loaded by file path (the package itself no longer imports beside a
current torch); where its files are not installed, the copy of its regex chain in
benchmarks/reference_loop.py stands in. Both tokenizers must give identical tokens for every text.
Each rate is the best of several repeats over all texts (texts per second).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lstmtc.infer.data import read_labelled
from lstmtc.infer.text import basic_english

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ag_news" / "test.csv"
DEFAULT_JSON = REPO / "benchmarks" / "out" / "tokenizer.json"

Tokenizer = Callable[[str], list[str]]


def torchtext_tokenizer() -> Tokenizer | None:
    """torchtext's ``_basic_english_normalize`` loaded from its installed file, or None."""
    spec = importlib.util.find_spec("torchtext")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "data" / "utils.py"
        if path.is_file():
            mod_spec = importlib.util.spec_from_file_location("_torchtext_data_utils", path)
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
            return module._basic_english_normalize
    return None


def reference_tokenizer() -> tuple[str, Tokenizer]:
    tok = torchtext_tokenizer()
    if tok is not None:
        return "torchtext _basic_english_normalize", tok
    from benchmarks.reference_loop import regex_tokenizer

    return "benchmarks.reference_loop.regex_tokenizer (torchtext files absent)", regex_tokenizer


def one_pass(tokenize: Tokenizer, texts: Sequence[str]) -> float:
    """Seconds to tokenize every text once."""
    t0 = time.perf_counter()
    for text in texts:
        tokenize(text)
    return time.perf_counter() - t0


def run(data: str | Path = DEFAULT_DATA, repeats: int = 7, limit: int | None = None) -> dict:
    texts = read_labelled(data).texts
    if limit is not None:
        texts = texts[:limit]
    ref_name, ref = reference_tokenizer()

    mismatches = [t for t in texts if basic_english(t) != ref(t)]
    # Interleave the two so that load from other processes hits both alike; the best pass counts.
    lstmtc_times, ref_times = [], []
    for _ in range(repeats):
        lstmtc_times.append(one_pass(basic_english, texts))
        ref_times.append(one_pass(ref, texts))
    lstmtc_rate = len(texts) / min(lstmtc_times)
    ref_rate = len(texts) / min(ref_times)
    return {
        "benchmark": "tokenizer",
        "data": str(data),
        "texts": len(texts),
        "tokens": sum(len(basic_english(t)) for t in texts),
        "repeats": repeats,
        "reference": ref_name,
        "lstmtc_texts_per_s": lstmtc_rate,
        "torchtext_texts_per_s": ref_rate,
        "speedup": lstmtc_rate / ref_rate,
        "lstmtc_seconds": lstmtc_times,
        "torchtext_seconds": ref_times,
        "identical": not mismatches,
        "mismatches": len(mismatches),
        "first_mismatch": mismatches[0] if mismatches else None,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"basic_english on {result['texts']:,} texts (best of {result['repeats']})")
    table.add_column("tokenizer")
    table.add_column("texts/s", justify="right")
    table.add_column("µs/text", justify="right")
    table.add_column("relative", justify="right")
    for name, rate in (("lstmtc (str.replace chain)", result["lstmtc_texts_per_s"]),
                       (f"reference: {result['reference']}", result["torchtext_texts_per_s"])):
        table.add_row(name, f"{rate:,.0f}", f"{1e6 / rate:.1f}", f"{rate / result['torchtext_texts_per_s']:.2f}x")
    console = Console()
    console.print(table)
    verdict = "identical" if result["identical"] else f"DIFFERENT on {result['mismatches']} texts"
    console.print(f"tokens: {verdict} ({result['tokens']:,} tokens)")


def main(argv: Sequence[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="labelled CSV/TSV whose texts are tokenized")
    ap.add_argument("--repeats", type=int, default=7, help="passes per tokenizer; the fastest counts")
    ap.add_argument("--limit", type=int, help="use only the first N texts")
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="write the result here")
    a = ap.parse_args(argv)
    if a.repeats < 1:
        ap.error("--repeats must be at least 1")
    result = run(a.data, a.repeats, a.limit)
    out = Path(a.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(result)
    if not result["identical"]:
        print(f"error: the tokenizers differ on {result['mismatches']} texts, first: {result['first_mismatch']!r}",
              file=sys.stderr)
        raise SystemExit(1)
    return result


if __name__ == "__main__":
    main()
