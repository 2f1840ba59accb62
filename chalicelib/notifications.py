"""Email notifications of signup and payment events: what is queued, and how it is delivered.

The use cases call the `queue_*` functions inside their transactions, so an email is queued if and
only if its change commits (the outbox). Delivery happens after the commit — the outbox stream's
handler and a scheduled `drain()` in AWS, a background worker in `make dev` — and renders the
templates in `chalicelib/templates/` and sends through SES. A failed send is retried with backoff
and never touches the payment. jinja2 and the SES client are loaded on first delivery, not at
`import app` (cold start).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib import aws_clients, outbox, store
from chalicelib.clock import now as clock_now
from chalicelib.clock import stamp
from chalicelib.config import get_settings
from chalicelib.models import AccountModel, InvoiceModel, OutboxModel, PaymentModel, PlanModel, UserModel
from chalicelib.money import format_minor
from chalicelib.store import Tx

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
INVOICE_REMINDER = "invoice_reminder"
INVOICE_VOIDED = "invoice_voided"
APPROVAL_OVERDUE = "approval_overdue"
TEMPLATES = (WELCOME_TRIAL, SIGNUP_INVOICE, PAYMENT_SUBMITTED, PAYMENT_AWAITING_APPROVAL,
             PAYMENT_APPROVED, PAYMENT_REJECTED, INVOICE_REMINDER, INVOICE_VOIDED, APPROVAL_OVERDUE)


# Queueing (inside the use cases' transactions; no DynamoDB call of its own) -------------------

def queue_signup(tx: Tx, *, user: UserModel, account: AccountModel, plan: PlanModel,
                 invoice: InvoiceModel | None, at: str) -> None:
    """Welcome a free trial, or send a paid signup its invoice and how to pay it."""
    context: dict[str, Any] = {"name": user.name, "account_name": account.name,
                               "plan_name": plan.name, "credits": account.credits}
    template = WELCOME_TRIAL
    if invoice is not None:
        template = SIGNUP_INVOICE
        context.update(_invoice_context(invoice), credits=invoice.plan_credits,
                       due_date=invoice.due_date, country=invoice.billing_country,
                       preferred_method=invoice.preferred_payment_method)
    outbox.add_message(tx, message_id=f"signup:{account.account_id}:{USER}", template=template,
                       recipient=user.email, entity_id=account.account_id, context=context, at=at)


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
                           period_end: str, at: str) -> None:
    """Tell the user the account is active, the credits added and the invoice paid."""
    context = {**_payment_context(payment, invoice), "credits": invoice.plan_credits,
               "plan": invoice.plan, "paid_at": at[:10], "period_end": period_end[:10]}
    _to_payer(tx, "payment_approved", PAYMENT_APPROVED, payment, context, at)


def queue_payment_rejected(tx: Tx, *, payment: PaymentModel, invoice: InvoiceModel, at: str) -> None:
    """Tell the user why the payment was rejected and how to confirm it again."""
    context = {**_payment_context(payment, invoice), "reason": payment.admin_notes,
               "due_date": invoice.due_date}
    _to_payer(tx, "payment_rejected", PAYMENT_REJECTED, payment, context, at)


def queue_invoice_reminder(tx: Tx, *, invoice: InvoiceModel, at: str) -> None:
    """Remind the billing contact that an unpaid invoice falls due soon (once per invoice)."""
    _to_billing_contact(tx, "invoice_reminder", INVOICE_REMINDER, invoice, at)


def queue_invoice_voided(tx: Tx, *, invoice: InvoiceModel, at: str) -> None:
    """Tell the billing contact the unpaid invoice was voided and the subscription cancelled."""
    _to_billing_contact(tx, "invoice_voided", INVOICE_VOIDED, invoice, at)


def queue_approval_overdue(tx: Tx, *, payment: PaymentModel, invoice: InvoiceModel | None,
                           at: str) -> None:
    """Alert the admins that a payment has awaited approval longer than the target."""
    context = {**(_invoice_context(invoice) if invoice else {}), "payment_id": payment.payment_id,
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
    context = {**_invoice_context(invoice), "due_date": invoice.due_date, "plan": invoice.plan,
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


def _invoice_context(invoice: InvoiceModel) -> dict[str, Any]:
    snapshot = invoice.billing_snapshot
    billing = snapshot.as_dict() if hasattr(snapshot, "as_dict") else dict(snapshot or {})
    return {"invoice_id": invoice.invoice_id, "invoice_number": invoice.invoice_number,
            "amount": format_minor(invoice.amount_minor), "currency": invoice.currency,
            "billing_name": billing.get("billing_name"),
            "payment_reference": invoice.payment_reference or invoice.invoice_number}


def _payment_context(payment: PaymentModel, invoice: InvoiceModel) -> dict[str, Any]:
    return {**_invoice_context(invoice), "payment_id": payment.payment_id,
            "amount": format_minor(payment.amount_minor), "currency": payment.currency,
            "method": payment.method_name or payment.payment_method,
            "reference": payment.manual_reference, "notes": payment.manual_notes}


# Rendering --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Email:
    """A rendered email, as sent."""

    message_id: str
    template: str
    sender: str
    recipient: str
    subject: str
    text: str
    html: str


_DETAIL_LABELS = {"account_title": "Account title", "bank_name": "Bank", "account_number":
                  "Account number", "iban": "IBAN", "swift": "SWIFT/BIC", "ifsc": "IFSC",
                  "sort_code": "Sort code", "wallet_number": "Wallet number", "raast_id": "Raast ID",
                  "upi_id": "UPI ID", "email": "Email", "currency": "Currency"}


def _detail_rows(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A payment method's details as (label, value) rows, in the order a payer reads them."""
    order = list(_DETAIL_LABELS)
    keys = sorted(details, key=lambda k: (order.index(k) if k in order else len(order), k))
    return [(_DETAIL_LABELS.get(k, k.replace("_", " ").capitalize()), str(details[k]))
            for k in keys if details[k] not in (None, "")]


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False,
                                            default=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["detail_rows"] = _detail_rows
    return env


