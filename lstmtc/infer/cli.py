"""``lstmtc-classify``: classify lines of text or CSV/TSV rows with an exported bundle.

A thin click layer: options are parsed and checked here, the work is done by Classifier,
stream, csvscore and output. Never imports torch.
"""

from __future__ import annotations

import os
import sys

import click

from lstmtc import __version__

from .errors import LstmtcError
from .output import FORMATS, LineFormatter

# Chosen by the batch-size x threads sweep in benchmarks (docs/benchmarks.md).
DEFAULT_BATCH = 256


def _stderr_is_tty() -> bool:
    try:
        return os.isatty(sys.stderr.fileno())
    except (AttributeError, ValueError, OSError):
        return False


def _progress(total: int | None, label: str, enabled: bool):
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    p = Progress(TextColumn(label), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                 console=Console(stderr=True), transient=True)
    p.start()
    task = p.add_task(label, total=total)
    return p, task


def _advance(bar):
    if not bar:
        return None
    progress, task = bar
    return lambda n: progress.update(task, advance=n)


def _warn(msg: str) -> None:
    click.echo(msg, err=True)


def classify_lines(clf, sources, fmt: LineFormatter, batch_size: int, strict: bool, quiet: bool, out) -> None:
    from .stream import Decoder, batched_lines

    for src in sources:
        name = "<stdin>" if src == "-" else src
        if src == "-":
            fd, close, total = sys.stdin.fileno(), False, None
        else:
            try:
                fd = os.open(src, os.O_RDONLY)
            except FileNotFoundError:
                raise LstmtcError(f"{src}: no such file") from None
            except IsADirectoryError:
                raise LstmtcError(f"{src}: is a directory, expected a text file with one document per line") from None
            close, total = True, os.fstat(fd).st_size
        bar = _progress(total, os.path.basename(name), src != "-" and not quiet and _stderr_is_tty())
        try:
            on_bytes = _advance(bar)
            decode = Decoder(name, strict, _warn)
            for batch in batched_lines(fd, batch_size, decode, on_bytes, wait_for_more=(src == "-")):
                live = [i for i, t in enumerate(batch) if t.strip()]
                lines = [fmt.empty()] * len(batch)
                if live:
                    probs = clf.predict_proba([batch[i] for i in live])
                    for i, line in zip(live, fmt.lines(probs)):
                        lines[i] = line
                out.write("\n".join(lines) + "\n")
                out.flush()
        finally:
            if bar:
                bar[0].stop()
            if close:
                os.close(fd)


def classify_csv(clf, spec, batch_size: int, prob: bool, strict: bool, quiet: bool, out_path) -> int:
    import csv as _csv

    from .csvscore import csv_chunks, output_stream

    labels = clf.labels
    total = None if spec.path == "-" else os.path.getsize(spec.path)
    bar = _progress(total, os.path.basename(spec.path), spec.path != "-" and not quiet and _stderr_is_tty())
    rows_done = 0
    try:
        on_bytes = _advance(bar)
        with output_stream(out_path) as f:
            delim = "\t" if (spec.delimiter == "\t" or (spec.delimiter is None and
                                                         spec.path.lower().endswith((".tsv", ".tab")))) else ","
            if spec.delimiter and spec.delimiter not in ("\t", ","):
                delim = spec.delimiter
            w = _csv.writer(f, delimiter=delim, lineterminator="\n")
            for kind, *rest in csv_chunks(spec, batch_size, strict, on_bytes):
                if kind == "header":
                    header, _ = rest
                    w.writerow(header + ["label"] + ([f"prob_{n}" for n in labels] if prob else []))
                    continue
                if kind == "noheader":
                    continue
                rows, texts = rest
                live = [i for i, t in enumerate(texts) if t is not None]
                probs = clf.predict_proba([texts[i] for i in live]) if live else None
                extra: list[list[str]] = [[""] + ([""] * len(labels) if prob else []) for _ in rows]
                if probs is not None:
                    for j, i in enumerate(live):
                        p = probs[j]
                        extra[i] = [labels[int(p.argmax())]] + ([f"{v:.6f}" for v in p] if prob else [])
                w.writerows(row + e for (_, row), e in zip(rows, extra))
                rows_done += len(rows)
    finally:
        if bar:
            bar[0].stop()
    return rows_done


