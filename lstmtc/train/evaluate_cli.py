"""``lstmtc-evaluate MODEL DATA``."""

from __future__ import annotations

import click

from lstmtc import __version__
from lstmtc.infer.apps.options import data_options, quoting_option, read_options
from lstmtc.infer.errors import LstmtcError
from lstmtc.infer.files import protected_inputs


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(exists=True))
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Write metrics.json and confusion_matrix.png (normalized) here.")
@data_options
@quoting_option
@click.version_option(__version__, prog_name="lstmtc-evaluate")
def main(model, data, out_dir, text_column, title_column, label_column, no_header, delimiter, encoding, quoting):
    """Evaluate MODEL (a checkpoint, run directory or exported bundle) on labelled DATA (CSV/TSV,
    JSON Lines or fastText's __label__ format).

    Prints N, accuracy, per-class precision/recall/F1 and the confusion matrix (beyond 12 classes:
    the most-confused pairs; --out keeps the whole matrix in metrics.json): the report of
    lstmtc-classify --eval.

    Columns not named here are the ones the model was trained with (--text-column etc. given to
    lstmtc-train) when DATA has them; otherwise they are detected as lstmtc-train detects them.
    """
    from .evaluate import evaluate_model, report

    try:
        with protected_inputs(model, data):
            result = evaluate_model(model, data, read_options(text_column, title_column, label_column, no_header,
                                                              delimiter, quoting=quoting, encoding=encoding))
            report(result, out_dir)
    except LstmtcError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        where = e.filename or out_dir
        raise click.ClickException(f"cannot write the report to {where}: {e.strerror or e}") from None