def render(template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of a template; HTML escapes every value, text shows it as is."""
    values = {**context, "web_app_url": get_settings().web_app_url}
    env = _environment()
    module = env.get_template(f"{template}.txt").make_module(values)
    subject = " ".join(str(module.subject).split())  # type: ignore[attr-defined]
    text = str(module).strip() + "\n"
    html = env.get_template(f"{template}.html").render({**values, "subject": subject})
    return subject, text, html


def compose(message: OutboxModel) -> Email:
    """Render an outbox message (a signup invoice also lists the country's payment methods)."""
    context: dict[str, Any] = dict(message.context.as_dict() if hasattr(message.context, "as_dict")
                                   else message.context or {})
    if message.template == SIGNUP_INVOICE:
        context["methods"] = _payment_methods(context.get("country"), context.get("preferred_method"))
    subject, text, html = render(message.template, context)
    return Email(message.message_id, message.template, get_settings().mail_from, message.recipient,
                 subject, text, html)


def _payment_methods(country: str | None, preferred: str | None) -> list[dict[str, Any]]:
    from chalicelib.catalog import methods_for_country

    methods = methods_for_country(country)
    return sorted(methods, key=lambda m: (m["payment_method"] != preferred,
                                         m["country"] is None))  # stable: display order kept


# Sending ------------------------------------------------------------------------------------------

def ses_client() -> Any:
    """The SES client of this container, made on first use (SES_ENDPOINT_URL points it at moto)."""
    return aws_clients.client("ses", get_settings().ses_endpoint_url, connect_timeout=5,
                              read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})


def send(email: Email) -> str:
    """Send through SES with text and HTML parts; SES's message id."""
    utf8 = "UTF-8"
    response = ses_client().send_email(
        Source=email.sender, Destination={"ToAddresses": [email.recipient]},
        Message={"Subject": {"Data": email.subject, "Charset": utf8},
                 "Body": {"Text": {"Data": email.text, "Charset": utf8},
                          "Html": {"Data": email.html, "Charset": utf8}}})
    return str(response["MessageId"])


# Delivery -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt did: sent, retry, parked, skipped, not_due, lost or error."""

    message_id: str
    outcome: str
    email: Email | None = None
    error: str | None = None


def _describe(exc: BaseException) -> str:
    error = getattr(exc, "response", None)
    if isinstance(error, dict) and "Error" in error:
        return f"{error['Error'].get('Code', type(exc).__name__)}: {error['Error'].get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"


def deliver(message_id: str, now: datetime | None = None) -> Delivery:
    """Send one outbox message at most once: claim it, send, mark it sent (or record the failure)."""
    moment = now or clock_now()
    settings = get_settings()
    message = store.get(OutboxModel, message_id, consistent=True)
    if message is None or message.status != outbox.PENDING:
        return Delivery(message_id, "skipped")
    if message.next_attempt_at > stamp(moment):
        return Delivery(message_id, "not_due")
    if message.attempts >= settings.mail_max_attempts:
        parked = outbox.park_abandoned(message, moment)
        return Delivery(message_id, "parked" if parked else "skipped", error=message.last_error)
    token = outbox.claim(message, moment)
    if token is None:
        return Delivery(message_id, "skipped")
    try:
        email = compose(message)
        provider_id = send(email)
    except Exception as exc:  # any failure (SES, template) is recorded, retried, then parked
        error = _describe(exc)
        outcome = outbox.record_failure(message, token, moment, error, settings.mail_max_attempts,
                                        settings.mail_retry_base_seconds)
        log.warning("email %s attempt %d failed (%s): %s", message_id, message.attempts, outcome, error)
        return Delivery(message_id, outcome, error=error)
    if not outbox.mark_sent(message, token, moment, provider_id):
        log.warning("email %s was sent but its claim had expired", message_id)
    return Delivery(message_id, "sent", email=email)


def deliver_many(message_ids: Iterable[str], now: datetime | None = None) -> list[Delivery]:
    """Deliver each message; one that raises (e.g. DynamoDB unavailable) is logged and left queued."""
    results = []
    for message_id in message_ids:
        try:
            results.append(deliver(message_id, now))
        except Exception as exc:  # the message stays pending; the next drain retries it
            log.exception("delivering email %s failed", message_id)
            results.append(Delivery(message_id, "error", error=_describe(exc)))
    return results


def drain(now: datetime | None = None, batch: int = 25, max_messages: int = 500) -> list[Delivery]:
    """Deliver every due message (a query of the sparse `due` index, never a scan)."""
    moment = now or clock_now()
    seen: set[str] = set()
    results: list[Delivery] = []
    while len(results) < max_messages:
        fresh = [mid for mid in outbox.due(moment, batch) if mid not in seen]
        if not fresh:
            break
        seen.update(fresh)
        results += deliver_many(fresh, moment)
    return results