def evaluate(clf, path, read_opts: dict, console) -> dict:
    from rich.table import Table

    from .data import read_labelled
    from .metrics import report

    data = read_labelled(path, clf.bundle.labelset, **read_opts)
    pred = []
    for i in range(0, len(data), 1024):
        pred.extend(clf.predict_proba(data.texts[i:i + 1024]).argmax(1).tolist())
    r = report(data.labels, pred, clf.labels)
    console.print(f"N\t{r['n']}")
    console.print(f"accuracy\t{r['accuracy']:.4f}")
    t = Table(title="per class")
    for col in ("class", "precision", "recall", "f1", "support"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for name, m in r["per_class"].items():
        t.add_row(name, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1-score']:.4f}", str(m["support"]))
    console.print(t)
    cm = Table(title="confusion matrix (rows: true, columns: predicted)")
    cm.add_column("")
    for name in clf.labels:
        cm.add_column(name, justify="right")
    for name, row in zip(clf.labels, r["confusion_matrix"]):
        cm.add_row(name, *map(str, row))
    console.print(cm)
    return r


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-m", "--model", type=click.Path(),
              help="Bundle directory made by lstmtc-export. Default: the AG News model shipped with lstmtc.")
@click.option("--precision", type=click.Choice(["fp32", "int8", "fp16"]),
              help="Which model of the bundle to run [default: the bundle's default].")
@click.option("--prob", is_flag=True, help="Add the probability of each label (CSV mode: one column per class).")
@click.option("-k", "--k", "k", type=click.IntRange(1), default=1, help="Print the k most likely labels.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.0,
              help="Leave out labels whose probability is below this.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", help="Line-mode output format.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Score a CSV file ('-' = stdin): every column kept, a 'label' column appended.")
@click.option("--tsv", "tsv_path", type=click.Path(dir_okay=False, allow_dash=True), help="Like --csv, tab-separated.")
@click.option("--text-column", help="CSV mode: column holding the text (name, or 1-based number with --no-header).")
@click.option("--title-column", help="CSV mode: column joined in front of the text (AG News's title).")
@click.option("--no-header", is_flag=True, help="CSV mode: the file has no header row.")
@click.option("--delimiter", help="CSV mode: field delimiter (default from --csv/--tsv).")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write here (atomically: a temporary file renamed when complete) instead of stdout.")
@click.option("--eval", "eval_path", type=click.Path(dir_okay=False),
              help="Labelled file: print N, accuracy, per-class precision/recall/F1 and the confusion matrix.")
@click.option("--batch-size", type=click.IntRange(1), default=DEFAULT_BATCH, help="Documents per onnxruntime call.")
@click.option("--threads", type=click.IntRange(1), help="onnxruntime intra-op threads [default: all cores].")
@click.option("--strict", is_flag=True, help="Fail on invalid UTF-8 instead of replacing it.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.version_option(__version__, prog_name="lstmtc-classify")
def main(files, model, precision, prob, k, threshold, fmt, csv_path, tsv_path, text_column, title_column, no_header,
         delimiter, out_path, eval_path, batch_size, threads, strict, quiet):
    """Classify text with an exported model: one document per line of FILES (or stdin, or '-').

    Prints one line per input line, in input order; an empty input line gives an empty output
    line ('null' with --format jsonl), so rows stay aligned. Without --model the AG News model
    shipped with lstmtc is used (labels World, Sports, Business, Sci/Tech).

    Stdin is answered as it arrives: a batch is scored when it is full, when the input pauses,
    or at end of input, so `tail -f app.log | lstmtc-classify` answers each line at once.

    \b
    Examples:
      echo "Stocks slid as oil prices jumped" | lstmtc-classify
      lstmtc-classify news.txt --prob -k 2 --format tsv
      lstmtc-classify --csv in.csv --text-column text --prob -o scored.csv
      lstmtc-classify --csv test.csv --no-header --title-column 2 --text-column 3 -o out.csv
      lstmtc-classify --eval test.csv
    """
    if csv_path and tsv_path:
        raise click.UsageError("give --csv or --tsv, not both")
    table = csv_path or tsv_path
    if table and files:
        raise click.UsageError("FILES are line input; with --csv/--tsv give the file to --csv/--tsv only")
    if eval_path and (table or files):
        raise click.UsageError("--eval scores a labelled file on its own; drop FILES and --csv/--tsv")
    if table and (k != 1 or threshold or fmt != "text"):
        raise click.UsageError("--k, --threshold and --format apply to line input; "
                               "CSV mode appends 'label' (and with --prob one probability column per class)")
    if not table and (text_column or title_column or no_header or delimiter) and not eval_path:
        raise click.UsageError("--text-column, --title-column, --no-header and --delimiter need --csv or --tsv")
    from .classifier import Classifier

    try:
        clf = Classifier.load(model, precision, threads)
        if eval_path:
            from rich.console import Console

            opts = {"text_column": text_column, "title_column": title_column,
                    "header": False if no_header else None, "delimiter": delimiter}
            evaluate(clf, eval_path, {k_: v for k_, v in opts.items() if v is not None}, Console())
            return
        if table:
            from .csvscore import CsvSpec

            spec = CsvSpec(table, text_column, title_column, False if no_header else None,
                           delimiter or ("\t" if tsv_path else None))
            classify_csv(clf, spec, batch_size, prob, strict, quiet, out_path)
            return
        formatter = LineFormatter(clf.labels, fmt, k, prob, threshold)
        from .csvscore import output_stream

        with output_stream(out_path) as out:
            classify_lines(clf, files or ("-",), formatter, batch_size, strict, quiet, out)
    except LstmtcError as e:
        raise click.ClickException(str(e)) from None


def run() -> None:
    """Console-script entry: a closed pipe (`| head`) ends quietly, Ctrl-C exits 130."""
    try:
        main(standalone_mode=True)
    except BrokenPipeError:
        _quiet_pipe()
        sys.exit(0)
    except KeyboardInterrupt:
        _quiet_pipe()
        sys.exit(130)


def _quiet_pipe() -> None:
    # Python flushes stdout at exit; with the reader gone that flush would raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass

