"""How subscriptions, invoices, payments and their history look on the wire: money as "89.00"
strings, ISO 8601 UTC times.
"""
from __future__ import annotations

from typing import Any

from chalicelib.core.clock import public_time, stamp
from chalicelib.core.money import format_minor
from chalicelib.storage.models.base import plain
from chalicelib.billing import fx
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel, amount_due, worth
from chalicelib.storage.models.records import AuditEventModel


def subscription_view(sub: SubscriptionModel | None) -> dict[str, Any] | None:
    """A subscription, or None."""
    if sub is None:
        return None
    from chalicelib.billing import lifecycle

    def moment(value: Any) -> str | None:
        return public_time(stamp(value)) if value else None

    return {"id": sub.subscription_id, "account_id": sub.account_id, "plan": sub.plan,
            "status": sub.status, "current_period_start": public_time(sub.current_period_start),
            "current_period_end": public_time(sub.current_period_end),
            "created_at": public_time(sub.created_at),
            "cancel_at_period_end": bool(sub.cancel_at_period_end),
            "scheduled_plan": sub.scheduled_plan,
            "next_invoice_at": moment(lifecycle.next_invoice_at(sub)),
            "renewal_invoice_id": sub.renewal_invoice_id,
            "upgrade_invoice_id": sub.upgrade_invoice_id,
            "suspends_at": moment(lifecycle.suspends_at(sub)),
            "cancels_at": moment(lifecycle.cancels_at(sub))}


def invoice_view(invoice: InvoiceModel | None) -> dict[str, Any] | None:
    """An invoice, or None."""
    if invoice is None:
        return None
    due = amount_due(invoice)
    paid = invoice.amount_paid_minor if invoice.amount_paid_minor is not None else (
        invoice.amount_minor - (invoice.balance_applied_minor or 0) if invoice.status == "paid" else 0)
    return {"id": invoice.invoice_id, "invoice_number": invoice.invoice_number,
            "account_id": invoice.account_id, "subscription_id": invoice.subscription_id,
            "status": invoice.status, "amount": format_minor(invoice.amount_minor),
            "currency": invoice.currency, "plan": invoice.plan,
            "billing_snapshot": plain(invoice.billing_snapshot),
            "preferred_payment_method": invoice.preferred_payment_method,
            "due_date": invoice.due_date, "created_at": public_time(invoice.created_at),
            "paid_at": public_time(invoice.paid_at),
            "payment_reference": invoice.payment_reference, "kind": invoice.kind or "signup",
            "period_start": public_time(invoice.period_start),
            "period_end": public_time(invoice.period_end),
            "amount_due": format_minor(due), "amount_paid": format_minor(paid),
            "written_off": format_minor(invoice.written_off_minor or 0),
            "balance_applied": format_minor(invoice.balance_applied_minor or 0),
            "quotes": [fx.quote_view(quote, due) for quote in invoice.quotes or []]}


def payment_view(payment: PaymentModel | None) -> dict[str, Any] | None:
    """A payment confirmation and its decision, or None."""
    if payment is None:
        return None
    return {"id": payment.payment_id, "invoice_id": payment.invoice_id,
            "account_id": payment.account_id, "status": payment.status,
            "payment_method": payment.payment_method, "method_name": payment.method_name,
            "amount": format_minor(payment.amount_minor),
            "currency": payment.currency, "manual_reference": payment.manual_reference,
            "manual_notes": payment.manual_notes, "admin_notes": payment.admin_notes,
            "created_at": public_time(payment.created_at),
            "decided_at": public_time(payment.decided_at), "decided_by": payment.decided_by,
            "proof": None if not payment.proof_key else {
                "content_type": payment.proof_content_type, "size": payment.proof_size,
                "uploaded_at": public_time(payment.proof_uploaded_at)},
            "settles": payment.settles or "full",
            "applied": format_minor(payment.applied_minor if payment.applied_minor is not None
                                    else payment.amount_minor),
            "written_off": format_minor(payment.written_off_minor or 0),
            "excess": format_minor(payment.excess_minor or 0), "rate": payment.rate,
            "invoice_currency": fx.BASE if payment.rate else payment.currency,
            "source": payment.source or "confirmation",
            "statement_line_id": payment.statement_line_id,
            "approvals": approvals_view(payment), "approvals_required": approvals_required(payment),
            "reversal": None if not payment.reversed_at else {
                "at": public_time(payment.reversed_at), "by": payment.reversed_by,
                "reason": payment.reversal_reason}}


BILLING_TEAM = "our billing team"


def customer_payment_view(payment: PaymentModel | None) -> dict[str, Any] | None:
    """`payment_view` for the customer: who decided, approved or reversed is a role, never an
    admin's email (those are for admin routes only)."""
    view = payment_view(payment)
    if view is None:
        return None
    if view["decided_by"]:
        view["decided_by"] = BILLING_TEAM
    view["approvals"] = [{**approval, "by": BILLING_TEAM} for approval in view["approvals"]]
    if view["reversal"]:
        view["reversal"] = {**view["reversal"], "by": BILLING_TEAM}
    return view


def approvals_required(payment: PaymentModel) -> int:
    """2 for a payment worth more than SECOND_APPROVAL_ABOVE (two admins approve it), else 1."""
    from chalicelib.core.config import get_settings

    return 2 if worth(payment) > get_settings().second_approval_above_minor else 1


def approvals_view(payment: PaymentModel) -> list[dict[str, Any]]:
    """Who approved and when: the first of two, and the deciding approval."""
    out = []
    if payment.first_approved_by:
        out.append({"by": payment.first_approved_by, "at": public_time(payment.first_approved_at)})
    if payment.status == "succeeded" and payment.decided_by:
        out.append({"by": payment.decided_by, "at": public_time(payment.decided_at)})
    return out


def event_view(event: AuditEventModel) -> dict[str, Any]:
    """One entry of an entity's history."""
    return {"at": public_time(event.at), "entity_type": event.entity_type,
            "entity_id": event.entity_id, "action": event.action, "actor": event.actor,
            "from_status": event.from_status, "to_status": event.to_status, "notes": event.notes}
