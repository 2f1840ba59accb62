"""What each event tells whom: the emails queued in the outbox inside the change's transaction.

The use cases call the `queue_*` functions inside their transactions, so an email is queued if and
only if its change commits (the outbox); `delivery` sends it after the commit.
"""
from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.billing import fx
from chalicelib.core.secrets import keyed_hash
from chalicelib.core.money import format_grouped, format_minor
from chalicelib.storage import outbox
from chalicelib.storage.models.accounts import AccountModel, UserModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, amount_due
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.store import Tx

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
USER, ADMINS = "user", "admins"


# Template names (each is `<name>.txt` + `<name>.html` in TEMPLATES_DIR).
WELCOME_TRIAL = "welcome_trial"


SIGNUP_INVOICE = "signup_invoice"


PAYMENT_SUBMITTED = "payment_submitted"


PAYMENT_AWAITING_APPROVAL = "payment_awaiting_approval"


PAYMENT_APPROVED = "payment_approved"


PAYMENT_REJECTED = "payment_rejected"


PART_PAYMENT_APPROVED = "part_payment_approved"


PAYMENT_REVERSED = "payment_reversed"


INVOICE_REMINDER = "invoice_reminder"


INVOICE_VOIDED = "invoice_voided"


APPROVAL_OVERDUE = "approval_overdue"


ADMIN_INVITATION = "admin_invitation"  # queued by accounts.admin_team


VERIFY_EMAIL = "verify_email"  # the link that verifies an address (never held)


PASSWORD_RESET = "password_reset"  # the link that resets a password (never held)


WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"  # queued by webhooks.failing, to owners


TEMPLATES = (WELCOME_TRIAL, SIGNUP_INVOICE, PAYMENT_SUBMITTED, PAYMENT_AWAITING_APPROVAL,
             PAYMENT_APPROVED, PAYMENT_REJECTED, PART_PAYMENT_APPROVED, PAYMENT_REVERSED, INVOICE_REMINDER, INVOICE_VOIDED, APPROVAL_OVERDUE,
             ADMIN_INVITATION, VERIFY_EMAIL, PASSWORD_RESET, WEBHOOK_ENDPOINT_DISABLED)
# What an address not yet verified still receives: these carry no text a user typed, and their
# link is the point (an invitation's goes to the address an owner typed: receiving it is what
# proves the address).
NEVER_HELD = (ADMIN_INVITATION, VERIFY_EMAIL, PASSWORD_RESET)


def queue_signup(tx: Tx, *, user: UserModel, account: AccountModel, plan: PlanModel,
                 invoice: InvoiceModel | None, at: str, message_key: str | None = None) -> None:
    """Welcome a free trial, or send a paid signup (or a later subscription: `message_key`, its
    invoice) its invoice and how to pay it."""
    context: dict[str, Any] = {"name": user.name, "account_name": account.name,
                               "plan_name": plan.name, "credits": account.credits}
    template = WELCOME_TRIAL
    if invoice is not None:
        template = SIGNUP_INVOICE
        context.update(invoice_context(invoice), credits=invoice.plan_credits,
                       due_date=invoice.due_date, country=invoice.billing_country,
                       preferred_method=invoice.preferred_payment_method)
    outbox.add_message(tx, message_id=f"signup:{message_key or account.account_id}:{USER}",
                       template=template,
                       recipient=user.email, entity_id=account.account_id, context=context, at=at)
    contact = _billing_email(invoice) if invoice is not None else None
    if contact and contact.lower() != user.email.lower():  # a billing contact verifies its own
        queue_verification(tx, address=contact, at=at)


