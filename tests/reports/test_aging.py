"""The aging report: unpaid invoices (pending, partially paid) by whole days past due, as of now
(`clock.travel`), counted and summed per bucket from the open-invoices index (no Scan); the 20
oldest listed; for viewers and above."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.billing import jobs
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.money import parse_amount
from chalicelib.reports import aging
from chalicelib.storage.models.billing import InvoiceModel, amount_due
from tests.conftest import BILLING_PK, Api, stored_items
from tests.helpers import assert_error

AGING = "/api/v1/billing/admin/reports/aging"
UTC = timezone.utc
T0 = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # "now" of the report
DAY = timedelta(days=1)
# Signups k days before T0 (due 7 days after signup): days past due at T0 is k - 7 (0 if less).
SIGNED_UP_DAYS_AGO = {0: 0, 7: 0, 8: 1, 14: 7, 15: 8, 37: 30, 38: 31, 67: 60, 68: 61, 100: 93}


def _register(api: Api, email: str, at: datetime, name: str) -> dict[str, Any]:
    with clock.travel(at):
        reply = api.register(email, plan="starter", payment_method="bank_transfer",
                             account_name=name, billing={**BILLING_PK, "billing_name": f"{name} Ltd",
                                                         "billing_email": f"billing@{email.split('@')[1]}"})
    assert reply.status == 201, reply.body
    return reply.body


def _report(api: Api, token: str, at: datetime = T0) -> dict[str, Any]:
    with clock.travel(at):
        reply = api.get(AGING, token=token)
    assert reply.status == 200, reply.body
    return reply.body


@pytest.fixture
def book(api: Api) -> dict[str, Any]:
    """Unpaid invoices due at many distances from T0, a partly paid one, a renewal the jobs
    issued, and paid ones (which are not in the report)."""
    admin = api.admin_token()
    # A subscription approved 40 days before T0, whose renewal the jobs issue 7 days before its
    # period ends (due when the next period starts: 2026-06-06, 9 days before T0)
    renewed = _register(api, "renewed@example.com", T0 - 40 * DAY, "Renewed")
    with clock.travel(T0 - 40 * DAY):
        payment = api.confirm(renewed["access_token"], renewed["invoice"]["id"]).body["id"]
        assert api.approve(admin, payment).status == 200
    jobs.run(datetime(2026, 5, 30, 13, 0, tzinfo=UTC))
    [renewal] = [i for i in InvoiceModel.scan() if i.kind == "renewal"]
    assert (renewal.due_date, renewal.status) == ("2026-06-06", "pending")
    signups = {days: _register(api, f"k{days}@example.com", T0 - days * DAY, f"Account {days}")
               for days in SIGNED_UP_DAYS_AGO}
    # One paid in part 20 days before T0 (49.00 still due, 13 days past due), one paid in full
    partial = _register(api, "partial@example.com", T0 - 20 * DAY, "Partial")
    paid = _register(api, "paid@example.com", T0 - 50 * DAY, "Paid")
    with clock.travel(T0 - 19 * DAY):
        part = api.confirm(partial["access_token"], partial["invoice"]["id"], amount="40.00",
                           partial=True)
        assert part.status == 201, part.body
        assert api.approve(admin, part.body["id"]).status == 200
        full = api.confirm(paid["access_token"], paid["invoice"]["id"]).body["id"]
        assert api.approve(admin, full).status == 200
    assert InvoiceModel.get(partial["invoice"]["id"]).status == "partially_paid"
    return {"admin": admin, "renewal": renewal.invoice_id, "signups": signups,
            "partial": partial["invoice"]["id"], "paid": paid["invoice"]["id"]}


def _recomputed(today: date) -> dict[str, list[int]]:
    """Count and amount due per bucket, straight from the stored invoices."""
    totals = {name: [0, 0] for name, _, _ in aging.BUCKETS}
    for raw in stored_items(InvoiceModel):
        invoice = InvoiceModel.from_raw_data(raw)
        if invoice.status in ("pending", "partially_paid"):
            days = max(0, (today - date.fromisoformat(invoice.due_date)).days)
            bucket = next(n for n, low, high in aging.BUCKETS if low <= days and (high is None or days <= high))
            totals[bucket][0] += 1
            totals[bucket][1] += amount_due(invoice)
    return totals


def test_the_buckets_count_and_sum_the_unpaid_invoices_by_days_past_due(
        api: Api, book: dict[str, Any], ddb_calls: list[str]) -> None:
    ddb_calls.clear()
    report = _report(api, book["admin"])
    # Read from the open-invoices index, every shard, and the oldest's accounts in one batch
    assert "Scan" not in ddb_calls
    assert ddb_calls.count("Query") == get_settings().index_shards and ddb_calls.count("BatchGetItem") == 1
    # Then the buckets are exactly these: 11 signups unpaid (10 + the part paid) and the renewal
    assert report["as_of"] == "2026-06-15T12:00:00Z" and report["currency"] == "USD"
    buckets = {b["bucket"]: (b["count"], b["amount_due"]) for b in report["buckets"]}
    assert list(buckets) == ["current", "1-7", "8-30", "31-60", "61+"]
    assert buckets == {"current": (2, "178.00"), "1-7": (2, "178.00"),
                       "8-30": (4, "316.00"),  # 8 and 30 days, the renewal (9), the part paid (49.00)
                       "31-60": (2, "178.00"), "61+": (2, "178.00")}
    assert report["total"] == {"count": 12, "amount_due": "1028.00"}
    # And they are what the stored invoices say
    assert {name: [count, parse_amount(due)] for name, (count, due) in buckets.items()} == \
        _recomputed(T0.date())


def test_the_oldest_come_first_with_what_the_invoice_holds(api: Api, book: dict[str, Any]) -> None:
    oldest = _report(api, book["admin"])["oldest"]
    # Every unpaid invoice (12, fewer than 20), by due date; none of the paid ones
    open_ = [InvoiceModel.from_raw_data(raw) for raw in stored_items(InvoiceModel)]
    open_ = sorted((i for i in open_ if i.status in ("pending", "partially_paid")),
                   key=lambda i: (i.due_date, i.created_at, i.invoice_id))
    assert [item["id"] for item in oldest] == [i.invoice_id for i in open_]
    assert book["paid"] not in {item["id"] for item in oldest}
    assert [item["due_date"] for item in oldest] == sorted(item["due_date"] for item in oldest)
    first = oldest[0]
    signup = book["signups"][100]
    assert first == {
        "id": signup["invoice"]["id"], "invoice_number": signup["invoice"]["invoice_number"],
        "account_id": signup["account"]["id"], "account_name": "Account 100",
        "billing_name": "Account 100 Ltd", "billing_email": "billing@example.com", "kind": "signup",
        "status": "pending", "amount_due": "89.00", "currency": "USD",
        "due_date": (T0 - 93 * DAY).date().isoformat(), "days_past_due": 93, "bucket": "61+"}
    by_id = {item["id"]: item for item in oldest}
    assert by_id[book["partial"]]["amount_due"] == "49.00"
    assert by_id[book["partial"]]["status"] == "partially_paid"
    assert (by_id[book["renewal"]]["kind"], by_id[book["renewal"]]["days_past_due"]) == ("renewal", 9)
    for days_ago, days in SIGNED_UP_DAYS_AGO.items():
        assert by_id[book["signups"][days_ago]["invoice"]["id"]]["days_past_due"] == days


def test_only_the_20_oldest_are_listed(api: Api) -> None:
    # Given 23 unpaid invoices, each due a day before the next
    made = [_register(api, f"n{n}@example.com", T0 - (60 - n) * DAY, f"N{n}")["invoice"]["id"]
            for n in range(23)]
    oldest = _report(api, api.admin_token())["oldest"]
    assert [item["id"] for item in oldest] == made[:20]
    assert sum(b["count"] for b in _report(api, api.admin_token())["buckets"]) == 23


def test_an_invoice_is_past_due_from_the_utc_midnight_after_its_due_date(api: Api) -> None:
    invoice = _register(api, "edge@example.com", T0, "Edge")["invoice"]
    due = date.fromisoformat(invoice["due_date"])
    end_of_due_day = datetime(due.year, due.month, due.day, 23, 59, 59, tzinfo=UTC)
    admin = api.admin_token()

    def where(at: datetime) -> tuple[str, int]:
        item = _report(api, admin, at)["oldest"][0]
        return item["bucket"], item["days_past_due"]

    assert where(end_of_due_day) == ("current", 0)
    assert where(end_of_due_day + timedelta(seconds=1)) == ("1-7", 1)
    assert where(end_of_due_day + 7 * DAY) == ("1-7", 7)
    assert where(end_of_due_day + 7 * DAY + timedelta(seconds=1)) == ("8-30", 8)
    # A time given in another zone counts by its UTC date
    pkt = timezone(timedelta(hours=5))
    assert where((end_of_due_day + timedelta(seconds=1)).astimezone(pkt)) == ("1-7", 1)


@pytest.mark.parametrize("days, bucket", [
    (0, "current"), (1, "1-7"), (7, "1-7"), (8, "8-30"), (30, "8-30"), (31, "31-60"), (60, "31-60"),
    (61, "61+"), (400, "61+")])
def test_each_day_has_one_bucket(days: int, bucket: str) -> None:
    assert aging.bucket_of(days) == bucket
    assert aging.days_past_due((date(2026, 6, 15) - timedelta(days=days)).isoformat(),
                               date(2026, 6, 15)) == days
    assert aging.days_past_due("2026-06-20", date(2026, 6, 15)) == 0


def test_an_empty_book_has_five_empty_buckets(api: Api) -> None:
    report = _report(api, api.admin_token())
    assert report["buckets"] == [{"bucket": name, "count": 0, "amount_due": "0.00"}
                                 for name, _, _ in aging.BUCKETS]
    assert report["total"] == {"count": 0, "amount_due": "0.00"} and report["oldest"] == []


def test_viewers_may_read_it_users_may_not(api: Api, role_token: Callable[[str], str]) -> None:
    viewer = role_token("viewer")
    assert api.get(AGING, token=viewer).status == 200
    user = api.register("someone@example.com").body["access_token"]
    assert_error(api.get(AGING, token=user), 403, "forbidden")
    assert_error(api.get(AGING), 401)
