"""Renewal invoices: issued RENEWAL_LEAD_DAYS before the period ends, for the plan the next period
will have, due when it starts; one per period and revision (a downgrade or a resume voids the
issued one and issues the next revision), its id derived from both so that two job runs make one.

Issuing costs two DynamoDB calls: the invoice number's counter and one transaction (the invoice,
the subscription's pointer and due time, the account's pending invoice, audit, email). Everything
else comes from the subscription item the due index returned and the plan catalog, read once.
"""
from __future__ import annotations

from datetime import datetime
from chalicelib.billing import balance, fx
from chalicelib.billing.lifecycle import SYSTEM, next_version, sweep_actions, unchanged
from chalicelib.billing.periods import period
from chalicelib.billing.references import new_reference
from chalicelib.core.clock import parse_stamp, stamp
from chalicelib.notifications import lifecycle_messages as mail
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import OPEN_INVOICE, InvoiceModel, SubscriptionModel
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.store import Tx


def renewal_id(sub: SubscriptionModel, number: int, revision: int) -> str:
    """The renewal invoice of period `number`, revision `revision`, of this subscription."""
    return f"inv_{sub.subscription_id.removeprefix('sub_')}_p{number}_r{revision}"


def new_invoice(sub: SubscriptionModel, *, invoice_id: str, kind: str, plan: PlanModel,
                amount_minor: int, credits: int, due_date: str, at: str,
                period_number: int | None, period_start: str | None,
                period_end: str | None) -> InvoiceModel:
    """An invoice of the subscription, numbered from its year's sequence (one counter call)."""
    year = at[:4]
    number = store.next_sequence(f"invoice_number#{year}")
    invoice = InvoiceModel(
        invoice_id, invoice_number=f"INV-{year}-{number:06d}", account_id=sub.account_id,
        subscription_id=sub.subscription_id, status="pending", amount_minor=amount_minor,
        currency=plan.currency, plan=plan.slug, plan_credits=credits,
        billing_snapshot=plain(sub.billing_snapshot),
        billing_country=sub.billing_country or "", preferred_payment_method=sub.preferred_payment_method,
        due_date=due_date, created_at=at, payment_reference=new_reference(),
        open=store.spread(OPEN_INVOICE, invoice_id), created_month=store.spread(at[:7], invoice_id),
        kind=kind, period=period_number,
        period_start=period_start, period_end=period_end)
    return settle(None, invoice, 0, actor=SYSTEM, at=at)


def settle(tx: Tx | None, invoice: InvoiceModel, balance_read: int, *, actor: str,
           at: str) -> InvoiceModel:
    """Fix a new invoice's money at issue: the account's balance (as read) applied to it (paid at
    once when it covers it), and the quotes of what is then due in its country's currencies."""
    if tx is not None:
        balance.apply_to(tx, invoice, balance_read, actor=actor, at=at)
    else:
        invoice.amount_due_minor, invoice.amount_paid_minor = invoice.amount_minor, 0
        invoice.written_off_minor, invoice.balance_applied_minor = 0, 0
    due = invoice.amount_due_minor or 0
    invoice.quotes = fx.quotes(due, invoice.currency, invoice.billing_country) if due else []
    return invoice


def add_renewal(tx: Tx, sub: SubscriptionModel, plan: PlanModel, at: str, mail_at: str,
                actor: str = SYSTEM) -> InvoiceModel:
    """Add the next period's renewal invoice to `tx`, and point the subscription and account at it.
    With money in the account's balance (the subscription says so: one read more), it is applied;
    a renewal it covers is paid at once."""
    number = (sub.period or 0) + 1
    start, end = period(parse_stamp(sub.anchor), number)
    invoice = new_invoice(sub, invoice_id=renewal_id(sub, number, sub.renewal_revision or 0),
                          kind="renewal", plan=plan, amount_minor=plan.price_minor,
                          credits=plan.credits, due_date=start.date().isoformat(), at=at,
                          period_number=number, period_start=stamp(start), period_end=stamp(end))
    sub_actions, account_condition = [], AccountModel.account_id.exists()
    if sub.balance_pending and not balance.touched(tx, sub.account_id):
        account = store.get(AccountModel, sub.account_id, consistent=True)
        held = balance.of(account)
        settle(tx, invoice, held, actor=actor, at=at)
        if held <= invoice.amount_minor:  # all of it used (or none was left): no more to apply
            sub.balance_pending = None
            sub_actions.append(SubscriptionModel.balance_pending.remove())
            if held == 0:
                account_condition &= (AccountModel.balance_minor == 0) | AccountModel.balance_minor.does_not_exist()
    paid = invoice.status == "paid"
    tx.put("renewal", invoice, InvoiceModel.invoice_id.does_not_exist())
    read = unchanged(sub)
    sub.renewal_invoice_id = invoice.invoice_id
    if paid:
        sub.paid_through = number
        sub_actions.append(SubscriptionModel.paid_through.set(number))
    tx.update("subscription", sub, [SubscriptionModel.renewal_invoice_id.set(invoice.invoice_id),
                                    SubscriptionModel.updated_at.set(at), *sweep_actions(sub),
                                    *next_version(sub), *sub_actions],
              condition=read & (SubscriptionModel.status == "active")
              & SubscriptionModel.renewal_invoice_id.does_not_exist())
    if not paid:
        tx.update("account", AccountModel(sub.account_id),
                  [AccountModel.pending_invoice_id.set(invoice.invoice_id)], condition=account_condition)
    add_audit(tx, entity_type="invoice", entity_id=invoice.invoice_id, action="renewal_issued",
              from_status=None, to_status="pending", actor=actor, at=at)
    if paid:
        add_audit(tx, entity_type="invoice", entity_id=invoice.invoice_id, action="paid_from_balance",
                  from_status="pending", to_status="paid", actor=actor, at=at)
    mail.queue_renewal_invoice(tx, sub=sub, invoice=invoice, at=mail_at)
    return invoice


def issue(sub: SubscriptionModel, plan: PlanModel, moment: datetime, mail_at: str) -> InvoiceModel | None:
    """Issue the renewal invoice in its own transaction; None if another run (or the customer)
    changed the subscription first."""
    tx = Tx()
    invoice = add_renewal(tx, sub, plan, stamp(moment), mail_at)
    return invoice if store.commit_or_skip(tx, sub.subscription_id) else None
