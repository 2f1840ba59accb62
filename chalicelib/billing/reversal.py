"""The reversal of a succeeded payment found false later (a transfer the bank sent back, a
chargeback, a forged receipt): an owner's decision, with a reason, in one transaction.

- The payment becomes `reversed` (who, when, why).
- Its invoice is due again: what the payment paid and what its approval wrote off come back to
  the amount due; the invoice is `pending` again (`partially_paid` while other payments of it
  stand), open, and due by the end of the dunning grace, which starts now.
- An overpayment's excess is taken back from the account's balance, as far as it is left.
- When the invoice was paid, what that brought is undone:
  - signup: the subscription and account are `past_due` (the grace starts now); the plan's
    credits are taken back from what is left of the allowance.
  - renewal of the running period: the same, and the subscription waits for this invoice again
    (`renewal_invoice_id`); paying it again gives back the credits taken back.
  - renewal paid ahead for a period not yet started: nothing was granted; the period stays paid
    up to where it was, and at its end the dunning runs as for any unpaid renewal.
  - topup: the pack's credits are taken back from what is left of `extra`.
  Credits already used stay used: only what is left is taken back (the ledger entry says how
  much). An upgrade's payment is not reversed here (the plan it switched would have to switch
  back): 409 `not_reversible`.
- A later renewal or upgrade invoice not yet paid is voided (the subscription is behind again); a
  later period already paid, or a payment awaiting approval on the invoice or a later one, is a
  409: decide or reverse those first.
- Emailed to the payer, audited, and counted like every other state change.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.accounts.views import account_view
from chalicelib.admin.fields import REASON
from chalicelib.billing import approvers, balance, lifecycle
from chalicelib.billing.payments import owes, records_of
from chalicelib.billing.views import invoice_view, payment_view, subscription_view
from chalicelib.core.clock import now, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.validation import validate
from chalicelib.credits.ledger import ALLOWANCE, EXTRA, Buckets
from chalicelib.notifications import messages
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import (
    OPEN_INVOICE,
    PAYABLE,
    InvoiceModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.store import TransactionCancelled, Tx

REVERSED = "reversed"
REVERSIBLE_INVOICES = ("paid", "partially_paid")


def reverse(admin: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Reverse a succeeded payment (see the module's text); the payment, invoice, subscription
    and account as they are after it."""
    reason = validate(body, REASON)["reason"]
    payment = store.get(PaymentModel, payment_id)
    if payment is None:
        raise NotFound("No such payment.", code="payment_not_found")
    approvers.not_their_own(admin, payment)
    if payment.status != "succeeded":
        raise Conflict(f"The payment is {payment.status}; only a succeeded payment can be reversed.",
                       code="payment_not_reversible", details={"status": payment.status})
    invoice, sub, account = records_of(payment)
    kind = invoice.kind or "signup"
    _refuse_what_cannot_be_reversed(invoice, sub, kind)
    moment = now()
    at = stamp(moment)
    tx = Tx()
    tx.update("payment", payment,
              [PaymentModel.status.set(REVERSED), PaymentModel.reversed_at.set(at),
               PaymentModel.reversed_by.set(admin.email), PaymentModel.reversal_reason.set(reason)],
              condition=PaymentModel.status == "succeeded")
    add_audit(tx, entity_type="payment", entity_id=payment.payment_id, action="reversed",
              from_status="succeeded", to_status=REVERSED, actor=admin.email, at=at, notes=reason)
    payment.status, payment.reversed_at, payment.reversed_by = REVERSED, at, admin.email
    payment.reversal_reason = reason
    was_paid = invoice.status == "paid"
    credits = Buckets(tx, account, actor=admin.email, at=at)
    taken = _take_back_credits(credits, invoice, sub, payment) if was_paid else 0
    running = kind == "renewal" and was_paid and invoice.period == (sub.period or 0)
    due_by = (moment + timedelta(days=get_settings().dunning_grace_days)).date().isoformat()
    _invoice_due_again(tx, invoice, payment, admin.email, at, due_by, reason,
                       [InvoiceModel.credits_taken_back.set(taken)] if running else [])
    if running:
        invoice.credits_taken_back = taken
    if was_paid:
        _subscription_behind(tx, sub, account, invoice, kind, credits, admin.email, at, reason)
    if credits.changed and not (was_paid and kind in ("signup", "renewal")):
        lifecycle.move_account(tx, account, account.status, credits.actions(),
                               action="payment_reversed", actor=admin.email, at=at,
                               condition=credits.condition())
    balance.take_back(tx, account, payment.excess_minor or 0, currency=invoice.currency,
                      entry_id=f"reversed#{payment.payment_id}", reference=payment.payment_id,
                      actor=admin.email, at=at)
    messages.queue_payment_reversed(tx, payment=payment, invoice=invoice, at=at,
                                    past_due=sub.status == "past_due")
    response = {"payment": payment_view(payment), "invoice": invoice_view(invoice),
                "subscription": subscription_view(sub), "account": account_view(account)}
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        if "payment" in exc.failed:
            raise Conflict("The payment was reversed meanwhile; nothing was changed.",
                           code="payment_not_reversible", details={"status": REVERSED}) from exc
        raise Conflict("The invoice, subscription or account changed meanwhile; nothing was "
                       "changed.", code="state_conflict", details={"failed": exc.failed}) from exc
    return response


