"""Subscription periods: calendar months counted from the subscription's anchor (its first
approval). A day that a month lacks is clamped (Jan 31 -> Feb 28 -> Mar 31), and every period is
counted from the anchor, never from the end of the one before, so the anchor never moves."""
from __future__ import annotations

import calendar
from datetime import datetime


def add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole calendar months, its day clamped to the target month's length."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def period(anchor: datetime, number: int) -> tuple[datetime, datetime]:
    """The start and end of period `number` (0 is the first) of a subscription anchored there."""
    return add_months(anchor, number), add_months(anchor, number + 1)
