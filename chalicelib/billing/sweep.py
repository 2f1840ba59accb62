"""The time-driven steps of a paid subscription, run by the billing jobs when its `sweep_at` is
due: issue the renewal invoice; at the period end roll to the paid next period, or go past due, or
end a cancellation; after the grace suspend; after CANCEL_AFTER_DAYS cancel. A payment awaiting
approval on the renewal pauses the dunning clock. Each step is one conditional transaction on the
state it read, and a subscription whose jobs did not run for a while takes its steps in order.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from chalicelib.billing import lifecycle, renewals
from chalicelib.billing.lifecycle import SYSTEM
from chalicelib.core.clock import parse_stamp, stamp
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import PAYABLE, SWEEP, InvoiceModel, SubscriptionModel
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.store import Tx, commit_or_skip

log = logging.getLogger(__name__)
PAUSE_RECHECK = timedelta(hours=1)  # a paused step is looked at again this much later
MAX_STEPS = 8  # more steps than a subscription can take at once (renew, end, suspend, cancel)


def advance(sub: SubscriptionModel, moment: datetime, plans: dict[str, PlanModel],
            mail_at: str) -> list[str]:
    """Take every step of `sub` due by `moment`; the names of the steps taken."""
    taken: list[str] = []
    for _ in range(MAX_STEPS):
        if not sub.sweep_at or parse_stamp(sub.sweep_at) > moment:
            break
        step = _step(sub, moment, plans, mail_at)
        if step is None:
            break
        taken.append(step)
        if not sub.sweep_at or parse_stamp(sub.sweep_at) > moment:
            break  # the step wrote this due time: nothing more is due, no need to read it back
        fresh = store.get(SubscriptionModel, sub.subscription_id)
        if fresh is None:
            break
        sub = fresh
    return taken


def _step(sub: SubscriptionModel, moment: datetime, plans: dict[str, PlanModel],
          mail_at: str) -> str | None:
    at = stamp(moment)
    period_end = parse_stamp(sub.current_period_end) if sub.current_period_end else None
    if sub.status == "active" and lifecycle.renewal_needed(sub):
        # (also past the period end when the jobs did not run in the lead time: the invoice first)
        slug = sub.scheduled_plan or sub.plan
        plan = plans.get(slug) or lifecycle.plan_of(slug)
        return "renewal_issued" if renewals.issue(sub, plan, moment, mail_at) else None
    if sub.status == "active" and period_end and moment < period_end:
        return _reschedule(sub, at)
    keys: list[tuple[Any, ...]] = [(AccountModel, sub.account_id)]
    keys += [(InvoiceModel, i) for i in (sub.renewal_invoice_id, sub.upgrade_invoice_id) if i]
    account, *found = store.transact_get(*keys)
    invoices = {i.invoice_id: i for i in found if i is not None}
    renewal = invoices.get(sub.renewal_invoice_id or "")
    upgrade = invoices.get(sub.upgrade_invoice_id or "")
    if account is None:
        log.warning("subscription %s: account missing; skipped", sub.subscription_id)
        return None
    tx = Tx()
    if sub.status == "active":
        clear, voided = _void_upgrade(tx, sub, upgrade, at)
        if sub.cancel_at_period_end:
            name = "cancelled"
            lifecycle.end(tx, sub, account, renewal, "requested", SYSTEM, at, mail_at, extra=clear,
                          voided=voided)
        elif (sub.paid_through or 0) > (sub.period or 0) and renewal is not None:
            name = "period_started"
            lifecycle.roll(tx, sub, account, renewal, SYSTEM, at, extra=clear, voided=voided)
        else:
            name = "past_due"
            lifecycle.past_due(tx, sub, account, renewal, at, mail_at, extra=clear, voided=voided)
    elif renewal is not None and renewal.pending_payment_id:
        return _reschedule(sub, at, stamp(moment + PAUSE_RECHECK), paused=True)
    elif sub.status == "past_due":
        name = "suspended"
        lifecycle.suspend(tx, sub, account, renewal, at, mail_at)
    elif sub.status == "suspended":  # an upgrade left open (paid in part) ends with it
        name = "cancelled"
        clear, voided = _void_upgrade(tx, sub, upgrade, at)
        lifecycle.end(tx, sub, account, renewal, "unpaid", SYSTEM, at, mail_at, extra=clear,
                      voided=voided)
    else:
        return _reschedule(sub, at)
    return name if commit_or_skip(tx, sub.subscription_id) else None


def _void_upgrade(tx: Tx, sub: SubscriptionModel, upgrade: InvoiceModel | None,
                  at: str) -> tuple[list[Any], tuple[str, ...]]:
    """Void the period's unpaid upgrade (what was paid of it goes to the balance), if no payment
    on it awaits approval; the subscription's actions for it, and the invoice voided."""
    if upgrade is None or upgrade.status not in PAYABLE or upgrade.pending_payment_id:
        return [], ()
    lifecycle.void_invoice(tx, upgrade, "upgrade_expired", SYSTEM, at)
    sub.upgrade_invoice_id = None
    return [SubscriptionModel.upgrade_invoice_id.remove()], (upgrade.invoice_id,)


def _reschedule(sub: SubscriptionModel, at: str, when: str | None = None,
                paused: bool = False) -> str | None:
    """Move the subscription's due time (to what its state says, or to `when`)."""
    read, condition = sub.sweep_at, lifecycle.unchanged(sub)
    actions = lifecycle.sweep_actions(sub)
    if when is not None:
        sub.sweep, sub.sweep_at = store.spread(SWEEP, sub.subscription_id), when
        actions = [SubscriptionModel.sweep.set(sub.sweep), SubscriptionModel.sweep_at.set(when)]
    if sub.sweep_at == read:
        return None
    tx = Tx()
    tx.update("subscription", sub, [*actions, *lifecycle.next_version(sub)], condition=condition)
    return ("paused" if paused else "rescheduled") if commit_or_skip(tx, sub.subscription_id) else None

