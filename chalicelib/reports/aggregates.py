"""The reports' monthly figures, kept by the transactions that change them.

Every state change writes an audit event in its own transaction (storage.audit); the first one of a
transaction registers `tally` to run as the commit starts. It reads the transaction's changes and
the items as the transaction leaves them, and adds to this month's aggregate items (one random
shard per transaction, DynamoDB `ADD`: concurrent transactions never lose an update, and none
makes a DynamoDB call more: the items ride in the transaction):

- an invoice made: `invoiced` (its amount);
- a payment approved: `collected` (what it brings in the invoice's currency, a local payment at its
  quote's rate: `storage.models.billing.worth`), by method and by the invoice's billing country,
  `approvals`, and the hours from its confirmation to the decision in the histogram;
- a payment rejected: `rejections` and the histogram; a payment reversed: `collected` less, by
  method and country, and `reversals`;
- a subscription that starts or stops counting (active or past due), or changes plan while it
  counts: MRR and active subscriptions change by the difference, in the month and in the running
  totals ("all"); the subscription keeps what it counts (`mrr_minor`), so the totals are always the
  sum over the subscriptions; `new_subscriptions` when one is first activated, `churned` when a
  subscription that was paid for is cancelled.

Statement-recorded payments (no confirmation by the payer) are approvals but not in the histogram.
A month is the UTC calendar month of the change's time.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel, worth
from chalicelib.storage.models.reports import HISTOGRAM, HISTOGRAM_BOUNDS, ReportAggregateModel
from chalicelib.storage.commit_hooks import collected
from chalicelib.storage.store import Tx

COUNTED = ("active", "past_due")  # the statuses that count in MRR
PAID_FOR = ("active", "past_due", "suspended")  # a cancellation from these is churn
ALL = "all"
TOTALS, METHOD, COUNTRY = "totals", "method", "country"
STATEMENT = "statement"
NOTED = "report_changes"  # what a transaction collects for `tally`


def note(tx: Tx, change: Any) -> None:
    """Remember a change of `tx` (an audit event); its figures are added as it commits."""
    collected(tx, NOTED, tally).append(change)


def hours_bucket(hours: float) -> str:
    """The histogram's attribute for a decision `hours` after the confirmation."""
    for n, bound in enumerate(HISTOGRAM_BOUNDS):
        if hours < bound:
            return HISTOGRAM[n]
    return HISTOGRAM[-1]


def monthly_price(plan: str) -> int:
    """A plan's monthly price in minor units (the catalog's reference data: no read)."""
    from chalicelib.catalog.reference_data import PLANS

    return next((p["price_minor"] for p in PLANS if p["slug"] == plan), 0)


class Figures:
    """The additions of one transaction: {(month, key): {figure: delta}}."""

    def __init__(self) -> None:
        self.adds: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, month: str, figure: str, delta: int, key: str = TOTALS) -> None:
        if delta:
            self.adds[(month, key)][figure] += delta


def tally(tx: Tx) -> None:
    figures = Figures()
    for change in collected(tx, NOTED, tally):
        item = _item(tx, change.entity_id, change.entity_type)
        if item is None:
            continue
        month = change.at[:7]
        if change.entity_type == "invoice" and change.from_status is None:
            figures.add(month, "invoiced_minor", item.amount_minor)
        elif change.entity_type == "payment":
            _payment(tx, figures, change, item, month)
        elif change.entity_type == "subscription":
            _subscription(tx, figures, change, item, month)
    _write(tx, figures)


def _payment(tx: Tx, figures: Figures, change: Any, payment: Any, month: str) -> None:
    from chalicelib.core.clock import parse_stamp

    if change.action not in ("approved", "rejected", "reversed"):
        return
    if change.action != "reversed" and payment.source != STATEMENT:
        waited = parse_stamp(change.at) - parse_stamp(payment.created_at)
        figures.add(month, hours_bucket(waited.total_seconds() / 3600), 1)
    if change.action == "rejected":
        figures.add(month, "rejections", 1)
        return
    sign = 1 if change.action == "approved" else -1
    figures.add(month, "approvals" if sign > 0 else "reversals", 1)
    amount = sign * worth(payment)
    invoice = _item(tx, payment.invoice_id, "invoice")
    country = getattr(invoice, "billing_country", None) or "unknown"
    figures.add(month, "collected_minor", amount)
    figures.add(month, "collected_minor", amount, key=f"{METHOD}#{payment.payment_method}")
    figures.add(month, "collected_minor", amount, key=f"{COUNTRY}#{country}")


def _subscription(tx: Tx, figures: Figures, change: Any, sub: SubscriptionModel, month: str) -> None:
    if change.from_status == "pending_payment" and change.to_status == "active":
        figures.add(month, "new_subscriptions", 1)
    if change.to_status == "cancelled" and change.from_status in PAID_FOR:
        figures.add(month, "churned", 1)
    counts = monthly_price(sub.plan) if sub.status in COUNTED else None
    if counts == sub.mrr_minor:
        return
    was_counted, now_counted = sub.mrr_minor is not None, counts is not None
    for where in (month, ALL):
        figures.add(where, "mrr_minor", (counts or 0) - (sub.mrr_minor or 0))
        figures.add(where, "active", int(now_counted) - int(was_counted))
    sub.mrr_minor = counts
    action = SubscriptionModel.mrr_minor.set(counts) if now_counted else SubscriptionModel.mrr_minor.remove()
    tx.update("subscription", sub, [action])  # joins the change's own update of it


def _item(tx: Tx, entity_id: str, kind: str) -> Any:
    model = {"invoice": InvoiceModel, "payment": PaymentModel, "subscription": SubscriptionModel}.get(kind)
    # The model the change was made on (not a key-only one another part of the transaction updates)
    return next((i for i in reversed(tx.items_of(entity_id)) if model and isinstance(i, model)
                 and getattr(i, "status", None) is not None), None)


def _write(tx: Tx, figures: Figures) -> None:
    if not figures.adds:
        return
    shard = random.randrange(get_settings().counter_shards)
    for (month, key), deltas in figures.adds.items():
        actions = [getattr(ReportAggregateModel, name).add(delta)
                   for name, delta in deltas.items() if delta]
        if actions:
            tx.update(f"report:{month}:{key}", ReportAggregateModel(month, f"{key}#{shard}"), actions)