def _refuse_what_cannot_be_reversed(invoice: InvoiceModel, sub: SubscriptionModel, kind: str) -> None:
    if kind == "upgrade":
        raise Conflict("An upgrade's payment cannot be reversed: the plan it switched would have "
                       "to switch back. Change the plan back, then correct the credits.",
                       code="not_reversible", details={"kind": kind})
    if invoice.status not in REVERSIBLE_INVOICES:
        raise Conflict(f"The payment's invoice is {invoice.status}; only a payment of a paid or "
                       "partly paid invoice can be reversed.", code="state_conflict",
                       details={"invoice_status": invoice.status})
    if invoice.pending_payment_id:
        raise Conflict("A payment of this invoice awaits approval: decide it first.",
                       code="state_conflict", details={"pending_payment_id": invoice.pending_payment_id})
    if invoice.status != "paid" or kind == "topup":
        return
    period_paid = 0 if kind == "signup" else (invoice.period or 0)
    if (sub.paid_through or 0) > period_paid or (sub.period or 0) > period_paid:
        raise Conflict("A later period of this subscription is paid: reverse that payment first.",
                       code="state_conflict", details={"paid_through": sub.paid_through})
    if sub.status not in lifecycle.RUNNING:
        raise Conflict(f"The subscription is {sub.status}.", code="state_conflict",
                       details={"subscription_status": sub.status})


def _invoice_due_again(tx: Tx, invoice: InvoiceModel, payment: PaymentModel, actor: str, at: str,
                       due_by: str, reason: str, more: list[Any]) -> None:
    read_due, read_status = owes(invoice), invoice.status
    applied = payment.applied_minor if payment.applied_minor is not None else payment.amount_minor
    written_off = payment.written_off_minor or 0
    paid = (invoice.amount_paid_minor if invoice.amount_paid_minor is not None
            else invoice.amount_minor)  # an invoice before partial payments: paid in full
    invoice.amount_paid_minor = paid - applied
    invoice.written_off_minor = (invoice.written_off_minor or 0) - written_off
    invoice.balance_applied_minor = invoice.balance_applied_minor or 0
    invoice.amount_due_minor = (invoice.amount_due_minor or 0) + applied + written_off
    invoice.status = "partially_paid" if invoice.amount_paid_minor > 0 else "pending"
    invoice.open, invoice.paid_at = store.spread(OPEN_INVOICE, invoice.invoice_id), None
    invoice.due_date, invoice.reminded_at = due_by, None
    invoice.reversals = (invoice.reversals or 0) + (1 if read_status == "paid" else 0)
    tx.update("invoice", invoice, [
        InvoiceModel.status.set(invoice.status),
        InvoiceModel.amount_due_minor.set(invoice.amount_due_minor),
        InvoiceModel.amount_paid_minor.set(invoice.amount_paid_minor),
        InvoiceModel.written_off_minor.set(invoice.written_off_minor),
        InvoiceModel.balance_applied_minor.set(invoice.balance_applied_minor),
        InvoiceModel.open.set(invoice.open), InvoiceModel.paid_at.remove(),
        InvoiceModel.due_date.set(due_by), InvoiceModel.reminded_at.remove(),
        InvoiceModel.reversals.set(invoice.reversals), *more],
        condition=(InvoiceModel.status == read_status) & read_due
        & InvoiceModel.pending_payment_id.does_not_exist())
    add_audit(tx, entity_type="invoice", entity_id=invoice.invoice_id, action="payment_reversed",
              from_status=read_status, to_status=invoice.status, actor=actor, at=at, notes=reason)


def _take_back_credits(credits: Buckets, invoice: InvoiceModel, sub: SubscriptionModel,
                       payment: PaymentModel) -> int:
    """Take back what the paid invoice granted, from what is left of its bucket; how much."""
    kind = invoice.kind or "signup"
    if kind == "renewal" and invoice.period != (sub.period or 0):
        return 0  # paid ahead: its period has not started, nothing was granted
    bucket, granted = (EXTRA, invoice.plan_credits) if kind == "topup" else (ALLOWANCE, invoice.plan_credits)
    left = credits.extra if bucket == EXTRA else credits.allowance
    taken = min(granted or 0, max(left, 0))
    credits.move(bucket, -taken, entry_id=f"reversal#{payment.payment_id}", reason="payment_reversed",
                 reference=payment.payment_id)
    return taken


