"""The monthly summary after a scripted history of four months: signups, approvals after chosen
waits, a rejection, a partial payment in PKR, renewals paid and unpaid, dunning to a cancellation,
and a reversal. Every figure must equal a recomputation from the items themselves (invoices,
payments, the subscriptions' audit trail, and the subscriptions as they stood at each month's end),
and the aggregates must survive approvals that commit in between each other."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from chalicelib.billing import jobs
from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp
from chalicelib.core.money import format_minor
from chalicelib.reports import aggregates
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.models.records import AuditEventModel
from chalicelib.storage.models.reports import HISTOGRAM_BOUNDS
from ops import integrity
from tests.conftest import Api
from tests.helpers import assert_error, competing_commit, store_unchanged

UTC = timezone.utc
START = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
SUMMARY = "/api/v1/billing/admin/reports/summary"
MONTHS = ["2027-01", "2027-02", "2027-03", "2027-04"]
PAID = ("succeeded", "reversed")


class History:
    """The scripted accounts, acting as of chosen times; the subscriptions at each month's end."""

    def __init__(self, api: Api) -> None:
        self.api, self.admin = api, api.admin_token()
        self.tokens: dict[str, str] = {}
        self.month_ends: dict[str, tuple[int, int]] = {}
        self._n = 0

    def signup(self, email: str, plan: str, method: str, at: datetime) -> str:
        with clock.travel(at):
            body = self.api.register(email, plan=plan, payment_method=method).body
        self.tokens[body["account"]["id"]] = body["access_token"]
        return body["account"]["id"]

    def confirm(self, account_id: str, invoice_id: str, at: datetime, amount: str | None = None,
                **extra: Any) -> str:
        invoice = InvoiceModel.get(invoice_id)
        self._n += 1
        with clock.travel(at):
            reply = self.api.confirm(self.tokens[account_id], invoice_id,
                                     amount=amount or format_minor(invoice.amount_due_minor
                                                                   if invoice.amount_due_minor is not None
                                                                   else invoice.amount_minor),
                                     method=extra.pop("method", invoice.preferred_payment_method),
                                     reference=f"REF-{self._n:04d}", **extra)
        assert reply.status == 201, reply.body
        return reply.body["id"]

    def decide(self, payment_id: str, at: datetime, approve: bool = True) -> None:
        with clock.travel(at):
            reply = (self.api.approve if approve else self.api.reject)(self.admin, payment_id)
        assert reply.status == 200, reply.body

    def pay(self, account_id: str, invoice_id: str, at: datetime, wait: timedelta, **extra: Any) -> str:
        payment = self.confirm(account_id, invoice_id, at, **extra)
        self.decide(payment, at + wait)
        return payment

    def renewal(self, account_id: str) -> str | None:
        open_ = [i for i in InvoiceModel.by_account.query(account_id)
                 if i.kind == "renewal" and i.status in ("pending", "partially_paid")]
        return open_[-1].invoice_id if open_ else None

    def days(self, first: datetime, last: datetime, actions: dict[str, Callable[[], None]]) -> None:
        """Each day at 12:00 the day's action (if any), at 23:00 the jobs; at a month's last day,
        the subscriptions as they stand then."""
        day = first
        while day <= last:
            if day.strftime("%Y-%m-%d") in actions:
                actions[day.strftime("%Y-%m-%d")]()
            with clock.travel(day.replace(hour=23)):
                jobs.run(day.replace(hour=23))
            if (day + DAY).month != day.month:
                prices = {p.slug: p.price_minor for p in PlanModel.scan()}
                counted = [s for s in SubscriptionModel.scan() if s.status in ("active", "past_due")]
                self.month_ends[day.strftime("%Y-%m")] = (sum(prices[s.plan] for s in counted),
                                                          len(counted))
            day += DAY


