"""What kind of file an input is, decided in one place for every verb: CSV/TSV and its dialect,
JSON Lines and fastText's training format (read as tables by the one reader), or not text at all.
The format is sniffed from the name and the first non-blank line:

- JSON Lines (``.jsonl``/``.ndjson``, or a first line that is a JSON object): one object per line,
  as ``pandas.DataFrame.to_json(orient="records", lines=True)`` and Hugging Face's ``to_json`` write
  it. The first object's keys are the header, so columns are found as in a CSV with a header
  (``text``, ``label``, ... or ``--text-column``/``--label-column`` NAME). A number or boolean
  label is read as its JSON text (``0``, ``true``); a list (multi-label) or an object in a column
  that is read is an error naming the line; other keys are not looked at.
- a JSON array of such objects in a ``.json`` file (pandas' ``to_json(orient="records")``), read
  whole, each row named by the line its object starts on; a ``.json`` file of JSON Lines is JSON Lines.
- fastText (a first line starting with ``__label__``): ``__label__CLASS text`` per line, read as the
  columns ``label`` and ``text``. More than one label on a line (multi-label) is an error.
- CSV/TSV: a ``.csv``/``.tsv``/``.tab`` name is always CSV/TSV as named; another name is TSV when
  its first line holds a tab, else CSV; a first line ``sep=;`` (Excel's) names the delimiter
  (``dialect``).

Where only CSV/TSV is read (lstmtc-classify ``--csv``, the Dask engine), a JSON Lines or fastText
file is an error that says how to pass its texts instead of a confusing column count. An input that
starts like a binary file (a workbook, Parquet, an archive, UTF-16 without a byte-order mark) is an
error naming what it is (``check_text``, called by the reader on the first bytes).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from itertools import chain

from ..errors import DataError

CSV, JSONL, JSON, FASTTEXT = "csv", "jsonl", "json", "fasttext"
FORMATS = (CSV, JSONL, JSON, FASTTEXT)
LABEL_PREFIX = "__label__"
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
TSV_SUFFIXES = (".tsv", ".tab")
CSV_SUFFIXES = (".csv", *TSV_SUFFIXES)
FASTTEXT_HEADER = ["label", "text"]
MISSING = object()  # a key the first object has and a later one lacks
_FASTTEXT_LINE = re.compile(r"[ \t]*((?:__label__\S*[ \t]*)+)(.*)", re.S)
QUOTINGS = ("csv", "none")
_EXCEL_SEP = re.compile(r"sep=([^\r\n\"])")


_SPREADSHEET = "save it as CSV (UTF-8) from the spreadsheet, or convert it with pandas.read_excel(...).to_csv(...)"
_COLUMNAR = ("convert it with pandas: pd.read_parquet(...).to_csv(..., index=False), or "
             ".to_json(..., orient='records', lines=True)")
# Leading bytes of files that are not text, what they are, and how to get text from them.
BINARY = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument .ods workbook is one)", _SPREADSHEET),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls (OLE) file", _SPREADSHEET),
    (b"PAR1", "a Parquet file", _COLUMNAR),
    (b"ARROW1", "an Arrow file", _COLUMNAR),
    (b"\x1f\x8b", "gzip-compressed", "name it .gz, and it is decompressed as it is read"),
    (b"BZh", "bzip2-compressed", "decompress it (bunzip2), or recompress it as .gz"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it (unxz), or recompress it as .gz"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it (unzstd), or recompress it as .gz"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV (sqlite3 -csv -header DB 'select ...')"),
    (b"%PDF", "a PDF document", "extract its text first"),
    (b"\x93NUMPY", "a NumPy array", "save the texts and labels as CSV"),
    (b"\x7fELF", "a program", "give the data file"),
)
# A first block with more NUL bytes than this share is not UTF-8 text (UTF-16/32 without a
# byte-order mark, or binary); a stray NUL in text passes.
NUL_SHARE = 0.1


def check_text(head: bytes, name: str) -> None:
    """An input whose first bytes show it is not UTF-8 text: an error naming what it is and the way to
    text, instead of "not valid UTF-8" (or, where bad bytes are replaced, labels for binary noise)."""
    for magic, what, fix in BINARY:
        # The bytes after the magic must not be text too: "PAR1,first row" is a CSV row.
        if head.startswith(magic) and not _is_text(head):
            raise DataError(f"{name}: {what}, not text; lstmtc reads CSV/TSV, JSON Lines or fastText text: {fix}")
    if head and head.count(0) > NUL_SHARE * len(head):
        raise DataError(f"{name}: {head.count(0)} NUL bytes in the first {len(head)}: not UTF-8 text. UTF-16 "
                        "without a byte-order mark? name it with --encoding utf-16-le (or utf-16-be); "
                        "otherwise give a text file")


def _is_text(head: bytes) -> bool:
    """No NUL byte and valid UTF-8 (a character cut at the end of ``head`` aside)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(head) - 3
    return True


def _name(path) -> str:
    name = str(path).lower()
    return name[:-3] if name.endswith(".gz") else name


