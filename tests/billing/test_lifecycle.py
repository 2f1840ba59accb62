"""A subscription's whole life with a moving clock: the jobs run as of chosen times (their `AT`),
and the customer and the admin act as of those times too (`clock.travel`).

Periods are calendar months from the first approval; the renewal is issued 7 days before a period
ends, due when the next starts; unpaid at the end it is past due, 7 days later suspended, 30 days
after the end cancelled; a confirmation awaiting approval pauses that. Each test checks the store:
subscription, invoices, account buckets, ledger, emails, and `make verify`'s rules.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.billing import jobs
from chalicelib.billing.periods import period
from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp
from chalicelib.storage.models.billing import InvoiceModel, SubscriptionModel
from chalicelib.storage.models.platform import OutboxModel
from ops import integrity
from tests.conftest import BILLING_PK, Api
from tests.helpers import account, competing_commit, labels, ledger_of

UTC = timezone.utc
ANCHOR = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)  # a 31st: February clamps to the 28th
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


def _mail(template: str) -> list[OutboxModel]:
    return [m for m in OutboxModel.scan() if m.template == template]


def _renewals(subscription_id: str) -> list[InvoiceModel]:
    return sorted((i for i in InvoiceModel.scan() if i.subscription_id == subscription_id
                   and i.kind == "renewal"), key=lambda i: (i.period, i.invoice_id))


def _sub(subscription_id: str) -> SubscriptionModel:
    return SubscriptionModel.get(subscription_id, consistent_read=True)


class Customer:
    """One paid account, acting as of a given time."""

    def __init__(self, api: Api, email: str = "ayesha@khan.pk", plan: str = "starter",
                 at: datetime = ANCHOR) -> None:
        self.api, self.email = api, email
        with clock.travel(at):
            body = api.register(email, plan=plan, payment_method="bank_transfer").body
        self.token, self.account_id = body["access_token"], body["account"]["id"]
        self.subscription_id, self.first_invoice = body["subscription"]["id"], body["invoice"]
        self.admin = api.admin_token()
        self._references = 0

    def pay(self, invoice_id: str, at: datetime, *, approve: bool = True) -> str:
        """Confirm the invoice's payment as of `at` and (by default) have it approved then."""
        invoice = InvoiceModel.get(invoice_id)
        self._references += 1
        with clock.travel(at):
            reply = self.api.confirm(self.token, invoice_id, amount=_money(invoice.amount_minor),
                                     reference=f"BT-{self.account_id[-6:]}-{self._references:03d}")
            assert reply.status == 201, reply.body
            if approve:
                approved = self.api.approve(self.admin, reply.body["id"])
                assert approved.status == 200, approved.body
        return reply.body["id"]

    def decide(self, payment_id: str, at: datetime, approve: bool) -> None:
        with clock.travel(at):
            reply = (self.api.approve if approve else self.api.reject)(self.admin, payment_id)
        assert reply.status == 200, reply.body

    def post(self, path: str, body: dict | None, at: datetime, expect: int = 200) -> dict:
        with clock.travel(at):
            reply = self.api.post(path, body, token=self.token)
        assert reply.status == expect, reply.body
        return reply.body

    def me(self, at: datetime) -> dict:
        with clock.travel(at):
            return self.api.get("/api/v1/auth/me", token=self.token).body


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _run(at: datetime) -> jobs.Report:
    """Run the jobs as of `at`, twice: the second run must find nothing left to do."""
    with clock.travel(at):
        report = jobs.run(at)
        again = jobs.run(at)
    assert not any(again.counts().values()), again.counts()
    return report


def _started(customer: Customer) -> SubscriptionModel:
    [payment] = [customer.pay(customer.first_invoice["id"], ANCHOR + HOUR)]
    assert payment
    return _sub(customer.subscription_id)


