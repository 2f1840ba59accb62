"""What must hold of the store during a subscription's life, written from the contract
(`api-lifecycle.md`) without the integrity checker's code, for the lifecycle state machine
(`test_stateful_lifecycle.py`), over a snapshot of the store (`Index`): `invariants` (rule →
violations) at every moment, and `left_due`, what the billing jobs, run as of a moment, must not
have left undone. What each request must answer and do is in `lifecycle_expect`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from chalicelib.billing.periods import period
from chalicelib.core.clock import parse_stamp, stamp
from ops import integrity
from tests.billing.stateful_money import BALANCE_RULE, balance_problems

RUNNING = ("active", "past_due", "suspended")
PAYABLE = ("pending", "partially_paid")  # an invoice a payment can still be confirmed for
# The account's status for its subscription's (api-lifecycle.md, "Subscription and account states")
ACCOUNT_OF = {"pending_payment": {"pending_payment", "trial"}, "active": {"active"},
              "past_due": {"past_due"}, "suspended": {"suspended"}, "cancelled": {"cancelled"}}
# A subscription that ended before it was ever paid (its first invoice voided): the account is
# suspended, or stays the trial (or expired trial) that had subscribed
NEVER_PAID = {"suspended", "trial", "expired"}
NO_SUBSCRIPTION = {"trial", "expired"}
# The transitions the contract allows (from → to; None: created), audited one event each
TRANSITIONS = {
    "account": {(None, "trial"), (None, "pending_payment"), ("trial", "active"),
                ("trial", "expired"), ("trial", "pending_payment"), ("pending_payment", "active"),
                ("pending_payment", "suspended"), ("active", "past_due"), ("active", "cancelled"),
                ("past_due", "active"), ("past_due", "suspended"), ("suspended", "active"),
                ("suspended", "cancelled"), ("expired", "pending_payment"),
                ("cancelled", "pending_payment"), ("suspended", "pending_payment")},
    "subscription": {(None, "pending_payment"), ("pending_payment", "active"),
                     ("pending_payment", "cancelled"), ("active", "active"), ("active", "past_due"),
                     ("active", "cancelled"), ("past_due", "active"), ("past_due", "suspended"),
                     ("suspended", "active"), ("suspended", "cancelled")},
    "invoice": {(None, "pending"), ("pending", "paid"), ("pending", "void"),
                ("pending", "partially_paid"), ("partially_paid", "partially_paid"),
                ("partially_paid", "paid"), ("partially_paid", "void")},
    "payment": {(None, "pending_approval"), ("pending_approval", "succeeded"),
                ("pending_approval", "failed"),
                ("pending_approval", "pending_approval")},  # the first of two approvals
}
PAUSE_RECHECK = timedelta(hours=1)  # a decision on a paused renewal is seen this much later


class Index:
    """A snapshot looked up by id."""

    def __init__(self, snap: integrity.Snapshot) -> None:
        self.snap = snap
        self.accounts = {a.account_id: a for a in snap.accounts if a.plan != "internal"}
        self.subs = {s.subscription_id: s for s in snap.subscriptions}
        self.invoices = {i.invoice_id: i for i in snap.invoices}
        self.payments = {p.payment_id: p for p in snap.payments}
        self.plans = {p.slug: p for p in snap.plans}
        self.invoices_of: dict[str, list[Any]] = defaultdict(list)
        for invoice in snap.invoices:
            self.invoices_of[invoice.subscription_id].append(invoice)
        self.payments_of: dict[str, list[Any]] = defaultdict(list)
        for payment in snap.payments:
            self.payments_of[payment.invoice_id].append(payment)
        self.ledger_of: dict[str, list[Any]] = defaultdict(list)
        for entry in snap.ledger:
            self.ledger_of[entry.account_id].append(entry)
        self.audit_of: dict[str, list[Any]] = defaultdict(list)
        for event in snap.audit:
            self.audit_of[event.entity_id].append(event)

    def buckets(self, account: Any) -> tuple[int, int]:
        """(allowance, extra) as the account view shows them."""
        extra = account.extra or 0
        allowance = account.allowance if account.allowance is not None else account.credits - extra
        return allowance, extra

    def pending_payment(self, invoice: Any) -> Any:
        return next((p for p in self.payments_of[invoice.invoice_id]
                     if p.status == "pending_approval"), None)


def _credits(ix: Index) -> list[str]:
    bad = []
    for account in ix.accounts.values():
        sums: Counter = Counter()
        for entry in ix.ledger_of[account.account_id]:
            sums[entry.bucket or "allowance"] += entry.amount
        allowance, extra = ix.buckets(account)
        if not (account.credits == allowance + extra == sum(sums.values())
                and (allowance, extra) == (sums["allowance"], sums["extra"])
                and min(allowance, extra) >= 0):
            bad.append(f"{account.account_id}: credits {account.credits}, allowance {allowance}, "
                       f"extra {extra}; ledger {dict(sums)}")
    return bad


def _replays(events: list[Any], kind: str, current: str) -> str | None:
    """Why the audit events are not a chain of allowed transitions from creation to `current`,
    in time order (events at the same moment in any order), or None."""
    by_time: dict[str, list[Any]] = defaultdict(list)
    for event in events:
        by_time[event.at].append(event)
    states: set[str | None] = {None}
    for at in sorted(by_time):
        edges = [(e.from_status, e.to_status) for e in by_time[at]]
        illegal = [edge for edge in edges if edge not in TRANSITIONS[kind]]
        if illegal:
            return f"transitions not allowed: {illegal}"
        reached = set().union(*(_walks(state, edges) for state in states))
        if not reached:
            return f"at {at}: {edges} do not follow from {sorted(map(str, states))}"
        states = reached
    return None if current in states else f"{current}, but the audit trail ends at {states}"


def _walks(state: str | None, edges: list[tuple[str | None, str]]) -> set[str | None]:
    """Where a walk from `state` using every edge once can end (tiny graphs: plain search)."""
    if not edges:
        return {state}
    ends: set[str | None] = set()
    for index, (source, target) in enumerate(edges):
        if source == state and (source, target) not in list(edges[:index]):
            ends |= _walks(target, edges[:index] + edges[index + 1:])
    return ends


def _trails(ix: Index) -> list[str]:
    entities = ([("account", a.account_id, a.status) for a in ix.accounts.values()]
                + [("subscription", s.subscription_id, s.status) for s in ix.subs.values()]
                + [("invoice", i.invoice_id, i.status) for i in ix.invoices.values()]
                + [("payment", p.payment_id, p.status) for p in ix.payments.values()])
    bad = []
    for kind, entity_id, status in entities:
        problem = _replays(ix.audit_of[entity_id], kind, status)
        if problem:
            bad.append(f"{kind} {entity_id}: {problem}")
    return bad


def _bounds(anchor: datetime, number: int) -> tuple[str, str]:
    start, end = period(anchor, number)
    return stamp(start), stamp(end)


def _periods(ix: Index) -> list[str]:
    """Paid periods 0..n once each (the signup invoice is 0), each at period(anchor, k)."""
    bad = []
    for sub in ix.subs.values():
        invoices = ix.invoices_of[sub.subscription_id]
        signup = [i for i in invoices if (i.kind or "signup") == "signup"]
        paid = [0 for i in signup if i.status == "paid"]
        paid += [i.period for i in invoices if i.kind == "renewal" and i.status == "paid"]
        where = sub.subscription_id
        if sorted(paid) != list(range(len(paid))):
            bad.append(f"{where}: paid periods {sorted(paid)}")
        if not paid:
            if sub.anchor or sub.status not in ("pending_payment", "cancelled"):
                bad.append(f"{where}: {sub.status}, anchor {sub.anchor}, nothing paid")
            continue
        anchor = parse_stamp(sub.anchor) if sub.anchor else None
        if anchor is None or sub.anchor != signup[0].paid_at:
            bad.append(f"{where}: anchor {sub.anchor}, first approval {signup[0].paid_at}")
            continue
        if not (sub.period or 0) <= (sub.paid_through or 0) == max(paid) <= (sub.period or 0) + 1:
            bad.append(f"{where}: period {sub.period}, paid through {sub.paid_through}: {paid}")
        if (sub.current_period_start, sub.current_period_end) != _bounds(anchor, sub.period or 0):
            bad.append(f"{where}: current period {sub.current_period_start}.."
                       f"{sub.current_period_end} is not period {sub.period}")
        bad += [f"{where}: renewal {i.invoice_id} {i.period_start}..{i.period_end} is not period "
                f"{i.period}" for i in invoices if i.kind == "renewal"
                and (i.period_start, i.period_end) != _bounds(anchor, i.period)]
    return bad


def _one_live_renewal(ix: Index) -> list[str]:
    live = Counter((i.subscription_id, i.period) for i in ix.invoices.values()
                   if i.kind == "renewal" and i.status != "void")
    return [f"{sub} period {number}: {count}" for (sub, number), count in live.items() if count > 1]


def _statuses_agree(ix: Index) -> list[str]:
    bad = []
    for account in ix.accounts.values():
        sub = ix.subs.get(account.subscription_id or "")
        if sub is None:
            allowed = NO_SUBSCRIPTION
        elif sub.status == "cancelled" and not sub.anchor:
            allowed = NEVER_PAID
        else:
            allowed = ACCOUNT_OF[sub.status]
        if account.status not in allowed or (account.subscription_id and sub is None):
            bad.append(f"{account.account_id} is {account.status}, its subscription "
                       f"{sub.status if sub else account.subscription_id}")
    for sub in ix.subs.values():
        owner = ix.accounts.get(sub.account_id)
        if owner is None or (owner.subscription_id != sub.subscription_id
                             and sub.status != "cancelled"):
            bad.append(f"{sub.subscription_id} is {sub.status}, not its account's subscription")
    return bad


def _pending_pointer(ix: Index) -> list[str]:
    bad = []
    for account in ix.accounts.values():
        pointer = ix.invoices.get(account.pending_invoice_id or "")
        if account.pending_invoice_id and (pointer is None or pointer.status not in PAYABLE
                                           or pointer.account_id != account.account_id):
            bad.append(f"{account.account_id}: {account.pending_invoice_id} is "
                       f"{pointer.status if pointer else 'missing'}")
    return bad


def _upgrades(ix: Index) -> list[str]:
    """A pending upgrade invoice is its subscription's one, for the current period."""
    bad = []
    for invoice in ix.invoices.values():
        if invoice.kind != "upgrade" or invoice.status not in PAYABLE:
            continue
        sub = ix.subs[invoice.subscription_id]
        if sub.upgrade_invoice_id != invoice.invoice_id or (
                (invoice.period, invoice.period_end) != (sub.period, sub.current_period_end)
                and not ix.pending_payment(invoice)):
            bad.append(f"{invoice.invoice_id} (period {invoice.period}): subscription "
                       f"{sub.subscription_id} is {sub.status} in period {sub.period}, upgrade "
                       f"{sub.upgrade_invoice_id}")
    return bad