def quoting_for(path: str | os.PathLike, quoting: str | None = None) -> str:
    """TSV files rarely quote: a stray quote in ``"text`` would merge every line up to the next one
    into one field, so quotes are text in .tsv/.tab unless asked otherwise; CSV keeps CSV quoting."""
    if quoting:
        if quoting not in QUOTINGS:
            raise DataError(f"quoting must be one of {', '.join(QUOTINGS)}, not {quoting!r}")
        return quoting
    return "none" if _name(path).endswith(TSV_SUFFIXES) else "csv"


TAB_NAMES = ("\\t", "tab", "TAB")  # what people type for a tab in a shell


def check_delimiter(delimiter: str) -> str:
    """One field-separating character (a typed ``\\t`` or ``tab`` is a tab), or an error saying so."""
    if delimiter in TAB_NAMES:
        return "\t"
    if len(delimiter) != 1 or delimiter in "\r\n\"":
        raise DataError(f"the delimiter must be one character other than a quote or a line end (\\t or tab "
                        f"for a tab), not {delimiter!r}")
    return delimiter


def delimiter_for(path: str | os.PathLike, delimiter: str | None = None) -> str:
    if delimiter:
        return check_delimiter(delimiter)
    return "\t" if _name(path).endswith(TSV_SUFFIXES) else ","


def dialect(path, first: str | None, quoting: str | None = None) -> tuple[str, str]:
    """(delimiter, quoting) of a CSV/TSV file whose delimiter was not given: by its name (.tsv/.tab,
    .csv); for another name (.txt, none, stdin) a tab in the first line makes it TSV (the UCI SMS
    Spam Collection: ``ham<TAB>text`` in a file without an extension), else CSV."""
    sep = _excel_sep(first)
    if sep:  # Excel's own first line: "sep=;" names the delimiter (``sniff`` blanks the line)
        return sep, quoting_for(".csv", quoting)
    name = _name(path)
    tsv = name.endswith(TSV_SUFFIXES) or (not name.endswith(".csv") and first is not None and "\t" in first)
    return ("\t" if tsv else ","), quoting_for(".tsv" if tsv else ".csv", quoting)


def _excel_sep(first: str | None) -> str | None:
    """The delimiter an Excel first line ``sep=;`` names, if ``first`` is one."""
    sep = _EXCEL_SEP.fullmatch(first.rstrip("\r\n")) if first is not None else None
    return sep.group(1) if sep else None


def detect(path, first: str | None) -> str:
    """The format of ``path`` whose first non-blank line is ``first`` (None: no such line)."""
    name = _name(path)
    if name.endswith(CSV_SUFFIXES):
        return CSV
    if name.endswith(JSONL_SUFFIXES):
        return JSONL
    if first is None:
        return CSV
    if _is_object(first):
        return JSONL
    if first.lstrip().startswith(LABEL_PREFIX):
        return FASTTEXT
    return CSV


def _is_object(line: str) -> bool:
    """A line that is one whole JSON object."""
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _json_document(path, first: str | None) -> str | None:
    """For a .json name: JSON if it holds one array (of objects, as pandas' ``to_json(orient="records")``
    writes it), JSONL if its first line is a whole object; a single pretty-printed object is an error."""
    if not _name(path).endswith(".json") or first is None:
        return None
    if first.lstrip().startswith("["):
        return JSON
    if _is_object(first):
        return JSONL
    raise DataError(f"{path}: one JSON document, not an array of objects or JSON Lines (one object per line); "
                    "give the rows as an array [{\"text\": ..., \"label\": ...}, ...] or one object per line")


def sniff(path, src: str, lines: Iterator[str], allowed: Sequence[str]) -> tuple[str, Iterator[str], str | None]:
    """(format, the same lines (none consumed), the first non-blank line). A format not in
    ``allowed`` is an error that names the verbs that read it and how to pass its texts to this one."""
    head: list[str] = []
    first = None
    for line in lines:
        head.append(line)
        if line.strip():
            first = line
            break
    fmt = _json_document(path, first) or detect(path, first)
    if fmt == CSV and _excel_sep(first):
        head[-1] = "\n"  # a blank line: no record, and every later line keeps its number
    if fmt == CSV and CSV not in allowed:
        raise DataError(f"{src}: not JSON Lines (its first line is no JSON object); score a CSV/TSV file with "
                        "--csv/--tsv")
    if fmt not in allowed:
        what = {JSONL: "a JSON Lines file", JSON: "a JSON array",
                FASTTEXT: "a fastText file (__label__CLASS text)"}[fmt]
        texts = (f"sed 's/^__label__[^ ]* *//' {src} | lstmtc-classify" if fmt == FASTTEXT
                 else f"lstmtc-classify --jsonl {src}")
        raise DataError(f"{src}: {what}, and only CSV/TSV is read here; lstmtc-train, lstmtc-evaluate and "
                        f"lstmtc-classify --eval read it as labelled data; to classify its texts: {texts}")
    return fmt, chain(head, lines), first


