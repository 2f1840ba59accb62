"""The cells of a CSV statement: amounts and dates as banks write them.

Amounts: `1,234.50`, `1.234,50`, `1 234,50`, `-12.00`, `12.00-`, `(12.00)`, `12.00 DR`, with or
without a currency sign or code (`£12.00`, `EUR 12.00`, `12,00 €`). The decimal mark is the
file's, not the cell's: a cell with both marks, a mark followed by one, two or four or more digits,
or a mark used twice says which one the file uses; a cell like `1,234` alone says nothing. A file
whose cells say nothing uses `,` when its columns are separated by `;` (the European way), else `.`.
A file whose cells disagree is refused, naming a line of each kind.

Dates: ISO `2026-02-01` (a time after it is ignored), `2026/02/01`, `20260201`, `01.02.2026`,
`01/02/2026`, `01-02-2026` (also with two-digit years, read as 20xx), `1 Feb 2026`. An ambiguous
`01/02/2026` is read day first (1 February), as banks outside the US write it, unless the file
proves otherwise: a date such as `02/13/2026` (no month 13) in the same file makes every slashed
date of it month first. A file with both `13/02/2026` and `02/13/2026` is refused. Dotted dates
are always day first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

CURRENCY_SIGNS = {"£": "GBP", "€": "EUR", "US$": "USD", "$": "USD", "₹": "INR", "৳": "BDT"}
_GROUPING_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'’")
_SIGN = "|".join(re.escape(sign) for sign in sorted(CURRENCY_SIGNS, key=len, reverse=True))
_CODE_OR_SIGN = re.compile(rf"^(?:([A-Z]{{3}})|({_SIGN}))|(?:([A-Z]{{3}})|({_SIGN}))$")
_DEBIT_CREDIT = re.compile(r"(?<=[\d)])(DR|CR)$", re.ASCII)
_NUMBER = re.compile(r"\d[\d.,]*|[.,]\d+", re.ASCII)
_MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], 1) for name in names}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?", re.ASCII)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_DAY_MONTH = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?: \d{1,2}:\d{2}(?::\d{2})?)?",
                        re.ASCII)
_NAMED = re.compile(r"(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ ,-]*(\d{4})", re.ASCII)
DATE_FORMS = "2026-02-01, 01/02/2026, 01.02.2026 or 1 Feb 2026"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount cell taken apart: the number as written, its sign, and the currency it names."""

    number: str
    negative: bool
    currency: str | None


def split_amount(cell: str) -> Money:
    """The number, sign and currency of an amount cell; ValueError when it is not an amount."""
    text = cell.strip().translate(_GROUPING_SPACES).upper()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if match := _DEBIT_CREDIT.search(text):
        negative, text = match.group(1) == "DR", text[:match.start()]
    currency = None
    for _ in range(2):  # a sign may stand on either side of a currency: -£12.00, £-12.00
        text, negative = _strip_sign(text, negative)
        if match := _CODE_OR_SIGN.search(text):
            code = next(group for group in match.groups() if group)
            if currency and CURRENCY_SIGNS.get(code, code) != currency:
                raise ValueError(f"{cell.strip()!r} names two currencies")
            currency = CURRENCY_SIGNS.get(code, code)
            text = text[:match.start()] + text[match.end():]
    text, negative = _strip_sign(text, negative)
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{cell.strip()!r} is not an amount")
    return Money(text, negative, currency)


def _strip_sign(text: str, negative: bool) -> tuple[str, bool]:
    if text and text[0] in "-+":
        return text[1:], negative or text[0] == "-"
    if text and text[-1] in "-+":
        return text[:-1], negative or text[-1] == "-"
    return text, negative


def decimal_mark_of(number: str) -> str | None:
    """The decimal mark `number` proves ("." or ","), or None when it proves none."""
    dots, commas = number.count("."), number.count(",")
    if dots and commas:
        return "." if number.rfind(".") > number.rfind(",") else ","
    if dots + commas == 0:
        return None
    mark = "." if dots else ","
    if dots + commas > 1:  # used twice: a grouping mark, so the other one is the decimal mark
        return "," if mark == "." else "."
    return None if len(number) - number.index(mark) - 1 == 3 else mark


def to_decimal(number: str, mark: str) -> Decimal:
    """`number` read with the decimal mark `mark`; ValueError when its grouping is not in
    threes or it has the mark twice."""
    grouping = "," if mark == "." else "."
    whole, _, fraction = number.partition(mark)
    if mark in fraction:
        raise ValueError(f"{number!r} has the decimal mark {mark!r} twice")
    grouped = rf"\d{{1,3}}(?:{re.escape(grouping)}\d{{3}})+"
    if grouping in whole and not re.fullmatch(grouped, whole):
        raise ValueError(f"{number!r} is not grouped in threes (the file's decimal mark is "
                         f"{mark!r})")
    if grouping in fraction:
        raise ValueError(f"{number!r} has {grouping!r} after its decimal mark {mark!r}")
    return Decimal(f"{whole.replace(grouping, '') or '0'}.{fraction or '0'}")


def day_first_proof(cell: str) -> bool | None:
    """True when a slashed or dashed date can only be day first (13/02/2026), False when only
    month first (02/13/2026), None when it proves neither (or is another form)."""
    match = _DAY_MONTH.fullmatch(cell.strip())
    if not match or match.group(2) == ".":
        return None
    first, second = int(match.group(1)), int(match.group(3))
    if first > 12 >= second:
        return True
    if second > 12 >= first:
        return False
    return None


def to_date(cell: str, day_first: bool = True) -> date:
    """The date in `cell` (see the module's docstring); ValueError when it is not one."""
    text = cell.strip()
    if match := _ISO.fullmatch(text) or _COMPACT.fullmatch(text):
        return _date(text, int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := _DAY_MONTH.fullmatch(text):
        first, second, year = int(match.group(1)), int(match.group(3)), match.group(4)
        day, month = (first, second) if day_first or match.group(2) == "." else (second, first)
        return _date(text, int(year) + (2000 if len(year) == 2 else 0), month, day)
    if (match := _NAMED.fullmatch(text)) and match.group(2).lower() in _MONTHS:
        return _date(text, int(match.group(3)), _MONTHS[match.group(2).lower()],
                     int(match.group(1)))
    raise ValueError(f"{text!r} is not a date (expected {DATE_FORMS})")


def _date(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (no such day)") from None