def _next_plan(ix: Index) -> list[str]:
    """The next period's live renewal is for the plan the subscription says it will have."""
    bad = []
    for invoice in ix.invoices.values():
        sub = ix.subs[invoice.subscription_id]
        if (invoice.kind == "renewal" and invoice.status != "void" and sub.status == "active"
                and invoice.period == (sub.period or 0) + 1
                and invoice.plan != (sub.scheduled_plan or sub.plan)):
            bad.append(f"{invoice.invoice_id} is for {invoice.plan}; {sub.subscription_id} is "
                       f"{sub.plan}, scheduled {sub.scheduled_plan}")
    return bad


def invoice_money_problem(invoice: Any, payments: list[Any]) -> str | None:
    """Why the invoice's money does not add up with its payments and status, or None: amount =
    paid + written off + from the balance + due; paid and written off are its succeeded payments';
    paid iff nothing is due; pending iff nothing is paid; partially_paid between."""
    succeeded = [p for p in payments if p.status == "succeeded"]
    if invoice.amount_due_minor is None:  # written before partial payments
        return None if len(succeeded) == (invoice.status == "paid") else "not one success"
    paid, off = invoice.amount_paid_minor or 0, invoice.written_off_minor or 0
    applied, due = invoice.balance_applied_minor or 0, invoice.amount_due_minor
    if invoice.amount_minor != paid + off + applied + due:
        return "the parts do not add up"
    if paid != sum(p.applied_minor if p.applied_minor is not None else p.amount_minor
                   for p in succeeded) or off != sum(p.written_off_minor or 0 for p in succeeded):
        return "paid or written off is not its payments'"
    state = {"paid": due == 0, "partially_paid": paid > 0 and due > 0, "pending": paid == 0 and due > 0,
             "void": True}
    return None if state.get(invoice.status) else f"{invoice.status} with {paid} paid, {due} due"


