"""The admin's review of payments: the approval queue with its hints, a payment's full story, an
invoice found by its payment reference.
"""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.views import account_view
from chalicelib.billing import proofs, references
from chalicelib.billing.payments import PENDING
from chalicelib.billing.views import event_view, invoice_view, payment_view
from chalicelib.core.errors import BadRequest, Invalid, NotFound
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.core.clock import public_time
from chalicelib.storage.models.billing import OPEN_INVOICE, InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.records import AuditEventModel


def approval_queue(status: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """Payments awaiting approval, oldest first, each with its account's name and owner's email."""
    if status not in (None, "", PENDING):
        raise BadRequest("status must be pending_approval (the approval queue).",
                         code="invalid_query", details={"fields": {"status": "unsupported value"}})
    payments, next_cursor = store.merged_page(PaymentModel.approval_queue, PENDING, "created_at",
                                              "payment_id", limit, cursor)
    account_ids = sorted({p.account_id for p in payments})
    with store.guard():
        accounts = {a.account_id: a for a in AccountModel.batch_get(account_ids)} if account_ids else {}
    items = []
    for payment in payments:
        account = accounts.get(payment.account_id)
        items.append({**payment_view(payment),
                      "account": {"id": payment.account_id, "name": account.name if account else None,
                                  "owner_email": account.owner_email if account else None},
                      **review_hints(payment)})
    return {"items": items, "next_cursor": next_cursor}


def renewals(limit: int, cursor: str | None) -> dict[str, Any]:
    """Unpaid renewal invoices, soonest due first, each with its subscription and account state."""
    invoices, next_cursor = store.merged_page(
        InvoiceModel.open_by_due_date, OPEN_INVOICE, "due_date", "invoice_id", limit, cursor,
        range_condition=InvoiceModel.due_date >= "0", filter_condition=InvoiceModel.kind == "renewal")
    keys = sorted({i.subscription_id for i in invoices})
    account_ids = sorted({i.account_id for i in invoices})
    with store.guard():
        subs = {s.subscription_id: s for s in SubscriptionModel.batch_get(keys)} if keys else {}
        accounts = {a.account_id: a for a in AccountModel.batch_get(account_ids)} if account_ids else {}
    items = []
    for invoice in invoices:
        sub, account = subs.get(invoice.subscription_id), accounts.get(invoice.account_id)
        items.append({**invoice_view(invoice),
                      "payment_pending": bool(invoice.pending_payment_id),
                      "subscription": sub and {"id": sub.subscription_id, "status": sub.status,
                                               "plan": sub.plan,
                                               "current_period_end": public_time(sub.current_period_end)},
                      "account": account and {"id": account.account_id, "name": account.name,
                                              "status": account.status}})
    return {"items": items, "next_cursor": next_cursor}


def review_hints(payment: PaymentModel) -> dict[str, Any]:
    """What helps an admin check a payment: the invoice's payment reference, whether the payer's
    bank reference contains it, earlier payments it may duplicate, the rejected payment it
    resubmits, and other accounts' payments with the same (method, bank reference)."""
    resubmits = {"payment_id": payment.resubmits,
                 "rejection_reason": payment.resubmits_reason} if payment.resubmits else None
    return {"payment_reference": payment.invoice_reference,
            "flags": {"reference_matches": references.mentions(payment.manual_reference,
                                                              payment.invoice_reference),
                      "near_duplicate_of": list(payment.near_duplicate_of or []),
                      "resubmits": resubmits,
                      "reference_clash_with": list(payment.reference_clash_with or [])}}


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
