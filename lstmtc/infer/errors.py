"""Typed errors of the library. Only the CLI layers turn them into one-line messages."""

from contextlib import contextmanager


class LstmtcError(Exception):
    """Base class: every error lstmtc raises on bad input or files is one of these."""


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


@contextmanager
def reading(path, expected: str = "a file"):
    """Turn the OS errors of opening ``path`` into one-line DataErrors that name it."""
    try:
        yield
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected {expected}") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read it ({e.strerror or e})") from None
