"""Every event type, across a subscription's life: the seed workflow (with a rejection first), credits
used until low and exhausted, an upgrade, a downgrade applied at the renewal, a renewal paid, a
dunning run to cancellation, and a reversal. Each event must arrive once, signed, for exactly the
changes the store shows happened (the invoices, payments and audit trail written by the changes
themselves), numbered per account in the order they were made."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp
from chalicelib.credits import consume as consumption
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.records import AuditEventModel, CreditLedgerModel
from chalicelib.webhooks import delivery
from chalicelib.webhooks.fields import EVENT_TYPES
from tests.billing.test_lifecycle import ANCHOR, DAY, HOUR, Customer, _run
from tests.conftest import Api
from tests.webhooks.receiver import Receiver

WEBHOOKS = "/api/v1/billing/admin/webhooks"
CHANGE = "/api/v1/billing/subscription/change"
MINUTE = timedelta(minutes=1)


def _deliver(at: datetime) -> None:
    """The worker's run as of `at`, twice: the second finds nothing to send."""
    delivery.run(at)
    assert not delivery.run(at).attempted


def _consume(api: Api, key: str, account_id: str, amount: int, idem: str, at: datetime) -> dict:
    with clock.travel(at):
        reply = api.post("/api/v1/credits/consume",
                         {"account_id": account_id, "amount": amount, "reason": "render"},
                         token=key, headers={"idempotency-key": idem})
    assert reply.status == 200, reply.body
    return reply.body


def _life(api: Api, receiver: Receiver) -> dict[str, Any]:
    """Walk two accounts through everything that makes an event; what the test needs of them."""
    admin = api.admin_token()
    with clock.travel(ANCHOR - HOUR):
        made = api.post(WEBHOOKS, {"url": receiver.url, "events": ["*"]}, token=admin).body
        key = api.post("/api/v1/billing/admin/service-keys", {"name": "backend"}, token=admin).body["key"]
    # The seed workflow, with a rejected confirmation first
    ayesha = Customer(api)
    rejected = ayesha.pay(ayesha.first_invoice["id"], ANCHOR + HOUR, approve=False)
    ayesha.decide(rejected, ANCHOR + 2 * HOUR, approve=False)
    ayesha.pay(ayesha.first_invoice["id"], ANCHOR + 3 * HOUR)
    _deliver(ANCHOR + 3 * HOUR)
    # Credits: 905 of the 1,000 leave 95 (below a tenth), a retry changes nothing, 95 more is all
    consumption._views.clear()
    _consume(api, key, ayesha.account_id, 905, "first", ANCHOR + DAY)
    _consume(api, key, ayesha.account_id, 905, "first", ANCHOR + DAY)  # the same key: a replay
    last = _consume(api, key, ayesha.account_id, 95, "second", ANCHOR + DAY + HOUR)
    assert last["credits"] == 0
    # An upgrade paid, then a downgrade scheduled for the period's end
    upgrade = ayesha.post(CHANGE, {"plan": "growth"}, ANCHOR + 2 * DAY)["invoice"]
    ayesha.pay(upgrade["id"], ANCHOR + 2 * DAY + HOUR)
    assert ayesha.post(CHANGE, {"plan": "starter"}, ANCHOR + 3 * DAY)["subscription"][
        "scheduled_plan"] == "starter"
    _deliver(ANCHOR + 3 * DAY)
    # The renewal: issued 7 days before the end, paid, and the period (and the downgrade) starts
    end = parse_stamp(SubscriptionModel.get(ayesha.subscription_id).current_period_end)
    _run(end - 7 * DAY + HOUR)
    [renewal] = [i for i in InvoiceModel.scan() if i.subscription_id == ayesha.subscription_id
                 and i.kind == "renewal"]
    ayesha.pay(renewal.invoice_id, end - 2 * DAY)
    _run(end + MINUTE)
    _deliver(end + MINUTE)
    # Dunning: the next renewal goes unpaid: past due, suspended, cancelled
    end = parse_stamp(SubscriptionModel.get(ayesha.subscription_id).current_period_end)
    for moment in (end - 7 * DAY + HOUR, end + MINUTE, end + 8 * DAY, end + 31 * DAY):
        _run(moment)
        _deliver(moment)
    # Another account pays, and an owner reverses the payment
    sana = Customer(api, email="sana@khan.pk", at=end + 31 * DAY)
    paid = sana.pay(sana.first_invoice["id"], end + 31 * DAY + HOUR)
    with clock.travel(end + 31 * DAY + 2 * HOUR):
        reversed_ = api.post(f"/api/v1/billing/admin/payments/{paid}/reverse",
                             {"reason": "The bank recalled the transfer"}, token=api.admin_token())
    assert reversed_.status == 200, reversed_.body
    _deliver(end + 31 * DAY + 2 * HOUR)
    return {"secret": made["secret"], "accounts": [ayesha.account_id, sana.account_id],
            "subscription": ayesha.subscription_id}


