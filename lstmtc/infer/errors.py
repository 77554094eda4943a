"""Typed errors of the library. Only the CLI layers turn them into one-line messages."""

import re
from contextlib import contextmanager

# C0 controls (newline, tab, NUL, ESC...), DEL and C1 controls: what a terminal acts on instead of
# showing, and what would break a one-line message or an output line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a Python escape (``\\n``, ``\\x1b``), so
    a name read from a file (a CSV header, a class name) cannot move the cursor, recolour the
    terminal or split a message into lines when it is shown."""
    if not has_control(text):
        return text
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class LstmtcError(Exception):
    """Base class: every error lstmtc raises on bad input or files is one of these. Its message is
    one line that shows control characters escaped, whatever file content it quotes."""

    def __str__(self) -> str:
        return escape_controls(super().__str__())


class DataError(LstmtcError):
    """A data file is unreadable or malformed; the message names file and line."""


class VocabError(LstmtcError):
    """A vocabulary file is not a valid lstmtc vocabulary."""


class BundleError(LstmtcError):
    """A model bundle is missing, incomplete, of an unknown version, or fails its hash check."""


class CheckpointError(LstmtcError):
    """A file is not an lstmtc checkpoint, or one of a newer format version."""


class MissingExtraError(LstmtcError):
    """An optional dependency group is not installed."""

    def __init__(self, extra: str, package: str):
        super().__init__(
            f"this needs the '{extra}' extra ({package} is not installed): pip install 'lstmtc[{extra}]'"
        )
        self.extra = extra
        self.package = package


class ExplainError(LstmtcError):
    """An explanation cannot be made (unknown label, a text with no words, ...)."""


def os_error_message(path, error: OSError, expected: str = "a file") -> str:
    """One line naming ``path`` for an OS error of opening it."""
    if isinstance(error, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(error, IsADirectoryError):
        return f"{path}: is a directory, expected {expected}"
    return f"{path}: cannot read it ({error.strerror or error})"


@contextmanager
def reading(path, expected: str = "a file"):
    """Turn the OS errors of opening ``path`` into one-line DataErrors that name it."""
    try:
        yield
    except OSError as e:
        raise DataError(os_error_message(path, e, expected)) from None
