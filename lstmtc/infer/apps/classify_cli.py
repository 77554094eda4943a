"""``lstmtc-classify``: classify lines of text or CSV/TSV rows with an exported bundle.

A thin click layer: options are parsed and conflicts rejected here; each mode is one call of
``lstmtc.infer.apps.classify`` (line input, tables, ``--eval``) or of the Dask engine
(``lstmtc.infer.apps.cluster``). Never imports torch.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import click

from lstmtc import __version__

from ..data.formats import QUOTINGS
from ..data.writers import FORMATS, LineFormatter, output_stream
from ..errors import LstmtcError
from ..files import protected_inputs
from ..scoring.scorer import DEFAULT_BATCH, WINDOW_BATCHES
from .options import (
    CONTEXT,
    delimiter_option,
    encoding_option,
    model_option,
    quiet_stdout,
    read_options,
    require_stream,
    run_command,
)


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


def _progress_for(quiet: bool):
    """classify's Progress: a bar on stderr for a file (never stdin) when stderr is a terminal."""

    @contextmanager
    def progress(path: str, total: int | None):
        bar = _progress(total, os.path.basename(path), path != "-" and not quiet and _stderr_is_tty())
        try:
            yield _advance(bar)
        finally:
            if bar:
                bar[0].stop()

    return progress


@click.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@model_option
@click.option("--precision", type=click.Choice(["fp32", "int8", "fp16"]),
              help="Which model of the bundle to run [default: the bundle's default].")
@click.option("--prob", is_flag=True, help="Add the probability of each label (CSV mode: one column per class).")
@click.option("-k", "--k", "k", type=click.IntRange(1), default=1, help="Print the k most likely labels.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.0,
              help="Leave out labels whose probability is below this.")
@click.option("--format", "fmt", type=click.Choice(FORMATS + ("parquet",)), default="text",
              help="Line-mode output format; with --engine dask the part files' format: csv (default) or parquet.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Score a CSV file ('-' = stdin): every column kept, a 'label' column appended.")
@click.option("--tsv", "tsv_path", type=click.Path(dir_okay=False, allow_dash=True), help="Like --csv, tab-separated.")
@click.option("--jsonl", "jsonl_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Score a JSON Lines file (or a .json array; '-' = stdin): each object written back as a JSON line "
                   "with a 'label' key added (and with --prob a 'prob_<class>' key per class).")
@click.option("--output-prefix", default="", metavar="PREFIX",
              help="CSV mode: put PREFIX before the added column names (pred_label, pred_prob_<class>), for an "
                   "input that already has a 'label' or 'prob_' column.")
@click.option("--text-column", help="CSV mode: column holding the text (name, or 1-based number with --no-header).")
@click.option("--title-column", help="CSV mode: column joined in front of the text (AG News's title).")
@click.option("--label-column", help="--eval: column holding the label (name, or 1-based number with --no-header).")
@click.option("--no-header", is_flag=True, help="CSV mode: the file has no header row.")
@delimiter_option("CSV mode: field delimiter, one character; \\t or tab for a tab (default from --csv/--tsv).")
@click.option("--quoting", type=click.Choice(QUOTINGS),
              help="CSV mode and --eval: csv = fields may be quoted (the default for CSV); none = quote characters "
                   "are text (the default for .tsv, where one stray quote would swallow the lines after it).")
@encoding_option
@click.option("-o", "--output", "out_path", type=click.Path(allow_dash=True),
              help="Write here (atomically: a temporary file renamed when complete) instead of stdout. "
                   "With --engine dask: a directory, one part file per input file plus _SUCCESS.")
@click.option("--eval", "eval_path", type=click.Path(dir_okay=False),
              help="Labelled file (CSV/TSV, JSON Lines or fastText's __label__ format): print N, accuracy, "
                   "per-class precision/recall/F1 and the confusion matrix "
                   "(beyond 12 classes the most-confused pairs). Columns not named take the model's training "
                   "columns where the file has them.")
@click.option("--batch-size", type=click.IntRange(1), default=DEFAULT_BATCH, show_default=True,
              help="Documents per onnxruntime call.")