def _script(api: Api) -> History:
    h = History(api)
    with clock.travel(START):
        assert api.request("PUT", "/api/v1/billing/admin/fx-rates/PKR", body={"rate": "280.50"},
                           token=h.admin).status == 200
    a = h.signup("a@khan.pk", "starter", "bank_transfer", START)
    b = h.signup("b@khan.pk", "growth", "bank_transfer", START + DAY)
    c = h.signup("c@khan.pk", "scale", "jazzcash", START + 2 * DAY)

    def first(account_id: str) -> str:
        return next(i.invoice_id for i in InvoiceModel.by_account.query(account_id))

    def january() -> None:
        h.pay(a, first(a), START + HOUR, 3 * HOUR)  # 3 h
        rejected = h.confirm(b, first(b), START + DAY + HOUR)
        h.decide(rejected, START + 2 * DAY + 7 * HOUR, approve=False)  # 30 h
        h.pay(b, first(b), START + 3 * DAY, HOUR)  # 1 h
        h.pay(c, first(c), START + 2 * DAY + HOUR, 2 * HOUR, amount="100000.00", currency="PKR",
              partial=True)  # a part in PKR, 2 h
        h.pay(c, first(c), START + 2 * DAY + 4 * HOUR, 20 * HOUR, currency="USD")  # the rest, 20 h

    state: dict[str, Any] = {}

    def a_renewal() -> None:
        state["a_renewal"] = h.pay(a, h.renewal(a), datetime(2027, 2, 3, 12, tzinfo=UTC), 2 * HOUR)

    def b_renewal() -> None:
        h.pay(b, h.renewal(b), datetime(2027, 2, 4, 12, tzinfo=UTC), 50 * HOUR)

    def reverse() -> None:
        with clock.travel(datetime(2027, 2, 10, 12, tzinfo=UTC)):
            reply = api.post(f"/api/v1/billing/admin/payments/{state['a_renewal']}/reverse",
                             {"reason": "The bank recalled the transfer"}, token=h.admin)
        assert reply.status == 200, reply.body

    def b_march() -> None:
        h.pay(b, h.renewal(b), datetime(2027, 3, 4, 12, tzinfo=UTC), 5 * HOUR)

    january()
    h.days(START, datetime(2027, 4, 30, 12, tzinfo=UTC), {
        "2027-02-03": a_renewal, "2027-02-04": b_renewal, "2027-02-10": reverse,
        "2027-03-04": b_march})
    return h


def _worth(p: PaymentModel) -> int:
    return p.amount_minor if p.applied_minor is None else p.applied_minor + (p.excess_minor or 0)


def _recount() -> dict[str, dict[str, Any]]:
    """Each month's figures, from the items."""
    months: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "invoiced": 0, "collected": 0, "by_method": defaultdict(int), "by_country": defaultdict(int),
        "approvals": 0, "rejections": 0, "reversals": 0, "new": 0, "churned": 0, "hours": []})
    invoices = {i.invoice_id: i for i in InvoiceModel.scan()}
    for invoice in invoices.values():
        months[invoice.created_at[:7]]["invoiced"] += invoice.amount_minor
    for p in PaymentModel.scan():
        country = invoices[p.invoice_id].billing_country
        if p.status in PAID or p.status == "failed":
            decided = months[p.decided_at[:7]]
            decided["hours"].append((parse_stamp(p.decided_at) - parse_stamp(p.created_at))
                                    .total_seconds() / 3600)
        if p.status == "failed":
            decided["rejections"] += 1
        if p.status in PAID:
            decided["approvals"] += 1
            for month, sign in [(p.decided_at[:7], 1)] + ([(p.reversed_at[:7], -1)] if p.reversed_at else []):
                months[month]["collected"] += sign * _worth(p)
                months[month]["by_method"][p.payment_method] += sign * _worth(p)
                months[month]["by_country"][country] += sign * _worth(p)
            if p.reversed_at:
                months[p.reversed_at[:7]]["reversals"] += 1
    for sub in SubscriptionModel.scan():
        for event in AuditEventModel.query(sub.subscription_id):
            if (event.from_status, event.to_status) == ("pending_payment", "active"):
                months[event.at[:7]]["new"] += 1
            if event.to_status == "cancelled" and event.from_status in ("active", "past_due", "suspended"):
                months[event.at[:7]]["churned"] += 1
    return months


def _bucket(hours: float) -> tuple[float, float]:
    low = 0.0
    for bound in HISTOGRAM_BOUNDS:
        if hours < bound:
            return low, bound
        low = bound
    return low, low + 168


