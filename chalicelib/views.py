"""How entities look on the wire: money as "89.00" strings, ISO 8601 UTC times, opaque ids."""
from __future__ import annotations

from typing import Any

from chalicelib.clock import public_time
from chalicelib.models import (
    AccountModel,
    AuditEventModel,
    InvoiceModel,
    OutboxModel,
    PaymentMethodModel,
    PaymentModel,
    PlanModel,
    SubscriptionModel,
    UserModel,
)
from chalicelib.money import format_minor


def _map(value: Any) -> dict[str, Any]:
    return value.as_dict() if hasattr(value, "as_dict") else dict(value or {})


def user_view(user: UserModel) -> dict[str, Any]:
    """A user, never with its password hash."""
    return {"id": user.user_id, "email": user.email, "name": user.name, "role": user.role,
            "account_id": user.account_id, "created_at": public_time(user.created_at)}


def account_view(account: AccountModel) -> dict[str, Any]:
    """An account with its status and credit balance."""
    return {"id": account.account_id, "name": account.name, "status": account.status,
            "credits": account.credits, "plan": account.plan,
            "billing_country": account.billing_country,
            "created_at": public_time(account.created_at)}


def subscription_view(sub: SubscriptionModel | None) -> dict[str, Any] | None:
    """A subscription, or None."""
    if sub is None:
        return None
    return {"id": sub.subscription_id, "account_id": sub.account_id, "plan": sub.plan,
            "status": sub.status, "current_period_start": public_time(sub.current_period_start),
            "current_period_end": public_time(sub.current_period_end),
            "created_at": public_time(sub.created_at)}


def invoice_view(invoice: InvoiceModel | None) -> dict[str, Any] | None:
    """An invoice, or None."""
    if invoice is None:
        return None
    return {"id": invoice.invoice_id, "invoice_number": invoice.invoice_number,
            "account_id": invoice.account_id, "subscription_id": invoice.subscription_id,
            "status": invoice.status, "amount": format_minor(invoice.amount_minor),
            "currency": invoice.currency, "plan": invoice.plan,
            "billing_snapshot": _map(invoice.billing_snapshot),
            "preferred_payment_method": invoice.preferred_payment_method,
            "due_date": invoice.due_date, "created_at": public_time(invoice.created_at),
            "paid_at": public_time(invoice.paid_at),
            "payment_reference": invoice.payment_reference}


def payment_view(payment: PaymentModel | None) -> dict[str, Any] | None:
    """A payment confirmation and its decision, or None."""
    if payment is None:
        return None
    return {"id": payment.payment_id, "invoice_id": payment.invoice_id,
            "account_id": payment.account_id, "status": payment.status,
            "payment_method": payment.payment_method, "amount": format_minor(payment.amount_minor),
            "currency": payment.currency, "manual_reference": payment.manual_reference,
            "manual_notes": payment.manual_notes, "admin_notes": payment.admin_notes,
            "created_at": public_time(payment.created_at),
            "decided_at": public_time(payment.decided_at), "decided_by": payment.decided_by,
            "proof": None if not payment.proof_key else {
                "content_type": payment.proof_content_type, "size": payment.proof_size,
                "uploaded_at": public_time(payment.proof_uploaded_at)}}


def plan_view(plan: PlanModel) -> dict[str, Any]:
    """A plan of the catalog."""
    return {"slug": plan.slug, "name": plan.name, "price": format_minor(plan.price_minor),
            "currency": plan.currency, "billing_cycle": plan.billing_cycle,
            "credits": plan.credits, "features": list(plan.features or [])}


def method_view(method: PaymentMethodModel) -> dict[str, Any]:
    """A payment method with what a payer needs; `country` is None for a global one."""
    return {"id": method.method_id, "payment_method": method.payment_method,
            "display_name": method.display_name, "instructions": method.instructions,
            "country": None if method.country == "GLOBAL" else method.country,
            "details": _map(method.details)}


def event_view(event: AuditEventModel) -> dict[str, Any]:
    """One entry of an entity's history."""
    return {"at": public_time(event.at), "entity_type": event.entity_type,
            "entity_id": event.entity_id, "action": event.action, "actor": event.actor,
            "from_status": event.from_status, "to_status": event.to_status, "notes": event.notes}


def notification_view(message: OutboxModel) -> dict[str, Any]:
    """An outbox email as admins see it: what, to whom, about what, and how delivery went."""
    return {"id": message.message_id, "template": message.template, "recipient": message.recipient,
            "entity_id": message.entity_id, "status": message.status, "attempts": message.attempts,
            "last_error": message.last_error, "created_at": public_time(message.created_at),
            "last_attempt_at": public_time(message.last_attempt_at),
            "parked_at": public_time(message.parked_at), "sent_at": public_time(message.sent_at)}
