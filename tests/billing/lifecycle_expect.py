"""What the contract (`api-lifecycle.md`) says each request of the lifecycle state machine
(`test_stateful_lifecycle.py`) answers, given the store before it (an `Index`), and what an
approval and an upgrade's invoice must be after it (post-conditions: `before` is the store before
the step, `ix` the store after it).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from chalicelib.core.clock import parse_stamp, stamp
from chalicelib.storage.models.base import plain
from tests.billing.lifecycle_invariants import PAYABLE, Index, left_due

CAN_SUBSCRIBE = ("trial", "expired", "cancelled", "suspended")  # suspended: first invoice voided


def next_paid(sub: Any) -> bool:
    """The next period is paid already (a renewal approved before its period)."""
    return (sub.paid_through or 0) > (sub.period or 0)


def renewal_payment_pending(ix: Index, sub: Any) -> bool:
    renewal = ix.invoices.get(sub.renewal_invoice_id or "")
    return bool(renewal and renewal.status in PAYABLE and renewal.pending_payment_id)


def can_subscribe(ix: Index, account: Any) -> bool:
    sub = ix.subs.get(account.subscription_id or "")
    return account.status in CAN_SUBSCRIBE and (sub is None or sub.status == "cancelled")


def subscribe(ix: Index, account: Any, billing: bool) -> int:
    """201; 422 without billing details if the account has none; 409 for an account that has
    a subscription (not cancelled) or cannot subscribe."""
    sub = ix.subs.get(account.subscription_id or "")
    if not can_subscribe(ix, account):
        return 409
    on_file = bool(plain(account.billing)) or bool(sub and plain(sub.billing_snapshot))
    return 201 if billing or on_file else 422


def change(ix: Index, sub: Any, plan: str, at: datetime) -> tuple[int, str | None]:
    """The status of a change to `plan` at `at`, and the kind of change: 409 unless active and
    not cancelling; one change at a time; none once the next period is paid; no upgrade with
    nothing left of the period to pay for; the current plan withdraws a waiting upgrade or
    downgrade, but not while a payment on it (or on the renewal issued for the downgrade) awaits
    approval, nor once that renewal is paid."""
    if sub.status != "active" or sub.cancel_at_period_end:
        return 409, None
    upgrade = ix.invoices.get(sub.upgrade_invoice_id or "")
    if plan == sub.plan:
        if not (sub.scheduled_plan or upgrade):
            return 200, "none"
        blocked = (upgrade is not None and bool(upgrade.pending_payment_id)) or (
            bool(sub.scheduled_plan) and (renewal_payment_pending(ix, sub) or next_paid(sub)))
        return (409 if blocked else 200), "keep"
    if sub.scheduled_plan or upgrade or next_paid(sub):
        return 409, None
    if ix.plans[plan].price_minor > ix.plans[sub.plan].price_minor:
        return (200 if prorated(ix, sub, plan, at)[0] else 409), "upgrade"
    return (409 if renewal_payment_pending(ix, sub) else 200), "downgrade"


def cancel(ix: Index, sub: Any) -> int:
    """200 (again: nothing changes); 409 unless active, once the next period is paid, or while
    a payment on the renewal awaits approval."""
    if sub.status != "active":
        return 409
    if sub.cancel_at_period_end:
        return 200
    return 409 if next_paid(sub) or renewal_payment_pending(ix, sub) else 200


# How an example's customers pay their renewals when nobody asks (`pays_now`)
HABITS = ("on time", "late", "on time", "never", "on time")


def pays_now(ix: Index, invoice: Any, habit: str) -> bool:
    """Whether a customer of `habit` pays this invoice now, unasked (the machine's `advance`):
    a renewal on time, late (once past due) or never (dunning runs its course), all else now."""
    if invoice.kind != "renewal" or habit == "on time":
        return True
    return habit == "late" and ix.subs[invoice.subscription_id].status != "active"


def confirm(invoice: Any, outcome: Any) -> int:
    """A confirmation: 409 unless the invoice can be paid and no payment on it awaits approval;
    else the `outcome` of what it pays (stateful_money.settle): 201, or its 422."""
    if invoice.status not in PAYABLE or invoice.pending_payment_id:
        return 409
    return 422 if outcome.code else 201


def approve(ix: Index, invoice: Any) -> int:
    """An upgrade's approval is refused once its subscription no longer waits for it."""
    sub = ix.subs[invoice.subscription_id]
    if invoice.kind == "upgrade" and (sub.status != "active"
                                      or sub.upgrade_invoice_id != invoice.invoice_id):
        return 409
    return 200


def approved(before: Index, invoice_id: str, at: datetime, part: bool, ix: Index) -> None:
    """What the approval (at `at`) of each kind of invoice brings ("Invoices", "Trials"); of a
    `part` of it, nothing yet (the invoice is paid in full by a later payment)."""
    invoice = before.invoices[invoice_id]
    sub, account = before.subs[invoice.subscription_id], before.accounts[invoice.account_id]
    now_sub, now_account = ix.subs[sub.subscription_id], ix.accounts[account.account_id]
    allowance, extra = before.buckets(account)
    seen = (now_sub.status, now_sub.period, now_sub.plan, now_account.status,
            *ix.buckets(now_account))
    kind = invoice.kind or "signup"
    if part:
        assert ix.invoices[invoice_id].status == "partially_paid", ix.invoices[invoice_id]
        wanted = (sub.status, sub.period, sub.plan, account.status, allowance, extra)
    elif kind == "signup":  # anchored now; a trial's credits carried over to extra
        carried = allowance if account.status == "trial" else 0
        assert now_sub.anchor == stamp(at), (now_sub.anchor, at)
        wanted = ("active", 0, invoice.plan, "active", invoice.plan_credits, extra + carried)
    elif kind == "renewal" and (sub.status != "active"
                                or parse_stamp(sub.current_period_end) <= at):  # rolls now
        wanted = ("active", invoice.period, invoice.plan, "active", invoice.plan_credits, extra)
    elif kind == "renewal":  # paid early: no period is added before the period ends
        assert now_sub.paid_through == invoice.period, now_sub.paid_through
        wanted = ("active", sub.period, sub.plan, account.status, allowance, extra)
    else:
        credits = invoice.upgrade_credits or 0
        wanted = ("active", sub.period, invoice.plan, account.status, allowance + credits, extra)
    assert seen == wanted, (kind, invoice_id, seen, wanted)


def prorated(ix: Index, sub: Any, plan: str, at: datetime) -> tuple[int, int]:
    """An upgrade's price and credits at `at`: the price difference times the unused part of the
    period (seconds left / seconds in it), rounded half-up to the cent; the credit difference
    times the same, rounded down."""
    start, end = parse_stamp(sub.current_period_start), parse_stamp(sub.current_period_end)
    tick = timedelta(microseconds=1)
    left = Fraction(min(max((end - at) // tick, 0), (end - start) // tick), (end - start) // tick)
    target, current = ix.plans[plan], ix.plans[sub.plan]
    return (int((target.price_minor - current.price_minor) * left + Fraction(1, 2)),
            int(max(target.credits - current.credits, 0) * left))


def upgrade_priced(before: Index, subscription_id: str, plan: str, at: datetime,
                   invoice_id: str, ix: Index) -> None:
    """The upgrade invoice is `prorated` as of `at`; nothing else changed yet."""
    sub = before.subs[subscription_id]
    amount, credits = prorated(before, sub, plan, at)
    invoice, now_sub = ix.invoices[invoice_id], ix.subs[subscription_id]
    assert (invoice.kind, invoice.plan, invoice.amount_minor, invoice.upgrade_credits) == (
        "upgrade", plan, amount, credits), (invoice.amount_minor, invoice.upgrade_credits)
    assert (now_sub.plan, now_sub.upgrade_invoice_id) == (sub.plan, invoice_id)


def nothing_left(at: datetime, settings: Any, ix: Index) -> None:
    """The jobs ran as of `at`: nothing whose time had come is left undone."""
    assert not (left := left_due(ix, at, settings)), (at, left)


def next_due(ix: Index, settings: Any) -> datetime | None:
    """When the jobs' next step falls due: a subscription's or a trial's, or a first invoice's
    voiding (past due date and grace, at a day's start)."""
    due = [parse_stamp(item.sweep_at) for item in [*ix.subs.values(), *ix.accounts.values()]
           if item.sweep_at]
    due += [datetime.fromisoformat(i.due_date).replace(tzinfo=timezone.utc)
            + timedelta(days=settings.invoice_grace_days + 1) for i in ix.invoices.values()
            if (i.kind or "signup") == "signup" and i.status in PAYABLE]
    return min(due, default=None)
