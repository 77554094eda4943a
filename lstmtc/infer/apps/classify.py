"""lstmtc-classify's work, torch-free: line input and CSV/TSV tables read by the one reader, scored
by the one scorer, written by the writers. ``lstmtc.infer.apps.classify_cli`` only parses options.

Both modes stream: memory stays bounded whatever the input size, and a batch is written as soon
as it is scored. A table's header is written with its first scored batch, so an error in the
first batch leaves no output at all; with ``-o`` the output is a temporary file renamed over the
target only when every row is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from ..data.columns import open_table, resolve_columns
from ..data.formats import MISSING, cell, check_object, refuse_as_lines
from ..data.reader import REPLACE_HINT, Decoder, json_items, line_batches, line_source, source_name
from ..data.windows import windows
from ..data.writers import PROB_DIGITS, LineFormatter, TableWriter, check_columns, placed, prediction_columns
from ..errors import DataError
from ..scoring.metrics import report
from ..scoring.report import default_note, describe_columns, evaluate_file, print_report
from ..scoring.scorer import WINDOW_CHARS, Scorer

# A progress display: called with the path as given ('-' = stdin) and its size in bytes (None when
# unknown), it gives a context that yields a callback taking the bytes read, or None.
Progress = Callable[[str, "int | None"], AbstractContextManager]


def _no_progress(path: str, total: int | None) -> AbstractContextManager:
    return nullcontext(None)


def classify_lines(scorer: Scorer, sources: Sequence[str], formatter: LineFormatter, out, *,
                   strict: bool = False, warn: Callable[[str], None] | None = None,
                   progress: Progress = _no_progress, read=line_batches, encoding: str | None = None) -> None:
    """One output line per input line of each source ('-' = stdin), in order; a blank line gets an
    empty answer. Live input (stdin, a pipe) is answered as it arrives; every window of
    ``scorer.window`` lines (fewer once they hold ``WINDOW_CHARS`` characters, or what arrived before
    a pause) is flushed."""
    for src in sources:
        refuse_as_lines(src)
    for src in sources:
        with line_source(src) as (source, name, size, live), progress(src, size) as on_bytes:
            decode = Decoder(name, strict, warn, REPLACE_HINT, encoding=encoding)
            for batch in read(source, scorer.window, decode, on_bytes, wait_for_more=live, max_chars=WINDOW_CHARS):
                scored = scorer.score(batch)
                out.write("\n".join(formatter.batch(scored.n, scored.live, scored.probs)) + "\n")
                out.flush()


def _chars(obj) -> int:
    """About the characters a JSON object holds: its top-level strings (where its texts are)."""
    return sum(len(v) for v in obj.values() if isinstance(v, str)) if isinstance(obj, dict) else 0


def _size(path: str) -> int | None:
    if path == "-" or path.lower().endswith(".gz"):
        return None  # stdin, or decompressed bytes: no known total
    try:
        return os.path.getsize(path)
    except OSError:
        return None  # reported by the reader, with its own message


def classify_table(scorer: Scorer, path: str, out, *, prob: bool = False,
                   text_column: str | int | None = None, title_column: str | int | None = None,
                   header: bool | None = None, delimiter: str | None = None, quoting: str | None = None,
                   strict: bool = False, warn: Callable[[str], None] | None = None,
                   progress: Progress = _no_progress, output_prefix: str = "", encoding: str | None = None) -> int:
    """Score a CSV/TSV file ('-' = stdin) into ``out``: every input column and row kept, ``label``
    appended (with ``prob`` one probability column per class; names after ``output_prefix``); an
    empty text gets empty cells. A header that already has one of those names is refused. Returns
    the number of data rows."""
    rows_done = 0
    with progress(path, _size(path)) as on_bytes:
        table = open_table(path, header=header, text_column=text_column, title_column=title_column,
                           delimiter=delimiter, quoting=quoting, strict=strict, warn=warn, on_bytes=on_bytes,
                           hint=REPLACE_HINT, encoding=encoding)
        if table is None:
            return 0
        check_columns(table.header, scorer.labels, 1, prob, path, output_prefix)
        writer = TableWriter(out, scorer.labels, table.delimiter, prob, table.quoting,
                             output_prefix)
        pending = [writer.header(table.header)] if table.header is not None else []
        for chunk in windows(table.rows, scorer.window, lambda item: sum(map(len, item[1])), WINDOW_CHARS):
            rows = [row for _, row in chunk]
            scored = scorer.score([table.text(row) for row in rows])
            writer.write(pending + writer.scored(rows, scored.live, scored.probs))
            pending = []
            rows_done += len(rows)
        writer.write(pending)
    return rows_done


def classify_jsonl(scorer: Scorer, path: str, out, *, prob: bool = False, text_column: str | None = None,
                   title_column: str | None = None, strict: bool = False, warn: Callable[[str], None] | None = None,
                   progress: Progress = _no_progress, output_prefix: str = "", encoding: str | None = None) -> int:
    """Score a JSON Lines file (or a .json array; '-' = stdin) into ``out`` as JSON Lines: each
    object as it came, with ``label`` added (with ``prob`` a ``prob_<class>`` key per class; names
    after ``output_prefix``); an object without text gets null. The text key is found as a CSV
    header's text column (``text``, ``description``, ... or ``text_column``). Returns the objects written."""
    src, added, done = source_name(path), prediction_columns(scorer.labels, 1, prob, output_prefix), 0
    keys: tuple[str, str | None] | None = None
    with progress(path, _size(path)) as on_bytes:
        items = json_items(path, strict=strict, warn=warn, on_bytes=on_bytes, hint=REPLACE_HINT, encoding=encoding)
        for chunk in windows(items, scorer.window, lambda item: _chars(item[1]), WINDOW_CHARS):
            for line, obj in chunk:
                _check_object(obj, src, line, added, output_prefix)
                keys = keys or _text_keys(obj, src, text_column, title_column)
            scored = scorer.score([_json_text(obj, *keys, src, line) for line, obj in chunk])
            values = [[scorer.labels[int(row.argmax())]] + ([round(float(p), PROB_DIGITS) for p in row] if prob else [])
                      for row in scored.probs]
            lines = [json.dumps({**obj, **dict(zip(added, v))}, ensure_ascii=False)
                     for (_, obj), v in zip(chunk, placed(len(chunk), scored.live, values, [None] * len(added)))]
            out.write("\n".join(lines) + "\n")
            out.flush()
            done += len(chunk)
    return done


