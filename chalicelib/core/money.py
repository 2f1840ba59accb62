"""Money as integer minor units plus an ISO 4217 currency; "89.00" on the wire."""
from __future__ import annotations

import re
from dataclasses import dataclass

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
