"""A parsed statement and its lines; exact amounts in minor units; the errors a bad file gets."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from chalicelib.core.errors import Invalid
from chalicelib.core.money import MINOR_UNITS

FORMATS = ("csv", "mt940", "camt053")
MAX_BYTES = 4 * 1024 * 1024
EXPECTED = ("a CSV file with a header row (a date, and an amount or credit and debit columns), a "
            "SWIFT MT940 file (:20:, :25:, :60F:, :61:, :86:, :62F: lines) or an ISO 20022 "
            "camt.053 XML document")

# ISO 4217 currencies whose minor unit is not 2. A statement may hold any currency; every one the
# product uses has 2 (core.money.MINOR_UNITS), and so has any other code not named here.
_OTHER_EXPONENTS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                     "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_MINOR = 10**15  # no line moves a quadrillion minor units; past this a file is wrong
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One booked entry: money in (positive) or out (negative) on one day."""

    booked_at: date
    amount_minor: int  # negative for a debit
    currency: str
    description: str  # the remittance text on one line: wrapped lines joined with a space
    raw: str = ""  # the same text as the file has it, line breaks kept
    counterparty: str | None = None  # the payer of a credit, the payee of a debit
    bank_reference: str | None = None  # the bank's own reference, or the end-to-end id
    reference: str | None = None  # the structured (creditor) reference, when the file has one
    account: str | None = None  # the statement's account: an IBAN or an account number


@dataclass(frozen=True, slots=True)
class Statement:
    """A whole file: its format, its account and currency when it has one of each, its lines."""

    format: str
    account: str | None
    currency: str | None
    lines: list[Line]


def statement(format: str, lines: list[Line], accounts: Iterable[str | None] = (),
              currencies: Iterable[str | None] = ()) -> Statement:
    """The statement of `lines`; its account and currency are those of every statement in the file
    and every line when there is just one (a file of several accounts or currencies has None)."""
    return Statement(format, _only({*accounts, *(line.account for line in lines)}),
                     _only({*currencies, *(line.currency for line in lines)}), lines)


def _only(values: set[str | None]) -> str | None:
    values.discard(None)
    return values.pop() if len(values) == 1 else None


# Errors -----------------------------------------------------------------------------------------

def invalid(message: str, **where: Any) -> Invalid:
    """422 `statement_invalid`: the file is of a known format but something in it is wrong;
    `where` (line=..., or element=...) says where, for the caller's details."""
    return Invalid(message, code="statement_invalid", details=where)


def unknown_format(message: str) -> Invalid:
    """422 `statement_format_unknown`: empty, binary, or in none of the formats."""
    return Invalid(f"{message} Expected {EXPECTED}.", code="statement_format_unknown",
                   details={"formats": list(FORMATS)})


# Money and text ---------------------------------------------------------------------------------

def currency_code(text: str) -> str:
    """A three-letter ISO 4217 code in upper case; ValueError for anything else."""
    code = text.strip().upper()
    if not _CURRENCY.fullmatch(code):
        raise ValueError(f"{text.strip()!r} is not a currency code (three letters, e.g. EUR)")
    return code


def exponent(currency: str) -> int:
    """How many decimals the currency's minor unit has (2 for every currency the product uses)."""
    return MINOR_UNITS.get(currency, _OTHER_EXPONENTS.get(currency, 2))


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact integer minor units of `amount`; ValueError when it needs more decimals than the
    currency has (12.345 EUR): nothing is ever rounded. Trailing zeros (12.340) are fine."""
    if not amount.is_finite():
        raise ValueError(f"{amount} is not an amount")
    places = exponent(currency)
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} has ({places})")
    if abs(scaled) >= MAX_MINOR:
        raise ValueError(f"{amount} {currency} is too large an amount for a statement line")
    return int(scaled)


def one_line(text: str) -> str:
    """Every run of white space (line breaks too) as one space, trimmed."""
    return _SPACES.sub(" ", text).strip()


def optional(text: str | None, *nothing: str) -> str | None:
    """`text` on one line, or None when it is blank or one of `nothing` (e.g. NONREF)."""
    if text is None:
        return None
    value = one_line(text)
    return value if value and value.upper() not in nothing else None
