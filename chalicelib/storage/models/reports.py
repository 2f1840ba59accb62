"""The reports' monthly figures, kept by the transactions that change them (chalicelib.reports)."""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta

HISTOGRAM_BOUNDS = (1, 2, 4, 8, 12, 24, 36, 48, 72, 96, 168)  # hours; the last bucket is above 168
HISTOGRAM = tuple(f"h{n:02d}" for n in range(len(HISTOGRAM_BOUNDS) + 1))


class ReportAggregateModel(Model):
    """One shard of one month's figures (`month` "YYYY-MM", or "all" for the running totals).

    `slot` is `totals#<shard>`, `method#<method>#<shard>` or `country#<code>#<shard>`: each
    transaction adds (DynamoDB `ADD`, so concurrent ones never lose an update) to the items of one
    random shard, and a report sums a month's items, read with one Query. Money is in minor units of
    the reporting currency (USD)."""

    class Meta(TableMeta):
        entity = "report_aggregates"

    month = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)
    invoiced_minor = IntegerAttribute(null=True)
    collected_minor = IntegerAttribute(null=True)
    approvals = IntegerAttribute(null=True)
    rejections = IntegerAttribute(null=True)
    reversals = IntegerAttribute(null=True)
    new_subscriptions = IntegerAttribute(null=True)
    churned = IntegerAttribute(null=True)
    mrr_minor = IntegerAttribute(null=True)  # the change in MRR made in the month (in "all": MRR)
    active = IntegerAttribute(null=True)  # the change in active subscriptions (in "all": how many)
    # Hours from confirmation to decision: how many decisions fell in each bucket (HISTOGRAM_BOUNDS)
    h00 = IntegerAttribute(null=True)
    h01 = IntegerAttribute(null=True)
    h02 = IntegerAttribute(null=True)
    h03 = IntegerAttribute(null=True)
    h04 = IntegerAttribute(null=True)
    h05 = IntegerAttribute(null=True)
    h06 = IntegerAttribute(null=True)
    h07 = IntegerAttribute(null=True)
    h08 = IntegerAttribute(null=True)
    h09 = IntegerAttribute(null=True)
    h10 = IntegerAttribute(null=True)
    h11 = IntegerAttribute(null=True)


FIGURES = ("invoiced_minor", "collected_minor", "approvals", "rejections", "reversals",
           "new_subscriptions", "churned", "mrr_minor", "active", *HISTOGRAM)