def _money_adds_up(ix: Index) -> list[str]:
    return [f"{i.invoice_id} ({i.kind} {i.status}): {problem}" for i in ix.invoices.values()
            if (problem := invoice_money_problem(i, ix.payments_of[i.invoice_id]))]


def invariants(ix: Index) -> dict[str, list[str]]:
    """Rule → violations (names shared with `ops.integrity` where the rule is the same)."""
    return {
        "account credits equal the sum of their ledger entries, bucket by bucket": _credits(ix),
        BALANCE_RULE: balance_problems(ix.snap),
        "an invoice's amount = amount_paid + written_off + balance_applied + amount_due, as its payments and status say": _money_adds_up(ix),
        "no invoice has two payments pending_approval": [
            i for i, ps in ix.payments_of.items()
            if sum(p.status == "pending_approval" for p in ps) > 1],
        "every status is reached by allowed transitions, each audited": _trails(ix),
        "at most one live renewal invoice per subscription and period": _one_live_renewal(ix),
        "paid periods are 0..n once each, period k at period(anchor, k)": _periods(ix),
        "a subscription's status and its account's agree": _statuses_agree(ix),
        "an account's pending invoice is a pending invoice of its own": _pending_pointer(ix),
        "a pending upgrade invoice is for its subscription's current period": _upgrades(ix),
        "the next period's renewal is for the plan the subscription will have": _next_plan(ix),
    }