def _exact(hours: list[float], q: float) -> float:
    """The nearest-rank q-th quantile."""
    ordered = sorted(hours)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_every_figure_of_the_summary_equals_a_recount_from_the_items(api: Api) -> None:
    history = _script(api)
    with clock.travel(datetime(2027, 4, 30, 23, 30, tzinfo=UTC)):
        reply = api.get(f"{SUMMARY}?from=2027-01&to=2027-04", token=api.admin_token())
    assert reply.status == 200, reply.body
    assert reply.body["currency"] == "USD"
    recount = _recount()
    assert [m["month"] for m in reply.body["months"]] == MONTHS
    for got in reply.body["months"]:
        want = recount[got["month"]]
        mrr, active = history.month_ends[got["month"]]
        assert (got["mrr"], got["active_subscriptions"]) == (format_minor(mrr), active), got
        assert got["invoiced"] == format_minor(want["invoiced"]), got
        assert got["collected"] == format_minor(want["collected"]), got
        assert got["collected_by_method"] == {k: format_minor(v) for k, v in sorted(want["by_method"].items()) if v}
        assert got["collected_by_country"] == {k: format_minor(v) for k, v in sorted(want["by_country"].items()) if v}
        assert (got["approvals"], got["rejections"], got["reversals"]) == (
            want["approvals"], want["rejections"], want["reversals"]), got
        assert (got["new_subscriptions"], got["churned"]) == (want["new"], want["churned"]), got
        assert sum(got["decisions_by_hours"]) == len(want["hours"])
        for q, name in ((0.5, "median_hours_to_decision"), (0.9, "p90_hours_to_decision")):
            if not want["hours"]:
                assert got[name] is None
                continue
            low, high = _bucket(_exact(want["hours"], q))
            assert low <= got[name] <= high, (got["month"], name, got[name], sorted(want["hours"]))
    # And the history has what it should: money in two currencies, a rejection, a reversal, churn
    january, february, march = reply.body["months"][:3]
    assert january["collected_by_method"].keys() == {"bank_transfer", "jazzcash"}
    assert january["rejections"] == 1 and january["new_subscriptions"] == 3
    assert february["reversals"] == 1 and march["churned"] >= 1
    assert integrity.verify().ok


def test_a_bad_range_is_refused_and_changes_nothing(api: Api) -> None:
    admin = api.admin_token()
    with store_unchanged():
        for query in ("from=2027-13", "from=27-01", "to=2099-01", "from=2020-01",
                      f"from={clock.now():%Y-%m}&to={clock.now() - 40 * DAY:%Y-%m}"):
            assert_error(api.get(f"{SUMMARY}?{query}", token=admin), 422, "validation_failed")
    months = api.get(SUMMARY, token=admin).body["months"]
    assert len(months) == 12 and months[-1]["month"] == f"{clock.now():%Y-%m}"


def test_approvals_that_commit_in_between_each_other_lose_no_figure(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two confirmed payments, and every transaction's figures going to the same shard
    monkeypatch.setattr(aggregates.random, "randrange", lambda n: 0)
    admin = api.admin_token()
    payments = []
    for n, email in enumerate(("one@khan.pk", "two@khan.pk")):
        body = api.register(email, plan="starter", payment_method="bank_transfer").body
        payments.append(api.confirm(body["access_token"], body["invoice"]["id"],
                                    reference=f"RACE-{n}").body["id"])
    # When the second approval commits between the first one's reads and its commit
    with competing_commit(lambda: api.approve(admin, payments[1]),
                          when=lambda tx: any(getattr(c, "action", "") == "approved"
                                              for c in tx.__dict__.get("_collected", {}).get(aggregates.NOTED, []))):
        assert api.approve(admin, payments[0]).status == 200
    # Then both are counted: the figures are added, never read and written back
    [month] = api.get(SUMMARY, token=admin).body["months"][-1:]
    assert (month["approvals"], month["collected"], month["active_subscriptions"]) == (2, "178.00", 2)
    assert month["mrr"] == "178.00" and month["new_subscriptions"] == 2
