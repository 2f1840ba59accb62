"""Read a statement file: refuse what is too large, empty or binary, find its format (from its
content first, its name's extension as a hint), and hand it to that format's reader, which is
imported only then (the MT940 and XML libraries load on the first file that needs them)."""
from __future__ import annotations

import re
import unicodedata
from importlib import import_module
from pathlib import PurePosixPath

from chalicelib.core.errors import Invalid, PayloadTooLarge
from chalicelib.statements.model import FORMATS, MAX_BYTES, Statement, unknown_format

_READERS = {"csv": "chalicelib.statements.csv_format",
            "mt940": "chalicelib.statements.mt940_format",
            "camt053": "chalicelib.statements.camt053_format"}
_EXTENSIONS = {".csv": "csv", ".tsv": "csv",
               ".sta": "mt940", ".mt940": "mt940", ".940": "mt940", ".swi": "mt940",
               ".xml": "camt053", ".053": "camt053", ".camt": "camt053"}
# Lines that open an MT940 field: two of them (say :20: and :25:) make a file MT940.
_MT940_TAG = re.compile(r"^:(20|21|25|28C?|60[FM]?|61|62[FM]?|64|65|86):", re.MULTILINE)
_BOMS = (("utf-16", (b"\xff\xfe", b"\xfe\xff")), ("utf-8-sig", (b"\xef\xbb\xbf",)))
_SAMPLE = 65536
_MAX_CONTROL_SHARE = 0.01


def parse(filename: str, data: bytes, format: str | None = None) -> Statement:
    """The statement in `data` (a file named `filename`), in `format` or the one detected.

    413 `statement_too_large` over 4 MB; 422 `statement_format_unknown` for an empty or binary
    file or one in no known format; 422 `statement_invalid` (naming the line or element) for a
    file of a known format with something wrong in it.
    """
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"The file is {len(data):,} bytes; a statement may be at most "
                              f"{MAX_BYTES // (1024 * 1024)} MB ({MAX_BYTES:,} bytes).",
                              code="statement_too_large",
                              details={"size": len(data), "limit": MAX_BYTES})
    if format is not None and format not in FORMATS:
        raise Invalid(f"There is no statement format {format!r}: it is one of "
                      f"{', '.join(FORMATS)}, or left out to detect it.",
                      code="statement_format_unknown", details={"formats": list(FORMATS)})
    text = decode(data)
    chosen = format or detect(filename, text)
    reader = import_module(_READERS[chosen])
    return reader.parse(data if chosen == "camt053" else text)


def decode(data: bytes) -> str:
    """The file as text (UTF-8, UTF-16 with its byte order mark, else Windows-1252, else
    Latin-1); 422 `statement_format_unknown` when it is empty or binary."""
    for encoding, marks in _BOMS:
        if data.startswith(marks):
            text = data.decode(encoding, errors="replace")
            break
    else:
        if b"\x00" in data[:_SAMPLE]:
            raise unknown_format("The file is binary (it holds NUL bytes), not a statement.")
        text = _decode_8bit(data)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise unknown_format("The file is empty.")
    sample = text[:_SAMPLE]
    control = sum(1 for char in sample
                  if char not in "\t\n\r" and unicodedata.category(char) == "Cc")
    if control > _MAX_CONTROL_SHARE * len(sample):
        raise unknown_format(f"The file is binary ({control} control characters in its first "
                             f"{len(sample):,}), not a statement.")
    return text


def _decode_8bit(data: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def detect(filename: str, text: str) -> str:
    """The format of `text`: XML is camt.053, two MT940 field tags at line starts are MT940, a
    header row naming a date column is CSV; else the extension of `filename` decides, and then
    that format's reader says what is wrong. 422 `statement_format_unknown` when nothing fits."""
    head = text.lstrip()
    if head.startswith("<"):
        return "camt053"
    if len({match.group(1) for match in _MT940_TAG.finditer(text, 0, _SAMPLE)}) >= 2:
        return "mt940"
    from chalicelib.statements import csv_format

    if csv_format.sniff(text) is not None:
        return "csv"
    hinted = _EXTENSIONS.get(PurePosixPath(filename.replace("\\", "/").lower()).suffix)
    if hinted:
        return hinted
    raise unknown_format(f"The file {filename!r} is in no statement format this service reads.")
