"""Bugs of the subscription lifecycle, each as the shortest plain sequence of requests and job
runs that shows it, with the moving clock of test_lifecycle.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.billing import jobs
from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp
from chalicelib.storage.models.billing import InvoiceModel, SubscriptionModel
from tests.conftest import Api

UTC = timezone.utc
START = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


class Customer:
    """One paid account, its first invoice approved at START, acting as of given times."""

    def __init__(self, api: Api, plan: str = "starter") -> None:
        self.api, self.admin, self.references = api, api.admin_token(), 0
        with clock.travel(START):
            body = api.register("ayesha@khan.pk", plan=plan, payment_method="bank_transfer").body
        self.token, self.account_id = body["access_token"], body["account"]["id"]
        self.subscription_id = body["subscription"]["id"]
        self.pay(body["invoice"]["id"], START)

    def pay(self, invoice_id: str, at: datetime, approve: bool = True) -> str:
        invoice = InvoiceModel.get(invoice_id)
        self.references += 1
        amount = f"{invoice.amount_minor // 100}.{invoice.amount_minor % 100:02d}"
        with clock.travel(at):
            reply = self.api.confirm(self.token, invoice_id, amount=amount,
                                     reference=f"BT-{self.references}")
            assert reply.status == 201, reply.body
            if approve:
                assert self.api.approve(self.admin, reply.body["id"]).status == 200
        return reply.body["id"]

    def post(self, path: str, body: dict | None, at: datetime, expect: int = 200) -> dict:
        with clock.travel(at):
            reply = self.api.post(path, body, token=self.token)
        assert reply.status == expect, reply.body
        return reply.body

    def sub(self) -> SubscriptionModel:
        return SubscriptionModel.get(self.subscription_id, consistent_read=True)


def _jobs(at: datetime) -> None:
    with clock.travel(at):
        jobs.run(at)


def test_a_downgrade_whose_renewal_is_paid_cannot_be_withdrawn(api: Api) -> None:
    # Given a growth subscription with a downgrade to starter scheduled, and the next period's
    # renewal (issued for starter) paid early
    customer = Customer(api, plan="growth")
    end = parse_stamp(customer.sub().current_period_end)
    customer.post("/api/v1/billing/subscription/change", {"plan": "starter"}, end - 10 * DAY)
    _jobs(end - 7 * DAY + HOUR)
    renewal = InvoiceModel.get(customer.sub().renewal_invoice_id)
    assert renewal.plan == "starter"
    customer.pay(renewal.invoice_id, end - 5 * DAY)
    # When the customer keeps the current plan (which withdraws a scheduled downgrade)
    body = customer.post("/api/v1/billing/subscription/change", {"plan": "growth"}, end - 4 * DAY,
                         expect=409)
    # Then it is refused as every other change is once the next period is paid: the next period
    # is starter, and the subscription goes on saying so (it said scheduled_plan null and then
    # became starter at the period end anyway)
    assert body["error"]["code"] == "renewal_already_paid", body
    assert customer.sub().scheduled_plan == "starter"
    _jobs(end + HOUR)
    sub = customer.sub()
    assert (sub.period, sub.plan, sub.scheduled_plan) == (1, "starter", None)