def test_fourteen_months_every_period_paid_once_with_fixed_anchors(api: Api) -> None:
    # Given a starter subscription approved on Jan 31 (its anchor)
    customer = Customer(api)
    sub = _started(customer)
    anchor = parse_stamp(sub.anchor)
    assert anchor == ANCHOR + HOUR and sub.period == 0
    # When it renews for 14 months, paid early, on time, or late (then past due for a while)
    timing = ["early", "on_time", "late", "early", "early", "on_time", "late", "on_time",
              "early", "early", "late", "on_time", "early", "on_time"]
    for number, when in enumerate(timing, start=1):
        start, end = period(anchor, number)  # the period being paid for
        issued = _run(start - timedelta(days=7) + HOUR)
        [renewal] = [i for i in _renewals(customer.subscription_id) if i.period == number]
        assert issued.steps["renewal_issued"] == [customer.subscription_id]
        assert (renewal.status, renewal.due_date, renewal.amount_minor) == (
            "pending", start.date().isoformat(), 8900)
        assert (parse_stamp(renewal.period_start), parse_stamp(renewal.period_end)) == (start, end)
        if when == "early":
            customer.pay(renewal.invoice_id, start - 3 * DAY)
            assert _sub(customer.subscription_id).period == number - 1  # no period added early
            _run(start + HOUR)
        elif when == "on_time":
            _run(start - HOUR)
            customer.pay(renewal.invoice_id, start + 2 * HOUR)
            # approved two hours after the end, before a job run saw it unpaid: it rolls at once
        else:
            _run(start + HOUR)
            assert _sub(customer.subscription_id).status == "past_due"
            assert account(customer.account_id).status == "past_due"
            assert account(customer.account_id).allowance == 0  # the allowance expired
            customer.pay(renewal.invoice_id, start + 4 * DAY)
        # Then the period rolled to exactly the invoice's period, anchored where it was
        sub = _sub(customer.subscription_id)
        assert (sub.status, sub.period, sub.anchor) == ("active", number, stamp_of(anchor))
        assert (parse_stamp(sub.current_period_start), parse_stamp(sub.current_period_end)) == (start, end)
        acc = account(customer.account_id)
        assert (acc.status, acc.allowance, acc.extra, acc.credits) == ("active", 1000, 0, 1000)
    # And every period 0..14 is paid exactly once, contiguous, with no gap or overlap
    renewals = _renewals(customer.subscription_id)
    assert [i.period for i in renewals] == list(range(1, 15))
    assert all(i.status == "paid" for i in renewals)
    bounds = [(ANCHOR + HOUR, period(anchor, 0)[1])] + [
        (parse_stamp(i.period_start), parse_stamp(i.period_end)) for i in renewals]
    assert all(bounds[k][1] == bounds[k + 1][0] for k in range(len(bounds) - 1))
    assert [b[0].day for b in bounds[:4]] == [31, 28, 31, 30]  # clamped, never drifting
    # And the ledger explains the balance: 15 grants, 14 expiries of what was left
    entries = ledger_of(customer.account_id)
    reasons = Counter(e.reason for e in entries)
    assert reasons["plan_purchase"] == 1 and reasons["allowance_granted"] == 14
    assert sum(e.amount for e in entries) == account(customer.account_id).credits == 1000
    # And each renewal invoice was emailed once; the late periods were past due once each
    assert len(_mail("renewal_invoice")) == 14
    assert len(_mail("subscription_past_due")) == timing.count("late")
    assert len(_mail("subscription_reactivated")) == timing.count("late")
    _consistent()


def stamp_of(moment: datetime) -> str:
    return clock.stamp(moment)


