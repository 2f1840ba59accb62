"""The pieces every table is built from: the shared Meta, integer numbers, plain maps."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    NumberAttribute,
)


class IntegerAttribute(NumberAttribute):
    """A number that is always a Python int: money in minor units, credits, counters."""

    def serialize(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"IntegerAttribute takes an int, not {type(value).__name__}")
        return str(value)

    def deserialize(self, value: str) -> int:
        number = Decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"IntegerAttribute holds a fraction: {value}")
        return int(number)


class TableMeta:
    """Common Meta: bound to real values by `tables.bind()`."""

    table_name = "unbound"
    region = "us-east-1"
    host = None


def plain(value: Any) -> dict[str, Any]:
    """A map attribute (or None) as a plain dict."""
    return value.as_dict() if hasattr(value, "as_dict") else dict(value or {})
