"""The monthly summary: MRR, subscriptions, invoiced and collected money (by method and country),
decisions and how long they took, read from the aggregates the transactions keep
(chalicelib.reports.aggregates), never by a Scan.

Reads: one Query of the running totals and one per month from `from` to the current month (at
most 25), whatever the number of payments. MRR and active subscriptions at a month's end are the
running totals less the changes made in the months after it. Percentiles of the hours to a decision
come from the month's histogram: the bucket holding the decision of that rank, interpolated
linearly inside it at the rank's middle (so within one bucket of the exact value); null in a month without decisions.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

from chalicelib.core.clock import now
from chalicelib.core.errors import Invalid
from chalicelib.core.money import format_minor
from chalicelib.reports.aggregates import ALL, COUNTRY, METHOD, TOTALS
from chalicelib.storage import store
from chalicelib.storage.models.reports import FIGURES, HISTOGRAM, HISTOGRAM_BOUNDS, ReportAggregateModel

CURRENCY = "USD"
MONTHS_BACK = 24  # the oldest month a summary may start at: this many before the current one
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_TOP_BUCKET_SPAN = 168  # hours: the last bucket (over 168 h) is read as 168 to 336 h


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:]) - 1


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _parse(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not _MONTH.match(raw):
        raise Invalid(f"`{name}` is a month, YYYY-MM.", code="validation_failed",
                      details={"fields": {name: "must be YYYY-MM"}})
    return _index(raw)


def months(raw_from: str | None, raw_to: str | None) -> tuple[int, int, int]:
    """(from, to, current) as month indexes; 422 for a bad range."""
    current = _index(now().strftime("%Y-%m"))
    to = _parse("to", raw_to, current)
    start = _parse("from", raw_from, to - 11)
    problems = {}
    if to > current:
        problems["to"] = "must not be after the current month"
    if start < current - MONTHS_BACK:
        problems["from"] = f"must be at most {MONTHS_BACK} months back"
    if start > to:
        problems["from"] = "must not be after `to`"
    if problems:
        raise Invalid("This range of months cannot be reported.", code="validation_failed",
                      details={"fields": problems})
    return start, to, current


class Month:
    """One month's figures, summed over its shards."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = defaultdict(int)
        self.by_method: dict[str, int] = defaultdict(int)
        self.by_country: dict[str, int] = defaultdict(int)

    def add(self, item: ReportAggregateModel) -> None:
        key = item.slot.rsplit("#", 1)[0]
        if key == TOTALS:
            for name in FIGURES:
                self.totals[name] += getattr(item, name) or 0
        elif key.startswith(METHOD + "#"):
            self.by_method[key.split("#", 1)[1]] += item.collected_minor or 0
        elif key.startswith(COUNTRY + "#"):
            self.by_country[key.split("#", 1)[1]] += item.collected_minor or 0


def read(month: str) -> Month:
    found = Month()
    with store.guard():
        for item in ReportAggregateModel.query(month, consistent_read=True):
            found.add(item)
    return found


def percentile(histogram: list[int], q: float) -> float | None:
    """The q-th quantile (0 < q <= 1) of the hours in the histogram, interpolated in its bucket."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for n, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = HISTOGRAM_BOUNDS[n - 1] if n else 0
            high = HISTOGRAM_BOUNDS[n] if n < len(HISTOGRAM_BOUNDS) else low + _TOP_BUCKET_SPAN
            return round(low + (high - low) * (rank - seen - 0.5) / count, 1)  # mid-rank in it
        seen += count
    return None  # pragma: no cover - the ranks add up to the total


def _money(by: dict[str, int]) -> dict[str, str]:
    return {key: format_minor(value) for key, value in sorted(by.items()) if value}


def summary(raw_from: str | None, raw_to: str | None) -> dict[str, Any]:
    start, to, current = months(raw_from, raw_to)
    running = read(ALL).totals
    mrr, active = running["mrr_minor"], running["active"]
    found: dict[int, Month] = {}
    ends: dict[int, tuple[int, int]] = {}  # MRR and active subscriptions at each month's end
    for index in range(current, start - 1, -1):  # newest first: undo each month's changes
        found[index] = month = read(_month(index))
        ends[index] = (mrr, active)
        mrr -= month.totals["mrr_minor"]
        active -= month.totals["active"]
    out = []
    for index in range(start, to + 1):
        month = found[index]
        figures = month.totals
        histogram = [figures[name] for name in HISTOGRAM]
        end_mrr, end_active = ends[index]
        out.append({
            "month": _month(index), "mrr": format_minor(end_mrr), "active_subscriptions": end_active,
            "new_subscriptions": figures["new_subscriptions"], "churned": figures["churned"],
            "invoiced": format_minor(figures["invoiced_minor"]),
            "collected": format_minor(figures["collected_minor"]),
            "collected_by_method": _money(month.by_method),
            "collected_by_country": _money(month.by_country),
            "approvals": figures["approvals"], "rejections": figures["rejections"],
            "reversals": figures["reversals"],
            "median_hours_to_decision": percentile(histogram, 0.5),
            "p90_hours_to_decision": percentile(histogram, 0.9),
            "decisions_by_hours": histogram})
    return {"currency": CURRENCY, "months": out}
