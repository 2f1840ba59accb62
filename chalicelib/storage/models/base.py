"""The pieces every table is built from: the shared Meta, integer numbers, plain maps, the month
index."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection


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


class CreatedMonthIndex(GlobalSecondaryIndex[Any]):
    """Every account's items by the month they were made in, in creation order: the admin's
    exports of a date range, without a Scan. `created_month` is `<YYYY-MM>#<n>`, the month of
    `created_at` sharded as `store.spread` shards (INDEX_SHARDS partitions a month, not one); a
    range is read as one Query per month and shard. Written with every new item (invoices,
    payments, both ledgers); `manage.py migrate` gives it to the items written before it."""

    class Meta:
        index_name = "by_created_month"
        projection = AllProjection()

    created_month = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class LedgerMonthIndex(CreatedMonthIndex):
    """The month index of the credit ledger, whose entries are the most numerous writes (one per
    consumption): only what its export shows is projected (not a consumption's kept response)."""

    class Meta:
        index_name = "by_created_month"
        projection = IncludeProjection(["amount", "bucket", "reason", "reference", "actor",
                                        "balance_after", "ordered_at"])
