"""Subscription periods: calendar months from the anchor (the first approval), clamped to the
month's length, each counted from the anchor so that the anchor never moves."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.billing import payments
from chalicelib.billing.periods import add_months, period
from chalicelib.storage.models.billing import SubscriptionModel
from tests.conftest import Api, PaidSignup

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("anchor,months,expected", [
    ("2027-01-31T10:15:00", 1, "2027-02-28T10:15:00"),  # a day February lacks is clamped
    ("2027-01-31T10:15:00", 2, "2027-03-31T10:15:00"),  # and comes back: counted from the anchor
    ("2028-01-31T00:00:00", 1, "2028-02-29T00:00:00"),  # a leap year's February
    ("2027-12-15T23:59:59", 1, "2028-01-15T23:59:59"),  # across a year
    ("2027-03-31T08:00:00", 13, "2028-04-30T08:00:00"),
    ("2027-05-01T00:00:00", 0, "2027-05-01T00:00:00"),
])
def test_add_months_clamps_the_day_and_keeps_the_time(anchor: str, months: int, expected: str) -> None:
    assert add_months(at(anchor), months) == at(expected)


def test_fourteen_periods_are_contiguous_and_never_drift_from_the_anchor() -> None:
    # Given an anchor on the 31st
    anchor = at("2027-01-31T09:30:00")
    periods = [period(anchor, n) for n in range(14)]
    # Then each period starts where the one before ended, and each starts on the anchor's day
    # wherever the month has it (chaining Feb 28 + 1 month would drift to the 28th for good)
    assert all(periods[n][1] == periods[n + 1][0] for n in range(13))
    starts = [start.day for start, _ in periods]
    assert starts == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 29]
    assert all(start.time() == anchor.time() for start, _ in periods)


def test_the_first_approval_on_the_31st_pays_until_the_end_of_february(
        api: Api, paid_signup: PaidSignup, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a payment awaiting approval, and the clock at Jan 31 2027 10:15 UTC
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    monkeypatch.setattr(payments, "now", lambda: at("2027-01-31T10:15:00"))
    # When the admin approves it
    reply = api.approve(api.admin_token(), payment)
    # Then the first period is one calendar month, clamped: Jan 31 to Feb 28 (not 30 days: Mar 2)
    assert reply.status == 200, reply.body
    subscription = SubscriptionModel.get(paid_signup.subscription_id)
    assert subscription.status == "active"
    assert subscription.current_period_start.startswith("2027-01-31T10:15:00")
    assert subscription.current_period_end.startswith("2027-02-28T10:15:00")
    assert reply.body["subscription"]["current_period_end"] == "2027-02-28T10:15:00Z"
