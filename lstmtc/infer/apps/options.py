"""Click options shared by the command lines (lstmtc-classify, -explain, -train, -evaluate, -export),
torch-free so that every CLI can import them and no CLI imports another."""

from __future__ import annotations

from collections.abc import Callable

import click

from ..data.formats import QUOTINGS, check_delimiter
from ..data.transcode import check_encoding
from ..errors import DataError

MODEL_HELP = "Bundle directory made by lstmtc-export. Default: the AG News model shipped with lstmtc."
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


def model_option(f):
    return click.option("-m", "--model", type=click.Path(), help=MODEL_HELP)(f)


def _checked(check: Callable[[str], str | None]):
    """A click callback: the value as the library's ``check`` returns it, or a usage error before
    anything runs."""

    def callback(ctx, param, value):
        if value is None:
            return None
        try:
            return check(value)
        except DataError as e:
            raise click.BadParameter(str(e)) from None

    return callback


# The codec's name (None for UTF-8, the reader's own); one character (a typed \t or tab: a tab).
_encoding, _delimiter = _checked(check_encoding), _checked(check_delimiter)


def delimiter_option(help: str):
    return click.option("--delimiter", callback=_delimiter, help=help)


encoding_option = click.option(
    "--encoding", callback=_encoding,
    help="The input's encoding when it is not UTF-8: any Python codec (cp1252, latin-1, gbk, shift_jis, "
         "utf-16, ...). Default: UTF-8, or UTF-16/32 where the input starts with their byte-order mark.")


def data_options(f):
    """Options that say how to read labelled data (the verbs that train, evaluate or export): CSV/TSV,
    JSON Lines (columns are keys) or fastText's format (columns ``label`` and ``text``)."""
    for opt in reversed([
        click.option("--text-column", help="Column (or JSON key) with the text: a name, or a 1-based number with "
                                            "--no-header."),
        click.option("--title-column", help="Optional column joined in front of the text, as AG News's title."),
        click.option("--label-column", help="Column (or JSON key) with the label (name or 1-based number)."),
        click.option("--no-header", is_flag=True, help="The file has no header row (default: detected)."),
        delimiter_option("Field delimiter, one character; \\t or tab for a tab (default: tab for .tsv, comma "
                         "otherwise)."),
        encoding_option,
    ]):
        f = opt(f)
    return f


def quoting_option(f):
    return click.option("--quoting", type=click.Choice(QUOTINGS),
                        help="csv: fields may be quoted (the default for CSV); none: quote characters are text "
                             "(the default for .tsv, where one stray quote would swallow the lines after it).")(f)


def read_options(text_column=None, title_column=None, label_column=None, no_header=False, delimiter=None,
                 label_names=None, quoting=None, encoding=None) -> dict:
    """The reader's keyword options (``read_labelled``, ``open_table``) from the command line's values;
    options not given are left out."""
    opts = {"text_column": text_column, "title_column": title_column, "label_column": label_column,
            "header": False if no_header else None, "delimiter": delimiter, "quoting": quoting,
            "encoding": encoding}
    if label_names:
        opts["label_names"] = tuple(n.strip() for n in label_names.split(","))
    return {k: v for k, v in opts.items() if v is not None}


# ------------------------------------------------------------------------- console-script runner

# Standard streams that were closed when the command started (`<&-`, `>&-`): reopened on
# /dev/null so no file the command opens can take their descriptor, and named here so a command
# that needs one says so in one line.
CLOSED_STREAMS: set[str] = set()


def reopen_closed_streams() -> None:
    import os
    import sys

    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        new = os.open(os.devnull, os.O_RDWR)
        if new != fd:
            os.dup2(new, fd)
            os.close(new)
        setattr(sys, name, open(fd, mode, closefd=False))
        CLOSED_STREAMS.add(name)


def require_stream(name: str, hint: str) -> None:
    if name in CLOSED_STREAMS:
        raise click.ClickException(f"{name} is closed; {hint}")


def run_command(load, interrupt_note: str | None = None) -> None:
    """Run a click command as a console script: errors are one 'Error: ...' line (exit 1), a closed
    pipe (`| head`) ends quietly with 0, Ctrl-C exits 130 and SIGTERM 143 once the cleanups ran, a
    full disk under stdout is one line; never a traceback. ``load`` returns the command: it runs
    inside these handlers, so an interrupt during its imports (torch) is handled too."""
    import sys

    from ..files import WRITE_ERRNOS, Interrupted, install_interrupts

    reopen_closed_streams()
    install_interrupts()
    try:
        rv = load().main(standalone_mode=False)
        sys.stdout.flush()  # a closed pipe or a full disk surfaces here, not in the interpreter's last flush
    except click.exceptions.Abort as e:
        if isinstance(e.__cause__, KeyboardInterrupt):
            _exit_interrupted(130, interrupt_note)
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as e:
        try:
            sys.stdout.flush()
        except OSError:  # the error was stdout's own (a full disk): drop what it still holds
            quiet_stdout()
        e.show()
        sys.exit(e.exit_code)
    except Interrupted as e:
        _exit_interrupted(e.exit_code, interrupt_note)
    except KeyboardInterrupt:
        _exit_interrupted(130, interrupt_note)
    except BrokenPipeError:
        quiet_stdout()
        sys.exit(0)
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            raise
        click.echo(f"Error: stdout: cannot write it ({e.strerror or e})", err=True)
        quiet_stdout()
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


def _exit_interrupted(code: int, note: str | None):
    import sys

    if note:
        click.echo(note, err=True)
    quiet_stdout()
    sys.exit(code)


def quiet_stdout() -> None:
    """Point stdout at /dev/null: Python flushes it at exit, and with the reader gone (or the disk
    full) that flush would fail again."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