def queue_verification(tx: Tx, *, address: str, at: str) -> str:
    """Send an address its verification link (made when sent; a new one replaces the earlier)."""
    address = address.strip().lower()
    key = address_key(address)
    message_id = f"verify_email:{key}-{secrets.token_hex(6)}:{USER}"
    outbox.add_message(tx, message_id=message_id, template=VERIFY_EMAIL, recipient=address,
                       entity_id=key, context={"hours": get_settings().verify_ttl_seconds // 3600},
                       at=at)
    return message_id


def address_key(address: str) -> str:
    """The key of an address's record (verified or not, what is held for it): a keyed hash of it,
    lower-cased."""
    return keyed_hash(b"address:" + address.strip().lower().encode())[:32]


def password_reset_message(tx: Tx, *, address: str | None, message_id: str, at: str) -> None:
    """Send a user the link that resets their password; with no user (`address` None), the same
    work without the email: a check that the message does not exist, in its place."""
    if address is None:
        tx.check(f"outbox:{message_id}", OutboxModel, message_id,
                 condition=OutboxModel.message_id.does_not_exist())
        return
    outbox.add_message(tx, message_id=message_id, template=PASSWORD_RESET, recipient=address,
                       entity_id=message_id.split(":")[1],
                       context={"minutes": get_settings().reset_ttl_seconds // 60}, at=at)


def _billing_email(invoice: InvoiceModel) -> str | None:
    snapshot = invoice.billing_snapshot
    billing = snapshot.as_dict() if hasattr(snapshot, "as_dict") else dict(snapshot or {})
    return billing.get("billing_email")


def queue_payment_submitted(tx: Tx, *, payment: PaymentModel, invoice: InvoiceModel, at: str) -> None:
    """Tell the user their confirmation arrived, and the admins that a payment awaits approval."""
    context = _payment_context(payment, invoice)
    _to_payer(tx, "payment_submitted", PAYMENT_SUBMITTED, payment, context, at)
    outbox.add_message(tx, message_id=f"payment_submitted:{payment.payment_id}:{ADMINS}",
                       template=PAYMENT_AWAITING_APPROVAL,
                       recipient=get_settings().admin_notify_email, entity_id=payment.payment_id,
                       context={**context, "payer_email": payment.payer_email,
                                "account_id": payment.account_id}, at=at)


def queue_payment_approved(tx: Tx, *, payment: PaymentModel, invoice: InvoiceModel,
                           period_end: str, at: str, starts_on: str | None = None) -> None:
    """Tell the user the invoice is paid and what it brought: the account active with its credits,
    or (a renewal paid before its period) the next period paid, its credits due on `starts_on`."""
    credits = invoice.upgrade_credits if invoice.kind == "upgrade" else invoice.plan_credits
    context = {**_payment_context(payment, invoice), "credits": credits or 0,
               "plan": invoice.plan, "paid_at": at[:10], "period_end": period_end[:10],
               "starts_on": starts_on[:10] if starts_on else None, "kind": invoice.kind or "signup"}
    _to_payer(tx, "payment_approved", PAYMENT_APPROVED, payment, context, at)


def queue_part_payment_approved(tx: Tx, *, payment: PaymentModel, invoice: InvoiceModel,
                                at: str) -> None:
    """Tell the user a part payment was approved and what remains due (nothing is activated
    until the invoice is paid in full)."""
    context = {**_payment_context(payment, invoice), "due_date": invoice.due_date,
               "kind": invoice.kind or "signup"}
    _to_payer(tx, "part_payment_approved", PART_PAYMENT_APPROVED, payment, context, at)


def queue_payment_rejected(tx: Tx, *, payment: PaymentModel, invoice: InvoiceModel, at: str) -> None:
    """Tell the user why the payment was rejected and how to confirm it again."""
    context = {**_payment_context(payment, invoice), "reason": payment.admin_notes,
               "due_date": invoice.due_date}
    _to_payer(tx, "payment_rejected", PAYMENT_REJECTED, payment, context, at)


def queue_payment_reversed(tx: Tx, *, payment: PaymentModel, invoice: InvoiceModel, at: str,
                           past_due: bool) -> None:
    """Tell the payer that an approved payment was reversed, why, and what is due again
    (`past_due`: the subscription is past due now)."""
    context = {**_payment_context(payment, invoice), "reason": payment.reversal_reason,
               "past_due": "yes" if past_due else "",
               "due_date": invoice.due_date, "amount_due": format_minor(invoice.amount_due_minor or 0),
               "invoice_currency": invoice.currency}
    _to_payer(tx, "payment_reversed", PAYMENT_REVERSED, payment, context, at)


def queue_invoice_reminder(tx: Tx, *, invoice: InvoiceModel, at: str) -> None:
    """Remind the billing contact that an unpaid invoice falls due soon (once per invoice)."""
    _to_billing_contact(tx, "invoice_reminder", INVOICE_REMINDER, invoice, at)


def queue_invoice_voided(tx: Tx, *, invoice: InvoiceModel, at: str) -> None:
    """Tell the billing contact the unpaid invoice was voided and the subscription cancelled."""
    _to_billing_contact(tx, "invoice_voided", INVOICE_VOIDED, invoice, at)


def queue_approval_overdue(tx: Tx, *, payment: PaymentModel, invoice: InvoiceModel | None,
                           at: str) -> None:
    """Alert the admins that a payment has awaited approval longer than the target."""
    context = {**(invoice_context(invoice) if invoice else {}), "payment_id": payment.payment_id,
               "amount": format_minor(payment.amount_minor), "currency": payment.currency,
               "method": payment.method_name or payment.payment_method,
               "reference": payment.manual_reference, "payer_email": payment.payer_email,
               "submitted_at": payment.created_at[:16].replace("T", " ") + " UTC",
               "sla_hours": get_settings().approval_sla_hours}
    outbox.add_message(tx, message_id=f"approval_overdue:{payment.payment_id}:{ADMINS}",
                       template=APPROVAL_OVERDUE, recipient=get_settings().admin_notify_email,
                       entity_id=payment.payment_id, context=context, at=at)


def _to_billing_contact(tx: Tx, event: str, template: str, invoice: InvoiceModel, at: str) -> None:
    snapshot = invoice.billing_snapshot
    billing = snapshot.as_dict() if hasattr(snapshot, "as_dict") else dict(snapshot or {})
    recipient = billing.get("billing_email")
    if not recipient:
        log.warning("invoice %s has no billing email; %s not queued", invoice.invoice_id, template)
        return
    context = {**invoice_context(invoice), "due_date": invoice.due_date, "plan": invoice.plan,
               "grace_days": get_settings().invoice_grace_days}
    outbox.add_message(tx, message_id=f"{event}:{invoice.invoice_id}:{USER}", template=template,
                       recipient=recipient, entity_id=invoice.invoice_id, context=context, at=at)


def _to_payer(tx: Tx, event: str, template: str, payment: PaymentModel, context: dict[str, Any],
              at: str) -> None:
    if not payment.payer_email:  # a payment confirmed before notifications existed
        log.warning("payment %s has no payer email; %s not queued", payment.payment_id, template)
        return
    outbox.add_message(tx, message_id=f"{event}:{payment.payment_id}:{USER}", template=template,
                       recipient=payment.payer_email, entity_id=payment.payment_id,
                       context=context, at=at)


def invoice_context(invoice: InvoiceModel) -> dict[str, Any]:
    snapshot = invoice.billing_snapshot
    billing = snapshot.as_dict() if hasattr(snapshot, "as_dict") else dict(snapshot or {})
    due = amount_due(invoice)
    return {"invoice_id": invoice.invoice_id, "invoice_number": invoice.invoice_number,
            "amount": format_minor(invoice.amount_minor), "currency": invoice.currency,
            "billing_name": billing.get("billing_name"),
            "payment_reference": invoice.payment_reference or invoice.invoice_number,
            "invoice_currency": invoice.currency,
            "amount_due": format_minor(due),
            # the outbox keeps text: None is left out, the quotes are JSON (delivery reads them back)
            "paid_from_balance": "yes" if invoice.status == "paid" and not due else None,
            "quotes": json.dumps({q.currency: format_grouped(fx.local_due(due, q), q.currency)
                                  for q in invoice.quotes or []}) if invoice.quotes and due else None}


def _payment_context(payment: PaymentModel, invoice: InvoiceModel) -> dict[str, Any]:
    return {**invoice_context(invoice), "payment_id": payment.payment_id,
            "amount": format_minor(payment.amount_minor), "currency": payment.currency,
            "method": payment.method_name or payment.payment_method,
            "reference": payment.manual_reference, "notes": payment.manual_notes}
