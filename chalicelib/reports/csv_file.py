"""CSV files as the exports write them: RFC 4180, UTF-8, safe to open in a spreadsheet.

RFC 4180: a header row, CRLF after every row, a field quoted when it holds a comma, a double quote
or a line break (and a double quote inside doubled); written by Python's csv module. No byte-order
mark: the file starts with the header's first name.

Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`, `+`,
`-` or `@` (and some with a tab or a carriage return first) as a formula, e.g. a customer whose
name is `=HYPERLINK("http://x", "click")`. Every such cell is written with a `'` before it, which
spreadsheets show as text and never run: `'=HYPERLINK(...)`, `'+1-2`, `'-look`. The one exception
is a cell that is exactly a decimal number (`-5.00`, `-100`, `89.00`): a spreadsheet reads it as
that number, never as a formula, so it stays a plain number for sums, whoever wrote it (a negative
amount the product wrote, a reference that happens to be `-12`). `-1+2`, `-5e3`, `+5` or `- 5`
are not such numbers and are prefixed.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

Cell = str | int | None
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def cell(value: Cell) -> str:
    """One value as its cell's text: None empty, numbers as written, and a `'` before text that a
    spreadsheet would run as a formula (see the module's rule)."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def render(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> tuple[str, int]:
    """The CSV text of a header and its rows, and how many rows it holds."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([cell(value) for value in row])
        count += 1
    return out.getvalue(), count