def test_unpaid_goes_past_due_then_suspended_then_cancelled_each_emailed_once(api: Api) -> None:
    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    # At the period end: past due, the allowance expired, service continues
    _run(end + HOUR)
    assert (_sub(customer.subscription_id).status, account(customer.account_id).status) == (
        "past_due", "past_due")
    assert customer.me(end + HOUR)["subscription"]["suspends_at"] == clock.public_time(
        clock.stamp(end + 7 * DAY))
    # Six days later nothing more; after the grace: suspended
    _run(end + 6 * DAY)
    assert _sub(customer.subscription_id).status == "past_due"
    _run(end + 7 * DAY + HOUR)
    assert (_sub(customer.subscription_id).status, account(customer.account_id).status) == (
        "suspended", "suspended")
    # 30 days after the end: cancelled, the renewal void, nothing left to pay
    _run(end + 29 * DAY)
    assert _sub(customer.subscription_id).status == "suspended"
    _run(end + 30 * DAY + HOUR)
    sub = _sub(customer.subscription_id)
    assert (sub.status, sub.sweep, InvoiceModel.get(renewal.invoice_id).status) == (
        "cancelled", None, "void")
    acc = account(customer.account_id)
    assert (acc.status, acc.credits, acc.pending_invoice_id) == ("cancelled", 0, None)
    for template in ("subscription_past_due", "subscription_suspended", "subscription_cancelled"):
        assert len(_mail(template)) == 1, template
    # And much later nothing else happens
    assert not any(_run(end + 90 * DAY).counts().values())
    _consistent()


def test_a_confirmation_awaiting_approval_pauses_suspension_and_cancellation(api: Api) -> None:
    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    _run(end + HOUR)
    # The customer confirms on day 5 of the grace; the admin does not look for weeks
    payment = customer.pay(renewal.invoice_id, end + 5 * DAY, approve=False)
    for days in (8, 20, 31, 45):
        _run(end + days * DAY)
        assert _sub(customer.subscription_id).status == "past_due", days
    assert _mail("subscription_suspended") == []
    # When the admin approves on day 46, the subscription is active at once, the period the
    # invoice's (the anchor did not move), with a fresh allowance
    customer.decide(payment, end + 46 * DAY, approve=True)
    sub = _sub(customer.subscription_id)
    assert (sub.status, sub.period, parse_stamp(sub.current_period_start)) == ("active", 1, end)
    assert account(customer.account_id).status == "active"
    assert len(_mail("subscription_reactivated")) == 1
    _consistent()


def test_a_rejection_lets_the_paused_clock_go_on(api: Api) -> None:
    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    _run(end + HOUR)
    payment = customer.pay(renewal.invoice_id, end + 5 * DAY, approve=False)
    _run(end + 10 * DAY)
    assert _sub(customer.subscription_id).status == "past_due"
    customer.decide(payment, end + 10 * DAY + HOUR, approve=False)
    _run(end + 11 * DAY + 3 * HOUR)
    assert _sub(customer.subscription_id).status == "suspended"
    # Paying then (suspended) reactivates at once
    customer.pay(renewal.invoice_id, end + 12 * DAY)
    assert (_sub(customer.subscription_id).status, account(customer.account_id).status) == (
        "active", "active")
    assert account(customer.account_id).allowance == 1000
    _consistent()


@pytest.mark.parametrize("cancel_at", ["before_issue", "after_issue"])
def test_cancel_at_period_end_and_resume(api: Api, cancel_at: str) -> None:
    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    moment = end - 10 * DAY if cancel_at == "before_issue" else end - 5 * DAY
    if cancel_at == "after_issue":
        _run(end - 7 * DAY + HOUR)
    body = customer.post("/api/v1/billing/subscription/cancel", None, moment)
    assert body["subscription"]["cancel_at_period_end"] is True
    assert body["subscription"]["next_invoice_at"] is None
    assert all(i.status == "void" for i in _renewals(customer.subscription_id))
    # Resumed: the renewal comes again (a new revision when one was voided)
    customer.post("/api/v1/billing/subscription/resume", None, moment + HOUR)
    _run(moment + 2 * HOUR if cancel_at == "after_issue" else end - 7 * DAY + HOUR)
    live = [i for i in _renewals(customer.subscription_id) if i.status == "pending"]
    assert len(live) == 1 and live[0].period == 1
    # Cancelled again and left: at the period end it ends, extra credits kept, allowance gone
    customer.post("/api/v1/billing/subscription/cancel", None, end - 2 * DAY)
    _run(end + HOUR)
    assert (_sub(customer.subscription_id).status, account(customer.account_id).status) == (
        "cancelled", "cancelled")
    assert customer.post("/api/v1/billing/subscription/resume", None, end + 2 * HOUR, expect=409)
    assert len(_mail("subscription_cancelled")) == 1
    _consistent()


