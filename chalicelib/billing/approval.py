"""What an approved invoice brings, by kind, added to the approval's transaction:

- signup: the subscription is anchored at the approval (period 0, one calendar month), it and the
  account become active, the plan's credits are the allowance, and a trial's remaining credits
  move to `extra` (`trial_carried_over`): never lost by paying.
- renewal: the next period is paid. Before the period end it only says so (the jobs roll the
  period at its end: an early payment adds no period); at or after it (a past-due or suspended
  subscription) the period rolls now and the subscription and account are active again.
- topup: the pack's credits go to `extra`; nothing else changes.
- upgrade: the plan switches now and the allowance grows by the invoice's prorated credits; an
  issued, unpaid renewal for the old plan is voided so that the jobs issue it for the new plan.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.accounts import trials
from chalicelib.billing import lifecycle
from chalicelib.billing.periods import period
from chalicelib.core.clock import parse_stamp, stamp
from chalicelib.core.errors import Conflict
from chalicelib.credits.ledger import ALLOWANCE, EXTRA, Buckets
from chalicelib.notifications import lifecycle_messages as mail
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import PAYABLE, InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.store import Tx


def apply(tx: Tx, payment: PaymentModel | None, invoice: InvoiceModel, sub: SubscriptionModel,
          account: AccountModel, actor: str, moment: datetime, notes: str | None) -> str:
    """Add the invoice kind's effects to `tx`; the end of the period the payment covers. (A
    renewal paid before its period starts leaves the subscription's period as it is.) `payment`
    is None for an invoice the account's balance paid."""
    kind = invoice.kind or "signup"
    if kind == "renewal":
        if invoice.period == (sub.period or 0) and (sub.paid_through or 0) < (invoice.period or 0):
            return _reinstate(tx, payment, invoice, sub, account, actor, moment)
        return _renewal(tx, invoice, sub, account, actor, moment)
    if kind == "upgrade":
        return _upgrade(tx, invoice, sub, account, actor, moment)
    if kind == "topup":
        return _topup(tx, invoice, sub, account, actor, moment)
    return _signup(tx, payment, invoice, sub, account, actor, moment, notes)


def _signup(tx: Tx, payment: PaymentModel | None, invoice: InvoiceModel, sub: SubscriptionModel,
            account: AccountModel, actor: str, moment: datetime, notes: str | None) -> str:
    at = stamp(moment)
    _, end = period(moment, 0)  # the first approval anchors the subscription's periods
    sub.anchor, sub.period, sub.paid_through = at, 0, 0
    sub.current_period_start, sub.current_period_end = at, stamp(end)
    lifecycle.move_subscription(tx, sub, "active", [
        SubscriptionModel.anchor.set(at), SubscriptionModel.period.set(0),
        SubscriptionModel.paid_through.set(0), SubscriptionModel.current_period_start.set(at),
        SubscriptionModel.current_period_end.set(sub.current_period_end)],
        action="payment_approved", actor=actor, at=at)
    credits = Buckets(tx, account, actor=actor, at=at)
    if account.status == "trial" and credits.allowance > 0:
        carried = credits.allowance
        credits.move(ALLOWANCE, -carried, entry_id="trial#carried_out", reason="trial_carried_over")
        credits.move(EXTRA, carried, entry_id="trial#carried_in", reason="trial_carried_over")
    paid_by = payment.payment_id if payment is not None else invoice.invoice_id
    credits.move(ALLOWANCE, invoice.plan_credits, entry_id=f"payment#{paid_by}",
                 reason="plan_purchase", reference=paid_by)
    credits.renewed = True  # the plan's first allowance
    actions = [*credits.actions(), AccountModel.plan.set(invoice.plan), *trials.stop_actions(),
               AccountModel.current_period_end.set(sub.current_period_end)]
    if account.pending_invoice_id == invoice.invoice_id:
        actions.append(AccountModel.pending_invoice_id.remove())
    account.plan = invoice.plan
    lifecycle.move_account(tx, account, "active", actions, action="payment_approved", actor=actor,
                           at=at, condition=credits.condition(), notes=notes)
    return sub.current_period_end


def _renewal(tx: Tx, invoice: InvoiceModel, sub: SubscriptionModel, account: AccountModel,
             actor: str, moment: datetime) -> str:
    at = stamp(moment)
    if invoice.period != (sub.period or 0) + 1 or sub.status not in lifecycle.RUNNING:
        raise Conflict("This renewal invoice is not for the subscription's next period.",
                       code="state_conflict")
    ended = parse_stamp(sub.current_period_end) <= moment
    if sub.status != "active" or ended:
        extra: list[Any] = []
        voided: tuple[str, ...] = ()
        upgrade = InvoiceModel.get(sub.upgrade_invoice_id) if sub.upgrade_invoice_id else None
        if upgrade is not None and upgrade.status in PAYABLE and not upgrade.pending_payment_id:
            # the ended period's upgrade: void, as the jobs do at a period end
            lifecycle.void_invoice(tx, upgrade, "upgrade_expired", actor, at)
            sub.upgrade_invoice_id = None
            extra, voided = [SubscriptionModel.upgrade_invoice_id.remove()], (upgrade.invoice_id,)
        lifecycle.roll(tx, sub, account, invoice, actor, at, paying=True, extra=extra, voided=voided)
        return sub.current_period_end
    sub.paid_through = invoice.period
    lifecycle.move_subscription(tx, sub, "active",
                                [SubscriptionModel.paid_through.set(invoice.period)],
                                action="renewal_paid", actor=actor, at=at)
    if account.pending_invoice_id == invoice.invoice_id:
        tx.update("account", account, [AccountModel.pending_invoice_id.remove()],
                  condition=AccountModel.pending_invoice_id == invoice.invoice_id)
        account.pending_invoice_id = None
    return invoice.period_end or sub.current_period_end


