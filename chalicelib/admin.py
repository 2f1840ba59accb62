"""The admin's reading side: the approval queue, a payment's full story, the system status."""
from __future__ import annotations

from typing import Any

from chalicelib import outbox, proofs, references, store
from chalicelib.errors import BadRequest, Invalid, NotFound
from chalicelib.models import (
    AccountModel,
    AuditEventModel,
    CounterModel,
    InvoiceModel,
    OutboxModel,
    PaymentModel,
)
from chalicelib.payments import PENDING
from chalicelib.views import account_view, event_view, invoice_view, notification_view, payment_view

ACCOUNT_STATUSES = ("trial", "pending_payment", "active", "suspended")
_QUEUE_KEY = ("payment_id", "queue", "created_at")
_PARKED_KEY = ("message_id", "parked", "parked_at")


def approval_queue(status: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """Payments awaiting approval, oldest first, each with its account's name."""
    if status not in (None, "", PENDING):
        raise BadRequest("status must be pending_approval (the approval queue).",
                         code="invalid_query", details={"fields": {"status": "unsupported value"}})
    start = store.decode_cursor(cursor, {"queue": PENDING}, _QUEUE_KEY) if cursor else None
    query = PaymentModel.approval_queue.query(PENDING, scan_index_forward=True, limit=limit + 1,
                                              last_evaluated_key=start)
    payments, next_cursor = store.page(query, limit, _QUEUE_KEY)
    account_ids = sorted({p.account_id for p in payments})
    with store.guard():
        accounts = {a.account_id: a for a in AccountModel.batch_get(account_ids)} if account_ids else {}
    items = []
    for payment in payments:
        account = accounts.get(payment.account_id)
        items.append({**payment_view(payment),
                      "account": {"id": payment.account_id, "name": account.name if account else None},
                      **review_hints(payment)})
    return {"items": items, "next_cursor": next_cursor}


def review_hints(payment: PaymentModel) -> dict[str, Any]:
    """What helps an admin check a payment: the invoice's payment reference, whether the payer's
    bank reference contains it, and earlier payments it may duplicate."""
    return {"payment_reference": payment.invoice_reference,
            "flags": {"reference_matches": references.mentions(payment.manual_reference,
                                                              payment.invoice_reference),
                      "near_duplicate_of": list(payment.near_duplicate_of or [])}}


def payment_detail(payment_id: str) -> dict[str, Any]:
    """A payment with its invoice, account and every recorded state change."""
    payment = store.get(PaymentModel, payment_id)
    if payment is None:
        raise NotFound("No such payment.", code="payment_not_found")
    invoice, account = store.transact_get((InvoiceModel, payment.invoice_id),
                                          (AccountModel, payment.account_id))
    with store.guard():
        history = list(AuditEventModel.query(payment.payment_id))
    return {"payment": payment_view(payment), "invoice": invoice_view(invoice),
            "account": account_view(account) if account else None,
            "history": [event_view(event) for event in history], **review_hints(payment),
            "proof_url": proofs.view_url(payment)}


def invoice_by_reference(text: str) -> dict[str, Any]:
    """The invoice a payment reference (e.g. read off a bank statement) belongs to, with its account
    and payments; a reference whose check character fails is a typo, said so rather than 404."""
    if not references.is_valid(text):
        raise Invalid(f"{text[:40]} is not a valid payment reference: a character is wrong or two "
                      "are swapped (references look like PR-7K4Q-X9MP).", code="invalid_reference",
                      details={"fields": {"reference": "check character does not match"}})
    reference = references.format_reference(references.compact(text).removeprefix(references.PREFIX))
    with store.guard():
        invoice = next(iter(InvoiceModel.by_reference.query(reference, limit=1)), None)
    if invoice is None:
        raise NotFound(f"No invoice has the payment reference {reference}.", code="invoice_not_found")
    account = store.get(AccountModel, invoice.account_id)
    with store.guard():
        payments = list(PaymentModel.by_invoice.query(invoice.invoice_id))
    return {"invoice": invoice_view(invoice), "account": account_view(account) if account else None,
            "payments": [payment_view(payment) for payment in payments]}


def system_status() -> dict[str, Any]:
    """The seed's System Status, summed from counter shards (no table is counted by scanning)."""
    keys = ["reference", *store.shard_keys()]
    with store.guard():
        counters = list(CounterModel.batch_get(keys))
    def total(name: str) -> int:
        return sum(getattr(c, name) or 0 for c in counters)
    accounts = {status: total(f"accounts_{status}") for status in ACCOUNT_STATUSES}
    return {"plans_configured": total("plans_configured"),
            "payment_methods_enabled": total("payment_methods_enabled"),
            "accounts": {**accounts, "total": sum(accounts.values())},
            "payments_pending_approval": total("payments_pending_approval")}


def failed_notifications(status: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """Emails parked after too many failed attempts, newest first (a sparse index, no scan)."""
    if status not in (None, "", outbox.FAILED):
        raise BadRequest("status must be failed (emails given up on after repeated failures).",
                         code="invalid_query", details={"fields": {"status": "unsupported value"}})
    start = store.decode_cursor(cursor, {"parked": outbox.PARKED}, _PARKED_KEY) if cursor else None
    query = OutboxModel.failed.query(outbox.PARKED, scan_index_forward=False, limit=limit + 1,
                                     last_evaluated_key=start)
    messages, next_cursor = store.page(query, limit, _PARKED_KEY)
    return {"items": [notification_view(message) for message in messages], "next_cursor": next_cursor}
