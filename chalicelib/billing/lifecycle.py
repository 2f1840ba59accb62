"""The state of a paid subscription over time: when its next time-driven step is, and the steps
that move it (the period roll, past due, suspended, cancelled), each added to a caller's
transaction together with its account, ledger entries, audit events and emails.

The billing jobs call these when a step falls due, and the approval of a late renewal calls the
roll at once. Every step names the state it read in its conditions, so a step runs once however
many job runs race for it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.billing import balance
from chalicelib.billing.periods import period
from chalicelib.core.clock import parse_stamp, stamp
from chalicelib.core.config import get_settings
from chalicelib.credits.ledger import ALLOWANCE, Buckets
from chalicelib.notifications import lifecycle_messages as mail
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import PAYABLE, SWEEP, InvoiceModel, SubscriptionModel
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.store import Tx

SYSTEM = "system:billing-jobs"
RUNNING = ("active", "past_due", "suspended")  # subscriptions the jobs look after


def renewal_needed(sub: SubscriptionModel) -> bool:
    """The next period still needs its renewal invoice."""
    return (sub.status == "active" and not sub.cancel_at_period_end and not sub.renewal_invoice_id
            and (sub.paid_through or 0) <= (sub.period or 0))


def next_invoice_at(sub: SubscriptionModel) -> datetime | None:
    """When the renewal invoice of the next period will be issued (a time past if it is late);
    None once it is issued or paid, or if none will be."""
    if (sub.status != "active" or sub.cancel_at_period_end or not sub.current_period_end
            or sub.renewal_invoice_id):
        return None
    if (sub.paid_through or 0) > (sub.period or 0):
        return None
    return parse_stamp(sub.current_period_end) - timedelta(days=get_settings().renewal_lead_days)


def suspends_at(sub: SubscriptionModel) -> datetime | None:
    if sub.status != "past_due" or not sub.past_due_at:
        return None
    return parse_stamp(sub.past_due_at) + timedelta(days=get_settings().dunning_grace_days)


def cancels_at(sub: SubscriptionModel) -> datetime | None:
    if sub.status not in ("past_due", "suspended") or not sub.past_due_at:
        return None
    return parse_stamp(sub.past_due_at) + timedelta(days=get_settings().cancel_after_days)


def sweep_time(sub: SubscriptionModel) -> datetime | None:
    """When the jobs must next look at the subscription (None: never again)."""
    if sub.status == "active" and sub.current_period_end:
        return (next_invoice_at(sub) if renewal_needed(sub) else None) or parse_stamp(sub.current_period_end)
    if sub.status == "past_due":
        return suspends_at(sub)
    if sub.status == "suspended":
        return cancels_at(sub)
    return None


def sweep_actions(sub: SubscriptionModel) -> list[Any]:
    """Set (or remove) the subscription's place in the jobs' due index for its state as now set."""
    when = sweep_time(sub)
    sub.sweep_at = stamp(when) if when else None
    sub.sweep = store.spread(SWEEP, sub.subscription_id) if when else None
    if when is None:
        return [SubscriptionModel.sweep.remove(), SubscriptionModel.sweep_at.remove()]
    return [SubscriptionModel.sweep.set(sub.sweep), SubscriptionModel.sweep_at.set(sub.sweep_at)]


def move_account(tx: Tx, account: AccountModel, status: str, actions: list[Any], *, action: str,
                 actor: str, at: str, condition: Any = None, notes: str | None = None) -> None:
    """One update of the account (status, plus `actions`), its audit event and status counters.
    An account an owner suspended stays suspended: the status it would have waits in
    `held_status` until the owner reactivates it (admin.holds)."""
    if account.held:
        held_before = account.held_status
        condition = (AccountModel.held == account.held) & condition if condition is not None else (
            AccountModel.held == account.held)
        tx.update("account", account, [AccountModel.held_status.set(status),
                                       AccountModel.updated_at.set(at), *actions],
                  condition=condition)
        if held_before != status:
            add_audit(tx, entity_type="account", entity_id=account.account_id, action=action,
                      from_status=account.status, to_status=account.status, actor=actor, at=at,
                      notes=f"held by an admin: would be {status}" + (f"; {notes}" if notes else ""))
        account.held_status = status
        return
    before = account.status
    condition = (AccountModel.status == before) & condition if condition is not None else (
        AccountModel.status == before)
    tx.update("account", account, [AccountModel.status.set(status), AccountModel.updated_at.set(at),
                                   *actions], condition=condition)
    if before != status:
        add_audit(tx, entity_type="account", entity_id=account.account_id, action=action,
                  from_status=before, to_status=status, actor=actor, at=at, notes=notes)
        tx.count(f"accounts_{before}", -1)
        tx.count(f"accounts_{status}", 1)
    account.status = status


def move_subscription(tx: Tx, sub: SubscriptionModel, status: str, actions: list[Any], *,
                      action: str, actor: str, at: str, condition: Any = None) -> None:
    """One update of the subscription (status, its due time, plus `actions`) and its audit event."""
    before = sub.status
    read = (SubscriptionModel.status == before) & unchanged(sub)
    sub.status = status
    tx.update("subscription", sub, [SubscriptionModel.status.set(status),
                                    SubscriptionModel.updated_at.set(at), *actions,
                                    *sweep_actions(sub), *next_version(sub)],
              condition=read & condition if condition is not None else read)
    add_audit(tx, entity_type="subscription", entity_id=sub.subscription_id, action=action,
              from_status=before, to_status=status, actor=actor, at=at)


def unchanged(sub: SubscriptionModel) -> Any:
    """The subscription is as it was read (its version; items before versions: none)."""
    if sub.version is not None:
        return SubscriptionModel.version == sub.version
    return SubscriptionModel.version.does_not_exist()


def next_version(sub: SubscriptionModel) -> list[Any]:
    """Raise the version (call once per transaction, after `unchanged`)."""
    sub.version = (sub.version or 0) + 1
    return [SubscriptionModel.version.set(sub.version)]


def roll(tx: Tx, sub: SubscriptionModel, account: AccountModel, renewal: InvoiceModel,
         actor: str, at: str, *, paying: bool = False, extra: list[Any] | None = None,
         voided: tuple[str, ...] = ()) -> None:
    """Start the period the paid renewal invoice is for: the plan it was for, the allowance reset
    (the unused part expires), the subscription and account active. `paying`: the renewal's
    approval in this same transaction is what pays the period."""
    number = renewal.period if renewal.period is not None else (sub.period or 0) + 1
    start, end = period(parse_stamp(sub.anchor), number)
    was, was_plan = sub.status, sub.plan
    sub.period, sub.plan, sub.scheduled_plan, sub.renewal_invoice_id = number, renewal.plan, None, None
    sub.current_period_start, sub.current_period_end = stamp(start), stamp(end)
    sub.past_due_at, sub.renewal_revision = None, 0
    paid = [SubscriptionModel.paid_through.set(number)] if paying else []
    if paying:
        sub.paid_through = number
    move_subscription(tx, sub, "active", [*paid, *(extra or []),
        SubscriptionModel.period.set(number), SubscriptionModel.plan.set(renewal.plan),
        SubscriptionModel.current_period_start.set(sub.current_period_start),
        SubscriptionModel.current_period_end.set(sub.current_period_end),
        SubscriptionModel.scheduled_plan.remove(), SubscriptionModel.renewal_invoice_id.remove(),
        SubscriptionModel.renewal_revision.set(0), SubscriptionModel.past_due_at.remove()],
        action="period_started", actor=actor, at=at,
        condition=None if paying else SubscriptionModel.paid_through >= number)
    if renewal.plan != was_plan:  # a scheduled downgrade (or the renewal's plan) applies now
        from chalicelib.webhooks import events

        events.plan_changed(tx, sub, was_plan, "period_started", at)
    credits = Buckets(tx, account, actor=actor, at=at)
    credits.expire_allowance(entry_id=f"period#{sub.subscription_id}#{number - 1}#expired",
                             reason="allowance_expired", reference=sub.subscription_id)
    credits.move(ALLOWANCE, renewal.plan_credits, entry_id=f"period#{sub.subscription_id}#{number}#granted",
                 reason="allowance_granted", reference=renewal.invoice_id)
    actions = [*credits.actions(), AccountModel.plan.set(renewal.plan),
               AccountModel.current_period_end.set(sub.current_period_end),
               *unpoint(account, renewal.invoice_id, *voided)]
    account.plan = renewal.plan
    move_account(tx, account, "active", actions, action="period_started", actor=actor, at=at,
                 condition=credits.condition())
    if was in ("past_due", "suspended"):
        mail.queue_reactivated(tx, sub=sub, invoice=renewal, at=at)


def past_due(tx: Tx, sub: SubscriptionModel, account: AccountModel, renewal: InvoiceModel | None,
             at: str, mail_at: str, *, extra: list[Any] | None = None,
             voided: tuple[str, ...] = ()) -> None:
    """The period ended with its renewal unpaid: service goes on, the allowance expires."""
    sub.past_due_at = sub.current_period_end
    move_subscription(tx, sub, "past_due", [SubscriptionModel.past_due_at.set(sub.past_due_at),
                                            *(extra or [])],
                      action="renewal_unpaid", actor=SYSTEM, at=at)
    credits = Buckets(tx, account, actor=SYSTEM, at=at)
    credits.expire_allowance(entry_id=f"period#{sub.subscription_id}#{sub.period or 0}#expired",
                             reason="allowance_expired", reference=sub.subscription_id)
    move_account(tx, account, "past_due", [*credits.actions(), *unpoint(account, *voided)],
                 action="renewal_unpaid",
                 actor=SYSTEM, at=at, condition=credits.condition())
    mail.queue_past_due(tx, sub=sub, invoice=renewal, until=suspends_at(sub), at=mail_at)


def suspend(tx: Tx, sub: SubscriptionModel, account: AccountModel, renewal: InvoiceModel | None,
            at: str, mail_at: str) -> None:
    """The grace is over and the renewal still unpaid: credits can no longer be used."""
    move_subscription(tx, sub, "suspended", [], action="suspended_unpaid", actor=SYSTEM, at=at)
    move_account(tx, account, "suspended", [], action="suspended_unpaid", actor=SYSTEM, at=at)
    mail.queue_suspended(tx, sub=sub, invoice=renewal, until=cancels_at(sub), at=mail_at)


def end(tx: Tx, sub: SubscriptionModel, account: AccountModel, renewal: InvoiceModel | None,
        reason: str, actor: str, at: str, mail_at: str, *, extra: list[Any] | None = None,
        voided: tuple[str, ...] = ()) -> None:
    """The subscription ends (cancelled at the period end, or unpaid too long): its unpaid renewal
    is voided, the allowance expires, the account is cancelled (extra credits are kept)."""
    sub.cancel_at_period_end = False
    move_subscription(tx, sub, "cancelled", [SubscriptionModel.cancel_at_period_end.set(False),
                                             *(extra or [])],
                      action="cancelled_unpaid" if reason == "unpaid" else "cancelled_requested",
                      actor=actor, at=at)
    credits = Buckets(tx, account, actor=actor, at=at)
    credits.expire_allowance(entry_id=f"period#{sub.subscription_id}#{sub.period or 0}#expired",
                             reason="allowance_expired", reference=sub.subscription_id)
    if renewal is not None and renewal.status in PAYABLE:
        void_invoice(tx, renewal, f"{reason}_cancelled", actor, at)
        voided = (*voided, renewal.invoice_id)
    actions = [*credits.actions(), *unpoint(account, *voided)]
    move_account(tx, account, "cancelled", actions, action="subscription_ended",
                 actor=actor, at=at, condition=credits.condition())
    mail.queue_cancelled(tx, sub=sub, invoice=renewal if reason == "unpaid" else None,
                         reason=reason, at=mail_at)


def unpoint(account: AccountModel, *invoice_ids: str) -> list[Any]:
    """Remove the account's pending invoice if it is one of these (paid or voided now)."""
    if account.pending_invoice_id and account.pending_invoice_id in invoice_ids:
        account.pending_invoice_id = None
        return [AccountModel.pending_invoice_id.remove()]
    return []


def void_invoice(tx: Tx, invoice: InvoiceModel, action: str, actor: str, at: str) -> None:
    """Void an unpaid invoice that no payment awaits approval for."""
    tx.update(f"invoice:{invoice.invoice_id}", invoice,
              [InvoiceModel.status.set("void"), InvoiceModel.voided_at.set(at),
               InvoiceModel.open.remove()],
              condition=(InvoiceModel.status == invoice.status)
              & InvoiceModel.status.is_in(*PAYABLE)
              & InvoiceModel.pending_payment_id.does_not_exist())
    add_audit(tx, entity_type="invoice", entity_id=invoice.invoice_id, action=action,
              from_status=invoice.status, to_status="void", actor=actor, at=at)
    balance.refund_voided(tx, invoice, actor, at)  # what was paid of it is the customer's
    invoice.status, invoice.voided_at, invoice.open = "void", at, None


def plan_of(slug: str) -> PlanModel:
    plan = store.get(PlanModel, slug)
    if plan is None:
        raise LookupError(f"plan {slug} is missing from the catalog")
    return plan