def _check_object(obj, src: str, line: int, added: list[str], prefix: str) -> None:
    check_object(obj, src, line)
    taken = sorted(set(obj) & set(added))
    if taken:
        raise DataError(f"{src}:{line}: the object already has the key{'s' * (len(taken) > 1)} {', '.join(taken)} "
                        f"that scoring adds; name the added keys apart with --output-prefix (e.g. {prefix}pred_)")


def _text_keys(obj: dict, src: str, text_column, title_column) -> tuple[str, str | None]:
    """The text and title keys, from the first object's keys as a CSV header's columns are found."""
    names = list(obj)
    cols, _ = resolve_columns(names, src, True, text_column, title_column, None, False)
    return names[cols.text], None if cols.title is None else names[cols.title]


def _json_text(obj: dict, text_key: str, title_key: str | None, src: str, line: int) -> str:
    text = cell(obj.get(text_key, MISSING), "text", text_key, src, line)
    if title_key is None:
        return text
    return cell(obj.get(title_key, MISSING), "title", title_key, src, line) + " " + text


def evaluate(scorer: Scorer, bundle, path: str, read_options: dict, console,
             warn: Callable[[str], None] | None = None) -> dict:
    """``--eval``: score labelled ``path`` and print the evaluation report (``scoring.report``).
    Columns the options do not name come from the bundle's training columns where the file has them."""
    ev = evaluate_file(path, bundle.labelset, bundle.columns, scorer.classes, read_options)
    if ev.columns and warn:
        warn(f"columns from the model: {describe_columns(ev.columns)}")
    labels = scorer.labels
    r = report(ev.gold.tolist(), ev.pred.tolist(), labels)
    print_report(console, r["n"], r["accuracy"], r["per_class"], r["confusion_matrix"], labels,
                 default_note(len(labels), "lstmtc-evaluate MODEL DATA --out DIR writes it to DIR/metrics.json"))
    return r