@click.option("--no-sort", is_flag=True,
              help="Score a length-aware model's documents in input order instead of sorting each window of "
                   f"{WINDOW_BATCHES} batches by length (for debugging: the output is identical, only slower; an "
                   "int8 model quantizes each batch's activations with its own scale, so a few of its answers can "
                   "change with the batch a document lands in, sorted or not).")
@click.option("--threads", type=click.IntRange(1),
              help="Cores to score on: the input is cut into this many chunks, each scored by one "
                   "onnxruntime thread, the answers in input order [default: all cores].")
@click.option("--strict", is_flag=True, help="Fail on invalid UTF-8 instead of replacing it.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
              help="CSV/TSV mode: score in this process, or on a Dask cluster (--csv takes a path, glob or fsspec "
                   "URL, -o a directory; needs lstmtc[dask]).")
@click.option("--scheduler", metavar="ADDRESS",
              help="--engine dask: use the running cluster at ADDRESS (tcp://host:8786) "
                   "[default: a LocalCluster on this machine].")
@click.option("--workers", type=click.IntRange(1),
              help="--engine dask without --scheduler: LocalCluster worker processes, one thread each "
                   "[default: one per core]. With --engine dask, --threads is per worker [default: 1].")
@click.version_option(__version__, prog_name="lstmtc-classify")
def main(files, model, precision, prob, k, threshold, fmt, csv_path, tsv_path, jsonl_path, output_prefix, text_column,
         title_column,
         label_column, no_header, delimiter, quoting, encoding, out_path, eval_path, batch_size, no_sort, threads,
         strict, quiet,
         engine, scheduler, workers):
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
      lstmtc-classify --jsonl reviews.jsonl --text-column review -o scored.jsonl
      lstmtc-classify --eval test.csv
      lstmtc-classify --csv 'in/*.csv' --text-column text --engine dask -o scored/
    """
    # Conflicting options are one-line errors (exit 1), like every other bad input.
    tables = [name for name, given in (("--csv", csv_path), ("--tsv", tsv_path), ("--jsonl", jsonl_path)) if given]
    if len(tables) > 1:
        raise click.ClickException(f"give {' or '.join(tables)}, not both" if len(tables) == 2
                                   else "give one of --csv, --tsv and --jsonl")
    if jsonl_path and engine == "dask":
        raise click.ClickException("--engine dask scores --csv/--tsv files; --jsonl runs with --engine local")
    _check_engine(engine, scheduler, workers, fmt, csv_path or tsv_path, files, eval_path, out_path)
    table = csv_path or tsv_path or jsonl_path
    if table and files:
        raise click.ClickException(f"FILES are line input; with {tables[0]} give the file to {tables[0]} only")
    if eval_path and (table or files):
        raise click.ClickException("--eval scores a labelled file on its own; drop FILES and --csv/--tsv/--jsonl")
    if jsonl_path and (no_header or delimiter or quoting):
        raise click.ClickException("--no-header, --delimiter and --quoting are for CSV/TSV; a JSON Lines file "
                                   "names its keys")
    line_opts = [name for name, used in (("--k", k != 1), ("--threshold", bool(threshold)),
                                         ("--format", fmt != "text" and engine != "dask")) if used]
    if eval_path and (line_opts or prob or out_path):
        raise click.ClickException("--eval prints a report to stdout; drop "
                                   + ", ".join(line_opts + ["--prob"] * prob + ["--output"] * bool(out_path)))
    if table and line_opts:
        raise click.ClickException(f"{', '.join(line_opts)}: line input only; CSV mode appends 'label' "
                                   "(and with --prob one probability column per class)")
    if not table and not eval_path and (text_column or title_column or no_header or delimiter or quoting):
        raise click.ClickException("--text-column, --title-column, --no-header, --delimiter and --quoting need "
                                   "--csv, --tsv, --jsonl or --eval")
    if output_prefix and not table:
        raise click.ClickException("--output-prefix names the columns CSV mode adds; it needs --csv, --tsv or "
                                   "--jsonl")
    if label_column and not eval_path:
        raise click.ClickException("--label-column is for --eval (the labels of a labelled file)")
    if engine == "local" and out_path and out_path != "-" and os.path.isdir(out_path):
        raise click.BadParameter(f"File {click.format_filename(out_path)!r} is a directory.",
                                 param_hint="'-o' / '--output'")
    if table == "-" or (not table and not eval_path and (not files or "-" in files)):
        require_stream("stdin", "give FILES (or --csv FILE), or pipe text in")
    if not out_path or out_path == "-":
        require_stream("stdout", "give -o FILE")
    from ..classifier import Classifier
    from ..scoring.scorer import Scorer

    delimiter = delimiter or ("\t" if tsv_path else None)
    opts = read_options(text_column, title_column, label_column, no_header, delimiter, quoting=quoting,
                        encoding=encoding)
    try:
        if engine == "dask":
            _classify_dask(table, out_path, model, precision, prob, dict(opts, output_prefix=output_prefix),
                           batch_size, threads, strict, quiet, fmt, scheduler, workers)
            return
        clf = Classifier.load(model, precision, threads)
        scorer = Scorer(clf, batch_size, sort=not no_sort)
        if eval_path:
            from rich.console import Console

            from .classify import evaluate

            evaluate(scorer, clf.bundle, eval_path, opts, Console(), _warn)
            return
        from .classify import classify_jsonl, classify_lines, classify_table

        with protected_inputs(*files, table), output_stream(out_path) as out:
            if jsonl_path:
                classify_jsonl(scorer, jsonl_path, out, prob=prob, text_column=text_column, title_column=title_column,
                               strict=strict, warn=_warn, progress=_progress_for(quiet), output_prefix=output_prefix,
                               encoding=encoding)
            elif table:
                classify_table(scorer, table, out, prob=prob, strict=strict, warn=_warn,
                               progress=_progress_for(quiet), output_prefix=output_prefix, **opts)
            else:
                classify_lines(scorer, files or ("-",), LineFormatter(clf.labels, fmt, k, prob, threshold), out,
                               strict=strict, warn=_warn, progress=_progress_for(quiet), encoding=encoding)
    except LstmtcError as e:
        raise click.ClickException(str(e)) from None
    except BrokenPipeError:
        # `| head -1`: the reader is gone, which is not an error. Handled here because click's own
        # handling of EPIPE exits with 1.
        quiet_stdout()
        sys.exit(0)


def _check_engine(engine, scheduler, workers, fmt, table, files, eval_path, out_path) -> None:
    if engine != "dask":
        for name, used in (("--scheduler", scheduler), ("--workers", workers), ("--format parquet", fmt == "parquet")):
            if used:
                raise click.ClickException(f"{name} needs --engine dask")
        return
    if eval_path or not table or files:
        raise click.ClickException("--engine dask scores --csv/--tsv files; line input and --eval run with "
                                   "--engine local")
    if table == "-":
        raise click.ClickException("--engine dask reads files (a path, glob or URL), not stdin")
    if not out_path or out_path == "-":
        raise click.ClickException("--engine dask writes one file per input file: give -o DIRECTORY")
    if scheduler and workers:
        raise click.ClickException("--workers sizes a LocalCluster; with --scheduler the cluster's own workers run")
    if fmt not in ("text", "csv", "parquet"):
        raise click.ClickException(f"--format {fmt}: with --engine dask the output is csv or parquet")


def _classify_dask(table, out_path, model, precision, prob, opts, batch_size, threads, strict, quiet, fmt,
                   scheduler, workers) -> None:
    from .cluster import score_files

    summary = score_files(table, out_path, model, prob=prob, precision=precision, threads=threads or 1,
                          batch_size=batch_size, strict=strict, fmt="parquet" if fmt == "parquet" else "csv",
                          scheduler=scheduler, workers=workers, warn=_warn, **opts)
    if not quiet and _stderr_is_tty():
        click.echo(f"{summary['rows']} rows in {len(summary['files'])} part files -> {out_path} "
                   f"({summary['seconds']:.1f} s)", err=True)


def run() -> None:
    """Console-script entry (``options.run_command``): errors are one 'Error: ...' line, a closed
    pipe (`| head`) ends quietly with 0, Ctrl-C exits 130 and SIGTERM 143 after the temporary
    output is removed, never a traceback."""
    run_command(lambda: main)
