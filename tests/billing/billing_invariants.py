"""What must hold of the store after every step of the billing state machine
(test_stateful_billing.py), written without the integrity checker's code: `own_invariants` (rule →
violations, named as `ops.integrity`'s rules where they are the same), and `store_state`, what a
refused request must leave as it was.
"""
from __future__ import annotations

import json
from collections import Counter

from chalicelib.storage import models
from ops import integrity
from tests.billing.lifecycle_invariants import invoice_money_problem
from tests.billing.stateful_books import Books
from tests.billing.stateful_money import BALANCE_RULE, balance_problems
from tests.conftest import stored_items


def store_state() -> dict[str, list[str]]:
    """Every item of every table (but the reference data), comparable between two moments."""
    return {model.Meta.table_name: sorted(json.dumps(raw, sort_keys=True, default=str)
                                          for raw in stored_items(model))
            for model in models.ALL_MODELS
            if model not in (models.PlanModel, models.PaymentMethodModel)}


# What each state's audit trail holds, oldest first (the only paths the workflow allows; an
# invoice's, partially paid on the way, are the books')
TRAILS = {
    "payment": {"pending_approval": ["pending_approval"],
                "succeeded": ["pending_approval", "succeeded"],
                "failed": ["pending_approval", "failed"]},
    "subscription": {"pending_payment": ["pending_payment"], "active": ["pending_payment", "active"]},
    "account": {"trial": ["trial"], "pending_payment": ["pending_payment"],
                "active": ["pending_payment", "active"]},
}


def own_invariants(snap: integrity.Snapshot, books: Books) -> dict[str, list[str]]:
    """The invariants, asserted here without integrity's code: name → violations."""
    ledger: Counter = Counter()
    for entry in snap.ledger:
        ledger[entry.account_id] += entry.amount
    by_invoice: dict[str, Counter] = {i.invoice_id: Counter() for i in snap.invoices}
    for payment in snap.payments:
        by_invoice.setdefault(payment.invoice_id, Counter())[payment.status] += 1
    paid_accounts = {i.account_id for i in snap.invoices if i.status == "paid"}
    audit: dict[str, list] = {}
    for event in sorted(snap.audit, key=lambda e: (e.at, e.event_id)):
        if event.action == "first_approval":  # the first of two approvals changes no state
            continue
        audit.setdefault(event.entity_id, []).append(event.to_status)
    entities = ([("account", a.account_id, a.status) for a in snap.accounts if a.plan != "internal"]
                + [("subscription", s.subscription_id, s.status) for s in snap.subscriptions]
                + [("invoice", i.invoice_id, i.status) for i in snap.invoices]
                + [("payment", p.payment_id, p.status) for p in snap.payments])

    def trail(kind: str, entity_id: str, status: str) -> list[str]:
        known = books.invoices.get(entity_id)
        return (known.trail if known else []) if kind == "invoice" else TRAILS[kind].get(status, [])
    return {
        "account credits equal the sum of their ledger entries, bucket by bucket": [
            a.account_id for a in snap.accounts if a.credits != ledger[a.account_id]],
        "an invoice's amount = amount_paid + written_off + balance_applied + amount_due, as its payments and status say": [
            i.invoice_id for i in snap.invoices if invoice_money_problem(i, [
                p for p in snap.payments if p.invoice_id == i.invoice_id])],
        BALANCE_RULE: balance_problems(snap),
        "an account's status agrees with its subscription's, and its pending invoice is pending": [
            a.account_id for a in snap.accounts if a.subscription_id
            and (a.status == "active") != (a.account_id in paid_accounts)],
        "no invoice has two payments pending_approval": [
            i for i, statuses in by_invoice.items() if statuses["pending_approval"] > 1],
        "every state change has its audit event": [
            entity_id for kind, entity_id, status in entities
            if sorted(audit.get(entity_id, [])) != sorted(trail(kind, entity_id, status))],
    }