def _reinstate(tx: Tx, payment: PaymentModel | None, invoice: InvoiceModel, sub: SubscriptionModel,
               account: AccountModel, actor: str, moment: datetime) -> str:
    """The running period's renewal paid again after its payment was reversed (billing.reversal):
    the subscription and account are active again, and the credits the reversal took back are
    given back.""" 
    at = stamp(moment)
    if sub.status not in lifecycle.RUNNING or sub.renewal_invoice_id != invoice.invoice_id:
        raise Conflict("This renewal invoice is not the one the subscription waits for.",
                       code="state_conflict")
    sub.paid_through, sub.renewal_invoice_id, sub.past_due_at = invoice.period, None, None
    lifecycle.move_subscription(tx, sub, "active", [
        SubscriptionModel.paid_through.set(invoice.period),
        SubscriptionModel.renewal_invoice_id.remove(), SubscriptionModel.past_due_at.remove()],
        action="period_reinstated", actor=actor, at=at)
    credits = Buckets(tx, account, actor=actor, at=at)
    paid_by = payment.payment_id if payment is not None else invoice.invoice_id
    credits.move(ALLOWANCE, invoice.credits_taken_back or 0,
                 entry_id=f"reinstated#{invoice.invoice_id}#{paid_by}", reason="period_reinstated",
                 reference=invoice.invoice_id)
    lifecycle.move_account(tx, account, "active",
                           [*credits.actions(), *lifecycle.unpoint(account, invoice.invoice_id)],
                           action="period_reinstated", actor=actor, at=at,
                           condition=credits.condition())
    return sub.current_period_end  # the approval's own email says it is paid


def payable(invoice: InvoiceModel, sub: SubscriptionModel) -> None:
    """Refuse (409) a payment, in full or in part, of an upgrade that the subscription no longer
    waits for (it was voided, or the subscription is past due or ended)."""
    if invoice.kind == "upgrade" and (sub.status != "active"
                                      or sub.upgrade_invoice_id != invoice.invoice_id):
        raise Conflict("The subscription is no longer waiting for this upgrade.", code="state_conflict")


def _upgrade(tx: Tx, invoice: InvoiceModel, sub: SubscriptionModel, account: AccountModel,
             actor: str, moment: datetime) -> str:
    at = stamp(moment)
    payable(invoice, sub)
    old_plan = sub.plan
    sub.plan, sub.upgrade_invoice_id = invoice.plan, None
    actions: list[Any] = [SubscriptionModel.plan.set(invoice.plan),
                          SubscriptionModel.upgrade_invoice_id.remove()]
    account_actions: list[Any] = []
    if sub.renewal_invoice_id and (sub.paid_through or 0) <= (sub.period or 0):
        renewal = InvoiceModel.get(sub.renewal_invoice_id)
        if renewal.status in PAYABLE and not renewal.pending_payment_id:
            lifecycle.void_invoice(tx, renewal, "replaced_by_upgrade", actor, at)
            sub.renewal_invoice_id = None
            sub.renewal_revision = (sub.renewal_revision or 0) + 1
            actions += [SubscriptionModel.renewal_invoice_id.remove(),
                        SubscriptionModel.renewal_revision.set(sub.renewal_revision)]
            if account.pending_invoice_id == renewal.invoice_id:
                account_actions.append(AccountModel.pending_invoice_id.remove())
    lifecycle.move_subscription(tx, sub, "active", actions, action="upgraded", actor=actor, at=at,
                                condition=SubscriptionModel.plan == old_plan)
    from chalicelib.webhooks import events  # loaded with the first upgrade, not at cold start

    events.plan_changed(tx, sub, old_plan, "upgraded", at)
    credits = Buckets(tx, account, actor=actor, at=at)
    credits.move(ALLOWANCE, invoice.upgrade_credits or 0, entry_id=f"upgrade#{invoice.invoice_id}",
                 reason="upgrade_granted", reference=invoice.invoice_id)
    if account.pending_invoice_id == invoice.invoice_id:
        account_actions.append(AccountModel.pending_invoice_id.remove())
    account.plan = invoice.plan
    lifecycle.move_account(tx, account, account.status,
                           [*credits.actions(), AccountModel.plan.set(invoice.plan), *account_actions],
                           action="upgraded", actor=actor, at=at, condition=credits.condition())
    mail.queue_plan_changed(tx, sub=sub, change="upgraded", key=invoice.invoice_id, at=at,
                            old_plan=old_plan, new_plan=invoice.plan,
                            credits=invoice.upgrade_credits or 0)
    return sub.current_period_end


def _topup(tx: Tx, invoice: InvoiceModel, sub: SubscriptionModel, account: AccountModel,
           actor: str, moment: datetime) -> str:
    at = stamp(moment)
    credits = Buckets(tx, account, actor=actor, at=at)
    credits.move(EXTRA, invoice.plan_credits, entry_id=topup_entry_id(invoice), reason="topup",
                 reference=invoice.invoice_id)
    lifecycle.move_account(tx, account, account.status,
                           [*credits.actions(), *lifecycle.unpoint(account, invoice.invoice_id)],
                           action="credits_bought", actor=actor, at=at, condition=credits.condition())
    return sub.current_period_end or at


def topup_entry_id(invoice: InvoiceModel) -> str:
    """A top-up's grant; paid again after a reversal, the grant of that payment."""
    if invoice.reversals:
        return f"topup#{invoice.invoice_id}#r{invoice.reversals}"
    return f"topup#{invoice.invoice_id}"
