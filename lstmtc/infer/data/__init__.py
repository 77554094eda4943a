"""Input and output: the one reader of text input (``reader``: lines from stdin and files, CSV/TSV
records), what kind of file an input is (``formats``: CSV/TSV, JSON Lines, fastText, binary),
tables and their columns (``columns``), labelled data for training and evaluation (``labelled``),
the writers of predictions (``writers``: label lines, top-k, probabilities, JSON lines, TSV, scored
CSV/TSV tables) and the original AG News files (``agnews``). Torch-free."""

from .columns import Columns, Table, open_table, resolve_columns
from .formats import QUOTINGS, delimiter_for, quoting_for
from .labelled import Dataset, labelled_batches, read_labelled
from .reader import Decoder, line_batches, read_line, records

__all__ = ["QUOTINGS", "Columns", "Table", "delimiter_for", "open_table", "quoting_for", "resolve_columns",
           "Dataset", "labelled_batches", "read_labelled", "Decoder", "line_batches", "read_line", "records"]