def _expected(accounts: list[str]) -> dict[str, Counter]:
    """Per event type, the ids of the entities whose changes the store shows: one event each."""
    invoices = [i for a in accounts for i in InvoiceModel.by_account.query(a)]
    payments = [p for p in PaymentModel.scan() if p.account_id in accounts]
    trail = [e for entity in [*accounts, *(i.invoice_id for i in invoices),
                              *(p.payment_id for p in payments)]
             for e in AuditEventModel.query(entity)]
    subs = [SubscriptionModel.get(i.subscription_id) for i in invoices if i.subscription_id]
    trail += [e for sub_id in {s.subscription_id for s in subs}
              for e in AuditEventModel.query(sub_id)]
    moved = [(e.entity_type, e.entity_id, e.action, e.from_status, e.to_status) for e in trail]
    expect: dict[str, Counter] = defaultdict(Counter)
    for kind, entity, action, before, after in moved:
        if kind == "account" and before is None:
            expect["account.created"][entity] += 1
        elif kind == "account" and before != after:
            expect["account.status_changed"][entity] += 1
        if kind == "invoice" and before is None:
            expect["invoice.created"][entity] += 1
        if kind == "invoice" and after == "paid" and before != "paid":
            expect["invoice.paid"][entity] += 1
        if kind == "invoice" and after == "void" and before != "void":
            expect["invoice.voided"][entity] += 1
        if kind == "subscription" and after != before and after in ("past_due", "suspended", "cancelled"):
            expect[f"subscription.{after}"][entity] += 1
        if kind == "subscription" and after == "active" and before != "active" \
                and action != "period_started":
            expect["subscription.activated"][entity] += 1
    for payment in payments:
        expect["payment.submitted"][payment.payment_id] += 1
        if payment.status in ("succeeded", "reversed"):
            expect["payment.approved"][payment.payment_id] += 1
        if payment.status == "failed":  # rejected by an admin
            expect["payment.rejected"][payment.payment_id] += 1
        if payment.status == "reversed":
            expect["payment.reversed"][payment.payment_id] += 1
    for sub in {s.subscription_id: s for s in subs}.values():
        expect["subscription.renewed"][sub.subscription_id] = sub.period or 0
    expect["subscription.plan_changed"] = Counter({subs[0].subscription_id: 2})  # up, then down
    expect["credits.low"] = Counter({accounts[0]: 1})
    expect["credits.exhausted"] = Counter({accounts[0]: 1})
    return {kind: +counts for kind, counts in expect.items()}


def test_every_event_type_fires_once_per_change_across_a_subscriptions_life(
        api: Api, receiver: Receiver) -> None:
    life = _life(api, receiver)
    events = receiver.events(life["secret"])
    # Then every event arrived once (no id twice), and every type of the list was among them
    assert len({e["id"] for e in events}) == len(events)
    assert {e["type"] for e in events} == set(EVENT_TYPES)
    # And each is for exactly the changes the store shows: one event per change, none more
    found: dict[str, Counter] = defaultdict(Counter)
    for event in events:
        about = event["data"]["id"] if not event["type"].startswith("credits.") else event["account_id"]
        found[event["type"]][about] += 1
    assert dict(found) == _expected(life["accounts"])
    # And the plan changes say what the plan was, and how it changed
    changes = [e["data"] for e in events if e["type"] == "subscription.plan_changed"]
    assert [(c["previous_plan"], c["plan"], c["change"]) for c in changes] == [
        ("starter", "growth", "upgraded"), ("growth", "starter", "period_started")]
    # And the credit events name the consumption that crossed the line, with what was left
    low, exhausted = (next(e["data"] for e in events if e["type"] == t)
                      for t in ("credits.low", "credits.exhausted"))
    assert (low["credits"], low["allowance_granted"]) == (95, 1000)
    assert exhausted["credits"] == 0 and exhausted["credit_buckets"] == {"allowance": 0, "extra": 0}
    entries = {e.entry_id for e in CreditLedgerModel.query(life["accounts"][0]) if e.reason == "consumed"}
    assert {low["entry_id"], exhausted["entry_id"]} == entries
    # And per account, the sequence numbers follow the order the events were made in
    for account_id in life["accounts"]:
        mine = sorted((e for e in events if e["account_id"] == account_id), key=lambda e: e["sequence"])
        assert [e["sequence"] for e in mine] == list(range(1, len(mine) + 1))
        assert [e["created_at"] for e in mine] == sorted(e["created_at"] for e in mine)
