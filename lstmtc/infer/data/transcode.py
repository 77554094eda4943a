"""Input in another encoding than UTF-8, re-encoded as UTF-8 on the way into the reader: a UTF-16 or
UTF-32 input recognised by its byte-order mark, or any codec the user names (``--encoding cp1252``).
Bytes the codec cannot decode come out as invalid UTF-8, so the reader's ``Decoder`` reports (or
replaces) them on their line like any other bad byte."""

from __future__ import annotations

import codecs
from collections.abc import Callable

from ..errors import DataError
from .formats import check_text

# Byte-order marks of the wide encodings, longest first (UTF-32 LE's starts with UTF-16 LE's).
WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
             (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Codecs the reader reads natively (its UTF-8 decoder drops a UTF-8 byte-order mark itself).
NATIVE = ("utf-8", "utf-8-sig")


def check_encoding(name: str) -> str | None:
    """``name``'s codec name, or None for UTF-8 (the reader's own); an unknown name is a DataError."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        info = None
    # hex, base64, rot13, zlib ... are codecs too, but not of text.
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise DataError(f"unknown encoding {name!r}; name a Python codec such as cp1252, latin-1, gbk, "
                        "shift_jis or utf-16")
    return None if info.name in NATIVE else info.name


def _invalid(error: UnicodeDecodeError) -> tuple[str, int]:
    """Error handler of the transcoding decoders: a lone surrogate, which UTF-8 encoding
    (surrogatepass) turns into bytes the UTF-8 Decoder then reports or replaces on their line."""
    return "\udcff", error.end


codecs.register_error("lstmtc-invalid-wide", _invalid)


def utf8_reader(read: Callable[[], bytes], encoding: str | None = None, name: str = "<input>") -> Callable[[], bytes]:
    """``read`` as UTF-8: decoded from ``encoding`` (a codec name as ``check_encoding`` returns it) and
    re-encoded; without one, an input starting with a UTF-16/UTF-32 byte-order mark is decoded as such
    (the mark dropped), one that starts like a binary file is an error naming ``name``
    (``formats.check_text``), and any other input passes unchanged. Invalid input and a truncated
    last character come out as invalid UTF-8."""
    state: dict = {}

    def transcode(codec: str):
        decoder = codecs.getincrementaldecoder(codec)("lstmtc-invalid-wide")
        state["read"] = lambda: convert(decoder, read())
        return decoder

    if encoding is not None:
        transcode(encoding)

    def first() -> bytes:
        head = read()
        # Read on only while the start could still be a wide mark (a live input is not held up).
        while head and len(head) < 4 and any(bom.startswith(head) or head.startswith(bom) for bom, _ in WIDE_BOMS):
            more = read()
            if not more:
                break
            head += more
        wide = next((enc for bom, enc in WIDE_BOMS if head.startswith(bom)), None)
        if wide is None:
            check_text(head, name)
            state["read"] = read
            return head
        return convert(transcode(wide), head)

    def convert(decoder, raw: bytes) -> bytes:
        while True:
            text = decoder.decode(raw, final=not raw)
            if text or not raw:
                return text.encode("utf-8", "surrogatepass")
            raw = read()

    return lambda: state["read"]() if state else first()