def refuse_as_lines(path, way_out: str | None = None) -> None:
    """Line input named ``.jsonl``: each line would be read as its raw JSON, keys and all.
    ``way_out``: how to pass the text instead (default: lstmtc-classify's)."""
    if _name(path).endswith(JSONL_SUFFIXES):
        way_out = way_out or f"score it with lstmtc-classify --jsonl {path} (--eval for labelled data)"
        raise DataError(f"{path}: JSON Lines: each line would be read as raw JSON, keys and all; {way_out}")


def items(fmt: str, lines: Iterator[str], src: str) -> Iterator[tuple[int, object]]:
    """(line, value) of each item of a JSON Lines file or JSON array."""
    return _json_lines(lines, src) if fmt == JSONL else _json_array(lines, src)


def parse(fmt: str, lines: Iterator[str], src: str) -> Iterator[tuple[int, list]]:
    """(line, fields) of a JSON Lines, JSON array or fastText file, the header first (line of the first record)."""
    if fmt == FASTTEXT:
        return _fasttext(lines, src)
    return _objects(items(fmt, lines, src), src)


def _json_lines(lines: Iterator[str], src: str) -> Iterator[tuple[int, object]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as e:
            raise DataError(f"{src}:{number}: not valid JSON ({getattr(e, 'msg', e)}); each line of a JSON Lines file "
                            "holds one object") from None


_JSON_SPACE = re.compile(r"[ \t\r\n]*")  # JSON's insignificant whitespace


def _json_array(lines: Iterator[str], src: str) -> Iterator[tuple[int, object]]:
    """The items of one JSON array, each with the line it starts on (the array is read whole: a
    document, unlike JSON Lines, cannot be split into rows before it is parsed)."""
    text = "".join(lines)
    decoder = json.JSONDecoder()
    at, line, counted = text.index("[") + 1, 1, 0

    def fail(what: str) -> DataError:
        return DataError(f"{src}:{line + text.count(chr(10), counted, at)}: {what}")

    while True:
        at = _JSON_SPACE.match(text, at).end()
        if text.startswith("]", at):
            return
        line, counted = line + text.count("\n", counted, at), at
        try:
            item, at = decoder.raw_decode(text, at)
        except ValueError as e:
            raise fail(f"not valid JSON ({getattr(e, 'msg', e)})") from None
        yield line, item
        at = _JSON_SPACE.match(text, at).end()
        if text.startswith(",", at):
            at += 1
        elif not text.startswith("]", at):
            raise fail("the array's items must be separated by ',' and the array closed with ']'")


def _objects(items: Iterator[tuple[int, object]], src: str) -> Iterator[tuple[int, list]]:
    """Rows of JSON objects: the first object's keys are the header; later objects' values by those keys."""
    keys: list[str] | None = None
    for number, obj in items:
        check_object(obj, src, number)
        if keys is None:
            keys = list(obj)
            yield number, keys
        yield number, [obj.get(k, MISSING) for k in keys]


def check_object(obj, src: str, number: int) -> None:
    """A JSON row must be an object (training and scoring alike)."""
    if not isinstance(obj, dict):
        raise DataError(f"{src}:{number}: a JSON {_kind(obj)} where each row should be an object such as "
                        '{"text": "...", ...}')


def _fasttext(lines: Iterator[str], src: str) -> Iterator[tuple[int, list]]:
    header_sent = False
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        m = _FASTTEXT_LINE.fullmatch(text)
        if m is None:
            raise DataError(f"{src}:{number}: no {LABEL_PREFIX} at the start of the line; each line of a fastText "
                            f"file is {LABEL_PREFIX}CLASS followed by the text")
        labels = m.group(1).split()
        if len(labels) > 1:
            raise DataError(f"{src}:{number}: {len(labels)} labels ({', '.join(labels)}); lstmtc trains one label "
                            "per text: keep one on each line")
        if not header_sent:
            header_sent = True
            yield number, FASTTEXT_HEADER
        yield number, [labels[0][len(LABEL_PREFIX):], m.group(2)]


def _kind(value) -> str:
    return {list: "list", dict: "object", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def cells(rows: Iterator[tuple[int, list]], used: dict[str, tuple[int, str]],
          src: str) -> Iterator[tuple[int, list[str]]]:
    """Rows of JSON values as rows of text: ``used`` maps each role (label, text, title) to its column
    and key; those columns go through ``cell``. Columns not read become empty strings."""
    for line, row in rows:
        out = [""] * len(row)
        for role, (i, key) in used.items():
            out[i] = cell(row[i], role, key, src, line)
        yield line, out


def cell(value, role: str, key: str, src: str, line: int) -> str:
    """A JSON value that is read as the label, text or title, as text: a string as it is, a number
    or boolean as its JSON text, null as empty; a missing key, a list or an object is an error."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is MISSING:
        raise DataError(f"{src}:{line}: no key {key!r}, which the first object has and holds the {role}")
    if isinstance(value, (list, dict)):
        why = "lstmtc trains one label per text" if role == "label" else f"the {role} must be a string"
        raise DataError(f"{src}:{line}: {key!r} is a JSON {_kind(value)}; {why}")
    return json.dumps(value)
