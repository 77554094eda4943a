"""Click options shared by the command lines (lstmtc-classify, -explain, -train, -evaluate, -export),
torch-free so that every CLI can import them and no CLI imports another."""

from __future__ import annotations

import click

from ..data.columns import QUOTINGS

MODEL_HELP = "Bundle directory made by lstmtc-export. Default: the AG News model shipped with lstmtc."
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


def model_option(f):
    return click.option("-m", "--model", type=click.Path(), help=MODEL_HELP)(f)


def data_options(f):
    """Options that say how to read a labelled CSV/TSV (the verbs that train, evaluate or export)."""
    for opt in reversed([
        click.option("--text-column", help="Column with the text (name, or 1-based number with --no-header)."),
        click.option("--title-column", help="Optional column joined in front of the text, as AG News's title."),
        click.option("--label-column", help="Column with the label (name or 1-based number)."),
        click.option("--no-header", is_flag=True, help="The file has no header row (default: detected)."),
        click.option("--delimiter", help="Field delimiter (default: tab for .tsv, comma otherwise)."),
    ]):
        f = opt(f)
    return f


def quoting_option(f):
    return click.option("--quoting", type=click.Choice(QUOTINGS),
                        help="csv: fields may be quoted (the default for CSV); none: quote characters are text "
                             "(the default for .tsv, where one stray quote would swallow the lines after it).")(f)


def read_options(text_column=None, title_column=None, label_column=None, no_header=False, delimiter=None,
                 label_names=None, quoting=None) -> dict:
    """The reader's keyword options (``read_labelled``, ``open_table``) from the command line's values;
    options not given are left out."""
    opts = {"text_column": text_column, "title_column": title_column, "label_column": label_column,
            "header": False if no_header else None, "delimiter": delimiter, "quoting": quoting}
    if label_names:
        opts["label_names"] = tuple(n.strip() for n in label_names.split(","))
    return {k: v for k, v in opts.items() if v is not None}