def test_upgrade_is_prorated_and_applies_only_when_approved(api: Api) -> None:
    customer = Customer(api)
    sub = _started(customer)
    start, end = parse_stamp(sub.current_period_start), parse_stamp(sub.current_period_end)
    moment = start + (end - start) / 4  # three quarters of the period left
    preview = customer.post("/api/v1/billing/subscription/change", {"plan": "growth"}, moment)
    invoice = preview["invoice"]
    # growth 249.00 - starter 89.00 = 160.00 x 3/4 = 120.00; (5000 - 1000) x 3/4 = 3000 credits
    assert (invoice["kind"], invoice["amount"], invoice["plan"]) == ("upgrade", "120.00", "growth")
    assert InvoiceModel.get(invoice["id"]).upgrade_credits == 3000
    assert _sub(customer.subscription_id).plan == "starter"  # nothing changes before approval
    assert account(customer.account_id).credits == 1000
    # A second change waits for this one
    customer.post("/api/v1/billing/subscription/change", {"plan": "scale"}, moment, expect=409)
    customer.pay(invoice["id"], moment + DAY)
    sub = _sub(customer.subscription_id)
    acc = account(customer.account_id)
    assert (sub.plan, sub.upgrade_invoice_id, acc.plan, acc.allowance) == ("growth", None, "growth", 4000)
    # The renewal is for growth at the full price
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    assert (renewal.plan, renewal.amount_minor, renewal.plan_credits) == ("growth", 24900, 5000)
    _consistent()


def test_an_unpaid_upgrade_is_voided_at_the_period_end(api: Api) -> None:
    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    body = customer.post("/api/v1/billing/subscription/change", {"plan": "scale"}, end - 10 * DAY)
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    customer.pay(renewal.invoice_id, end - 2 * DAY)
    _run(end + HOUR)
    assert InvoiceModel.get(body["invoice"]["id"]).status == "void"
    sub = _sub(customer.subscription_id)
    assert (sub.plan, sub.period, sub.upgrade_invoice_id) == ("starter", 1, None)
    _consistent()


def test_downgrade_at_period_end_reissues_the_renewal_for_the_new_plan(api: Api) -> None:
    customer = Customer(api, plan="growth")
    [payment] = [customer.pay(customer.first_invoice["id"], ANCHOR + HOUR)]
    assert payment
    sub = _sub(customer.subscription_id)
    end = parse_stamp(sub.current_period_end)
    _run(end - 7 * DAY + HOUR)
    [first] = _renewals(customer.subscription_id)
    assert first.plan == "growth"
    body = customer.post("/api/v1/billing/subscription/change", {"plan": "starter"}, end - 6 * DAY)
    assert body["subscription"]["scheduled_plan"] == "starter" and body["invoice"] is None
    assert InvoiceModel.get(first.invoice_id).status == "void"
    _run(end - 6 * DAY + HOUR)
    live = [i for i in _renewals(customer.subscription_id) if i.status == "pending"]
    assert [(i.plan, i.amount_minor) for i in live] == [("starter", 8900)]
    # Still growth until the period ends; starter from the next one
    assert _sub(customer.subscription_id).plan == "growth"
    customer.pay(live[0].invoice_id, end - 3 * DAY)
    _run(end + HOUR)
    sub = _sub(customer.subscription_id)
    assert (sub.plan, sub.scheduled_plan, sub.period) == ("starter", None, 1)
    assert account(customer.account_id).allowance == 1000
    _consistent()


