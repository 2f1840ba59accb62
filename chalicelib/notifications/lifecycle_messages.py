"""What the subscription's life tells the customer: renewal invoices, dunning steps, reactivation,
plan changes and the trial's end, queued in the outbox inside the change's transaction.

A message id names its event and entity (and period), so a step that runs once sends once.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.notifications import messages
from chalicelib.notifications.messages import USER, invoice_context
from chalicelib.storage import outbox
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import InvoiceModel, SubscriptionModel
from chalicelib.storage.store import Tx

log = logging.getLogger(__name__)

RENEWAL_INVOICE = "renewal_invoice"
PAST_DUE = "subscription_past_due"
SUSPENDED = "subscription_suspended"
CANCELLED = "subscription_cancelled"
REACTIVATED = "subscription_reactivated"
PLAN_CHANGED = "plan_changed"
TRIAL_ENDING = "trial_ending"
TRIAL_ENDED = "trial_ended"
TEMPLATES = (RENEWAL_INVOICE, PAST_DUE, SUSPENDED, CANCELLED, REACTIVATED, PLAN_CHANGED,
             TRIAL_ENDING, TRIAL_ENDED)
ALL_TEMPLATES = messages.TEMPLATES + TEMPLATES  # every email the product sends


def _day(stamp: str | None) -> str | None:
    return stamp[:10] if stamp else None


def _plan_name(slug: str | None) -> str | None:
    return slug.replace("_", " ").title() if slug else None


def _to_billing_contact(tx: Tx, sub: SubscriptionModel, message_id: str, template: str,
                        context: dict[str, Any], at: str) -> None:
    recipient = plain(sub.billing_snapshot).get("billing_email")
    if not recipient:
        log.warning("subscription %s has no billing email; %s not queued", sub.subscription_id,
                    template)
        return
    outbox.add_message(tx, message_id=f"{message_id}:{USER}", template=template,
                       recipient=recipient, entity_id=sub.subscription_id,
                       context={"plan": sub.plan, "plan_name": _plan_name(sub.plan), **context},
                       at=at)


def _invoice(invoice: InvoiceModel | None) -> dict[str, Any]:
    return invoice_context(invoice) if invoice is not None else {}


def queue_renewal_invoice(tx: Tx, *, sub: SubscriptionModel, invoice: InvoiceModel, at: str) -> None:
    """The next period's invoice, with how to pay it in the billing country."""
    _to_billing_contact(tx, sub, f"renewal_invoice:{invoice.invoice_id}", RENEWAL_INVOICE, {
        **_invoice(invoice), "due_date": invoice.due_date, "plan": invoice.plan,
        "plan_name": _plan_name(invoice.plan), "credits": invoice.plan_credits,
        "period_start": _day(invoice.period_start), "period_end": _day(invoice.period_end),
        "country": invoice.billing_country, "preferred_method": invoice.preferred_payment_method,
    }, at)


def queue_past_due(tx: Tx, *, sub: SubscriptionModel, invoice: InvoiceModel | None,
                   until: datetime | None, at: str) -> None:
    """The period ended unpaid: pay the renewal before `until` (the suspension)."""
    _to_billing_contact(tx, sub, f"past_due:{sub.subscription_id}:{sub.period}", PAST_DUE, {
        **_invoice(invoice), "due_date": invoice.due_date if invoice else None,
        "period_end": _day(sub.current_period_end), "suspends_at": until.date().isoformat() if until else None,
        "grace_days": get_settings().dunning_grace_days}, at)


def queue_suspended(tx: Tx, *, sub: SubscriptionModel, invoice: InvoiceModel | None,
                    until: datetime | None, at: str) -> None:
    """Suspended: credits unusable until the renewal is paid, cancelled at `until`."""
    _to_billing_contact(tx, sub, f"suspended:{sub.subscription_id}:{sub.period}", SUSPENDED, {
        **_invoice(invoice), "cancels_at": until.date().isoformat() if until else None}, at)


def queue_cancelled(tx: Tx, *, sub: SubscriptionModel, invoice: InvoiceModel | None, reason: str,
                    at: str) -> None:
    _to_billing_contact(tx, sub, f"cancelled:{sub.subscription_id}", CANCELLED, {
        **_invoice(invoice), "reason": reason, "ended_at": _day(at)}, at)


def queue_reactivated(tx: Tx, *, sub: SubscriptionModel, invoice: InvoiceModel, at: str) -> None:
    _to_billing_contact(tx, sub, f"reactivated:{sub.subscription_id}:{sub.period}", REACTIVATED, {
        **_invoice(invoice), "period_end": _day(sub.current_period_end),
        "credits": invoice.plan_credits}, at)


def queue_plan_changed(tx: Tx, *, sub: SubscriptionModel, change: str, key: str, at: str,
                       **context: Any) -> None:
    """`change`: upgrade_invoice | upgraded | downgrade_scheduled | downgrade_cancelled; `key`
    tells this change from the subscription's others (an invoice id, a time)."""
    invoice = context.pop("invoice", None)
    for name in ("old_plan", "new_plan"):
        if name in context:
            context[f"{name}_name"] = _plan_name(context[name])
    _to_billing_contact(tx, sub, f"plan_changed:{sub.subscription_id}:{change}:{key}", PLAN_CHANGED,
                        {**_invoice(invoice), "change": change,
                         "period_end": _day(sub.current_period_end), **context}, at)


def _to_owner(tx: Tx, account: AccountModel, event: str, template: str, context: dict[str, Any],
              at: str) -> None:
    if not account.owner_email:
        log.warning("account %s has no owner email; %s not queued", account.account_id, template)
        return
    outbox.add_message(tx, message_id=f"{event}:{account.account_id}:{USER}", template=template,
                       recipient=account.owner_email, entity_id=account.account_id,
                       context={"account_name": account.name, "name": account.name, **context}, at=at)


def queue_trial_ending(tx: Tx, *, account: AccountModel, days_left: int, at: str) -> None:
    _to_owner(tx, account, "trial_ending", TRIAL_ENDING, {
        "trial_ends_at": _day(account.trial_ends_at), "credits": account.credits,
        "days_left": days_left}, at)


def queue_trial_ended(tx: Tx, *, account: AccountModel, expired: int, at: str) -> None:
    _to_owner(tx, account, "trial_ended", TRIAL_ENDED, {"credits_expired": expired}, at)