def _subscription_behind(tx: Tx, sub: SubscriptionModel, account: AccountModel,
                         invoice: InvoiceModel, kind: str, credits: Buckets, actor: str, at: str,
                         reason: str) -> None:
    """The subscription is behind again: past due from now for a signup or the running period's
    renewal; a renewal paid ahead only gives up its paid period. Later unpaid invoices are voided."""
    if kind == "topup":
        return
    voided = _void_later(tx, sub, invoice, actor, at)
    running = kind == "renewal" and invoice.period == (sub.period or 0)
    actions: list[Any] = [a for i in voided for a in _forget(sub, i, keep_renewal=running)]
    if kind == "renewal" and invoice.period != (sub.period or 0):  # paid ahead
        sub.paid_through = sub.period or 0
        lifecycle.move_subscription(tx, sub, sub.status, [
            SubscriptionModel.paid_through.set(sub.paid_through), *actions],
            action="payment_reversed", actor=actor, at=at)
        _point_at(tx, account, invoice, voided)
        return
    sub.past_due_at = at
    actions += [SubscriptionModel.past_due_at.set(at)]
    if kind == "renewal":
        sub.paid_through = (invoice.period or 1) - 1
        sub.renewal_invoice_id = invoice.invoice_id
        actions += [SubscriptionModel.paid_through.set(sub.paid_through),
                    SubscriptionModel.renewal_invoice_id.set(invoice.invoice_id)]
    lifecycle.move_subscription(tx, sub, "past_due", actions, action="payment_reversed",
                                actor=actor, at=at)
    pointer = []
    if not account.pending_invoice_id or account.pending_invoice_id in voided:
        account.pending_invoice_id = invoice.invoice_id
        pointer = [AccountModel.pending_invoice_id.set(invoice.invoice_id)]
    lifecycle.move_account(tx, account, "past_due", [*credits.actions(), *pointer],
                           action="payment_reversed", actor=actor, at=at,
                           condition=credits.condition(), notes=reason)


def _void_later(tx: Tx, sub: SubscriptionModel, invoice: InvoiceModel, actor: str,
                at: str) -> tuple[str, ...]:
    """Void the subscription's renewal or upgrade invoice issued after this one and not paid."""
    later = [i for i in (sub.renewal_invoice_id, sub.upgrade_invoice_id)
             if i and i != invoice.invoice_id]
    voided = []
    for other in (store.get(InvoiceModel, i) for i in later):
        if other is None or other.status not in PAYABLE:
            continue
        if other.status != "pending":
            raise Conflict(f"The later invoice {other.invoice_number} is partly paid: reverse its "
                           "payments first.", code="state_conflict",
                           details={"invoice_id": other.invoice_id})
        if other.pending_payment_id:
            raise Conflict(f"A payment of the later invoice {other.invoice_number} awaits "
                           "approval: decide it first.", code="state_conflict",
                           details={"pending_payment_id": other.pending_payment_id})
        lifecycle.void_invoice(tx, other, "voided_by_reversal", actor, at)
        voided.append(other.invoice_id)
    return tuple(voided)


def _forget(sub: SubscriptionModel, invoice_id: str, *, keep_renewal: bool) -> list[Any]:
    """Drop a voided invoice from the subscription (`keep_renewal`: the renewal is set anew)."""
    if sub.renewal_invoice_id == invoice_id:
        if keep_renewal:
            sub.renewal_revision = (sub.renewal_revision or 0) + 1
            return [SubscriptionModel.renewal_revision.set(sub.renewal_revision)]
        sub.renewal_invoice_id = None
        sub.renewal_revision = (sub.renewal_revision or 0) + 1
        return [SubscriptionModel.renewal_invoice_id.remove(),
                SubscriptionModel.renewal_revision.set(sub.renewal_revision)]
    if sub.upgrade_invoice_id == invoice_id:
        sub.upgrade_invoice_id = None
        return [SubscriptionModel.upgrade_invoice_id.remove()]
    return []


def _point_at(tx: Tx, account: AccountModel, invoice: InvoiceModel, voided: tuple[str, ...]) -> None:
    if account.pending_invoice_id and account.pending_invoice_id not in voided:
        return
    account.pending_invoice_id = invoice.invoice_id
    tx.update("account", account, [AccountModel.pending_invoice_id.set(invoice.invoice_id)])