def test_keeping_the_current_plan_cancels_a_scheduled_downgrade(api: Api) -> None:
    customer = Customer(api, plan="growth")
    customer.pay(customer.first_invoice["id"], ANCHOR + HOUR)
    end = parse_stamp(_sub(customer.subscription_id).current_period_end)
    customer.post("/api/v1/billing/subscription/change", {"plan": "starter"}, end - 10 * DAY)
    body = customer.post("/api/v1/billing/subscription/change", {"plan": "growth"}, end - 9 * DAY)
    assert body["subscription"]["scheduled_plan"] is None
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    assert renewal.plan == "growth"


def test_trial_expires_and_its_credits_with_it(api: Api) -> None:
    with clock.travel(ANCHOR):
        body = api.register("trial@khan.pk").body
    account_id = body["account"]["id"]
    assert body["account"]["trial_ends_at"] == clock.public_time(clock.stamp(ANCHOR + 14 * DAY))
    _run(ANCHOR + 10 * DAY)
    assert len(_mail("trial_ending")) == 0
    _run(ANCHOR + 11 * DAY + HOUR)
    assert len(_mail("trial_ending")) == 1
    _run(ANCHOR + 14 * DAY + HOUR)
    acc = account(account_id)
    assert (acc.status, acc.credits, acc.allowance, acc.extra) == ("expired", 0, 0, 0)
    assert [e.reason for e in ledger_of(account_id)] == ["trial_grant", "trial_expired"]
    assert len(_mail("trial_ended")) == 1
    _consistent()


def test_a_trial_subscribes_keeps_its_credits_and_carries_them_over(api: Api) -> None:
    with clock.travel(ANCHOR):
        body = api.register("trial@khan.pk").body
    token, account_id = body["access_token"], body["account"]["id"]
    with clock.travel(ANCHOR + 3 * DAY):
        reply = api.post("/api/v1/billing/subscription", {
            "plan": "starter", "payment_method": "bank_transfer", "billing": BILLING_PK}, token=token)
    assert reply.status == 201, reply.body
    assert reply.body["account"]["status"] == "trial"  # its credits still usable
    invoice_id = reply.body["invoice"]["id"]
    with clock.travel(ANCHOR + 4 * DAY):
        again = api.post("/api/v1/billing/subscription", {
            "plan": "growth", "payment_method": "bank_transfer"}, token=token)
    assert again.status == 409
    with clock.travel(ANCHOR + 5 * DAY):
        payment = api.confirm(token, invoice_id, reference="BT-TRIAL-1").body["id"]
        assert api.approve(api.admin_token(), payment).status == 200
    acc = account(account_id)
    assert (acc.status, acc.allowance, acc.extra, acc.credits) == ("active", 1000, 1000, 2000)
    assert acc.sweep is None  # the trial's end no longer matters
    _run(ANCHOR + 15 * DAY)
    assert account(account_id).status == "active" and _mail("trial_ended") == []
    _consistent()


def test_expired_and_cancelled_accounts_subscribe_again(api: Api) -> None:
    with clock.travel(ANCHOR):
        body = api.register("trial@khan.pk").body
    token = body["access_token"]
    _run(ANCHOR + 15 * DAY)
    subscribe = {"plan": "starter", "payment_method": "bank_transfer"}
    with clock.travel(ANCHOR + 16 * DAY):
        missing = api.post("/api/v1/billing/subscription", subscribe, token=token)
        assert missing.status == 422 and "billing" in missing.body["error"]["details"]["fields"]
        ok = api.post("/api/v1/billing/subscription", {**subscribe, "billing": BILLING_PK}, token=token)
    assert ok.status == 201 and ok.body["account"]["status"] == "pending_payment"
    _consistent()


