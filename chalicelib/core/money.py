"""Money as integer minor units plus an ISO 4217 currency; "89.00" on the wire."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# The only accepted form: no sign, no leading zeros, exactly two decimals, at most 10 integer digits.
AMOUNT = re.compile(r"(0|[1-9][0-9]{0,9})\.([0-9]{2})")


@dataclass(frozen=True)
class Money:
    """An amount in minor units (cents) of a currency with two decimals."""

    minor: int
    currency: str

    def __str__(self) -> str:
        return f"{format_minor(self.minor)} {self.currency}"


def parse_amount(text: str) -> int:
    """Parse "89.00" into 8900; raise ValueError for anything else (no floats, no signs)."""
    match = AMOUNT.fullmatch(text)
    if not match:
        raise ValueError("amount must be a decimal string with exactly two decimals, e.g. \"89.00\"")
    return int(match.group(1)) * 100 + int(match.group(2))


def format_minor(minor: int) -> str:
    """Format 8900 as "89.00"."""
    if minor < 0:
        return "-" + format_minor(-minor)
    return f"{minor // 100}.{minor % 100:02d}"


def format_grouped(minor: int, currency: str | None = None) -> str:
    """Format for people: 2496450 as "24,964.50", with a currency "PKR 24,964.50"."""
    sign, minor = ("-", -minor) if minor < 0 else ("", minor)
    text = f"{sign}{minor // 100:,}.{minor % 100:02d}"
    return f"{currency} {text}" if currency else text


# Currencies -------------------------------------------------------------------------------------

INVOICE_CURRENCY = "USD"  # of every plan and pack, and so of every invoice and balance

# ISO 4217 minor units of the currencies the catalog's methods use. Every one has two decimals, so
# one wire format ("24964.50") serves all; a currency with other minor units would need its own.
MINOR_UNITS = {"USD": 2, "PKR": 2, "INR": 2, "BDT": 2, "AED": 2, "GBP": 2, "EUR": 2}
# A rate: units of a currency per 1 unit of the invoice's, up to 6 decimals, positive.
RATE = re.compile(r"(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?")


def parse_rate(text: str) -> Decimal:
    """Parse "280.50" into Decimal("280.50"); raise ValueError for anything else or zero."""
    if not isinstance(text, str) or not RATE.fullmatch(text):
        raise ValueError("rate must be a decimal string with at most 6 decimals, e.g. \"280.50\"")
    rate = Decimal(text)
    if rate <= 0:
        raise ValueError("rate must be more than 0")
    return rate


def convert(minor: int, rate: Decimal) -> int:
    """Minor units of the invoice currency in another currency (both with two decimals), rounded
    half-up to that currency's minor unit: the one rounding of a quote."""
    return int((Decimal(minor) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def convert_back(local_minor: int, rate: Decimal) -> int:
    """Minor units of another currency in the invoice currency, half-up to the cent."""
    return int((Decimal(local_minor) / rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