def hold(ix: Index) -> None:
    """The `invariants` hold, and so do `ops.integrity`'s rules, which agree with them where
    they have the same rule."""
    mine, checked = invariants(ix), integrity.check(ix.snap)
    for name, violations in mine.items():
        theirs = next((r.failures for r in checked.rules if r.name == name), None)
        assert theirs is None or (not violations) == (not theirs), (name, violations, theirs)
    assert not any(mine.values()), {name: v for name, v in mine.items() if v}
    assert checked.ok, "\n".join(checked.lines())


def _paused(ix: Index, invoice_id: str | None, moment: datetime) -> bool:
    """A payment on the renewal awaits approval, or was decided too recently to have been seen."""
    return any(p.status == "pending_approval" or parse_stamp(p.decided_at) > moment - PAUSE_RECHECK
               for p in ix.payments_of.get(invoice_id or "", []))


def left_due(ix: Index, moment: datetime, settings: Any) -> list[str]:
    """What the jobs, run as of `moment`, left undone: each time-driven step of the contract
    whose time has come (renewal issued, period ended, suspended, cancelled, trial over, an
    unpaid first invoice voided)."""
    lead, grace, cancel, void_after = (timedelta(days=days) for days in (
        settings.renewal_lead_days, settings.dunning_grace_days, settings.cancel_after_days,
        settings.invoice_grace_days))
    bad = []
    for sub in ix.subs.values():
        end = parse_stamp(sub.current_period_end) if sub.current_period_end else None
        renewal = ix.invoices.get(sub.renewal_invoice_id or "")
        if sub.status == "active" and end is not None:
            needs = not sub.cancel_at_period_end and (sub.paid_through or 0) <= (sub.period or 0)
            if end <= moment:
                bad.append(f"{sub.subscription_id}: active, its period ended at {end}")
            elif needs and moment >= end - lead and not (
                    renewal and renewal.status in PAYABLE
                    and renewal.period == (sub.period or 0) + 1):
                bad.append(f"{sub.subscription_id}: no renewal invoice {lead} before {end}")
        if sub.status in ("past_due", "suspended"):
            if sub.past_due_at != sub.current_period_end:
                bad.append(f"{sub.subscription_id}: past due from {sub.past_due_at}, not {end}")
            limit = grace if sub.status == "past_due" else cancel
            if moment >= parse_stamp(sub.past_due_at) + limit and not _paused(
                    ix, sub.renewal_invoice_id, moment):
                bad.append(f"{sub.subscription_id}: still {sub.status} {limit} after {end}")
    for account in ix.accounts.values():
        if account.status == "trial" and moment >= parse_stamp(account.trial_ends_at):
            bad.append(f"{account.account_id}: still a trial after {account.trial_ends_at}")
    for invoice in ix.invoices.values():
        if ((invoice.kind or "signup") == "signup" and invoice.status in PAYABLE
                and not ix.pending_payment(invoice)
                and invoice.due_date < (moment - void_after).date().isoformat()):
            bad.append(f"{invoice.invoice_id}: unpaid, due {invoice.due_date}, not void")
    return bad