def test_a_job_run_racing_the_approval_at_the_period_end_does_not_make_it_past_due(api: Api) -> None:
    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    payment = customer.pay(renewal.invoice_id, end - HOUR, approve=False)
    # When the admin approves (just before the end: it only marks the period paid) between the
    # job's read of the subscription at the end and its commit of "past due"
    moment = end + HOUR
    with clock.travel(moment), competing_commit(
            lambda: customer.decide(payment, end - 60 * timedelta(seconds=1), approve=True),
            when=lambda tx: "subscription" in labels(tx)) as race:
        report = jobs.run(moment)
    assert race.ran and "past_due" not in report.steps
    # Then the job saw the subscription changed and skipped; the next run rolls the period
    assert _sub(customer.subscription_id).status == "active"
    _run(moment + HOUR)
    sub = _sub(customer.subscription_id)
    assert (sub.status, sub.period) == ("active", 1)
    assert account(customer.account_id).status == "active" and _mail("subscription_past_due") == []
    _consistent()


def test_two_job_runs_at_once_issue_one_renewal_and_one_email(api: Api) -> None:
    customers = [Customer(api, email=f"c{n}@khan.pk") for n in range(3)]
    for customer in customers:
        customer.pay(customer.first_invoice["id"], ANCHOR + HOUR)
    moment = period(ANCHOR + HOUR, 1)[0] - 7 * DAY + HOUR
    with clock.travel(moment), competing_commit(lambda: jobs.run(moment),
                                                when=lambda tx: "renewal" in labels(tx)) as race:
        slower = jobs.run(moment)
    issued = race.result.steps.get("renewal_issued", []) + slower.steps.get("renewal_issued", [])
    assert sorted(issued) == sorted(c.subscription_id for c in customers)
    for customer in customers:
        assert len(_renewals(customer.subscription_id)) == 1
    assert len(_mail("renewal_invoice")) == 3
    _consistent()


def test_the_approval_email_of_an_early_renewal_says_when_its_credits_come(api: Api) -> None:
    from chalicelib.notifications.delivery import compose

    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    payment = customer.pay(renewal.invoice_id, end - 3 * DAY)
    [message] = [m for m in _mail("payment_approved") if m.entity_id == payment]
    email = compose(message)
    day = end.date().isoformat()
    assert "next period is paid" in email.subject
    assert f"its 1000 credits are added on {day}" in email.text and day in email.html
    assert account(customer.account_id).allowance == 1000  # the first period's, untouched


def test_a_late_renewal_approval_voids_the_ended_periods_unpaid_upgrade(api: Api) -> None:
    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    upgrade = customer.post("/api/v1/billing/subscription/change", {"plan": "growth"},
                            end - 9 * DAY)["invoice"]
    _run(end - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    # Paid two hours after the end, before a job run: the period rolls at the approval
    customer.pay(renewal.invoice_id, end + 2 * HOUR)
    sub = _sub(customer.subscription_id)
    assert (sub.period, sub.plan, sub.upgrade_invoice_id) == (1, "starter", None)
    assert InvoiceModel.get(upgrade["id"]).status == "void"
    _consistent()


def test_cancelling_with_an_upgrade_waiting_ends_with_nothing_left_to_pay(api: Api) -> None:
    customer = Customer(api)
    sub = _started(customer)
    end = parse_stamp(sub.current_period_end)
    upgrade = customer.post("/api/v1/billing/subscription/change", {"plan": "growth"},
                            end - 9 * DAY)["invoice"]
    assert account(customer.account_id).pending_invoice_id == upgrade["id"]
    customer.post("/api/v1/billing/subscription/cancel", None, end - 8 * DAY)
    _run(end + HOUR)
    assert InvoiceModel.get(upgrade["id"]).status == "void"
    acc = account(customer.account_id)
    assert (acc.status, acc.pending_invoice_id) == ("cancelled", None)
    assert customer.me(end + 2 * HOUR)["pending_invoice"] is None
    _consistent()
