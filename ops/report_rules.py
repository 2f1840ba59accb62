"""The integrity rules of the reports' aggregates (registered into `ops.integrity.RULES`): what the
transactions added up month by month must be what the items say, recounted here from a scan.

- each month: invoiced (the invoices made in it), collected (approved payments at what they bring,
  less the ones reversed in it) by method and billing country, approvals, rejections, reversals,
  the decision-time histogram, new subscriptions and churn (from the subscriptions' audit trail);
- MRR and active subscriptions: each subscription counts its plan's monthly price exactly while it
  is active or past due, the running totals are the sum of what they count, and every month's
  changes add up to the running totals.

`recount` is also what `manage.py migrate` writes into an empty store of aggregates (a store kept
from before the reports).
"""
from __future__ import annotations

from collections import defaultdict

from chalicelib.storage.models.billing import worth
from chalicelib.core.clock import parse_stamp
from chalicelib.reports.aggregates import (
    ALL, COUNTED, COUNTRY, METHOD, PAID_FOR, STATEMENT, TOTALS, hours_bucket, monthly_price)
from ops.integrity import RuleResult, _Index, _rule

Figures = dict[tuple[str, str], dict[str, int]]


def recount(ix: _Index) -> Figures:
    """Every month's figures (and the running totals), from the items: {(month, key): figures}."""
    found: Figures = defaultdict(lambda: defaultdict(int))

    def add(month: str, figure: str, delta: int, key: str = TOTALS) -> None:
        if delta:
            found[(month, key)][figure] += delta

    for invoice in ix.snap.invoices:
        add(invoice.created_at[:7], "invoiced_minor", invoice.amount_minor)
    for payment in ix.snap.payments:
        if payment.status not in ("succeeded", "reversed", "failed") or not payment.decided_at:
            continue
        month = payment.decided_at[:7]
        if payment.source != STATEMENT:
            waited = parse_stamp(payment.decided_at) - parse_stamp(payment.created_at)
            add(month, hours_bucket(waited.total_seconds() / 3600), 1)
        if payment.status == "failed":
            add(month, "rejections", 1)
            continue
        invoice = ix.invoices.get(payment.invoice_id)
        country = getattr(invoice, "billing_country", None) or "unknown"
        moves = [(month, 1, "approvals")]
        if payment.reversed_at:
            moves.append((payment.reversed_at[:7], -1, "reversals"))
        for when, sign, count in moves:
            add(when, count, 1)
            for key in (TOTALS, f"{METHOD}#{payment.payment_method}", f"{COUNTRY}#{country}"):
                add(when, "collected_minor", sign * worth(payment), key)
    for sub in ix.snap.subscriptions:
        for event in ix.audit_of.get(sub.subscription_id, []):
            if (event.from_status, event.to_status) == ("pending_payment", "active"):
                add(event.at[:7], "new_subscriptions", 1)
            if event.to_status == "cancelled" and event.from_status in PAID_FOR:
                add(event.at[:7], "churned", 1)
        if sub.mrr_minor is not None:
            add(ALL, "mrr_minor", sub.mrr_minor)
            add(ALL, "active", 1)
    return found


def kept(ix: _Index) -> Figures:
    """What the aggregates hold, summed over their shards."""
    found: Figures = defaultdict(lambda: defaultdict(int))
    for item in ix.snap.reports:
        key = item.slot.rsplit("#", 1)[0]
        for name, value in item.attribute_values.items():
            if name not in ("month", "slot") and value:
                found[(item.month, key)][name] += value
    return found


def _plain(figures: Figures, skip: tuple[str, ...] = ()) -> dict[tuple[str, str], dict[str, int]]:
    return {where: {k: v for k, v in values.items() if v and k not in skip}
            for where, values in figures.items()
            if any(v and k not in skip for k, v in values.items())}


@_rule("the reports' monthly aggregates equal what the invoices, payments and audit trail say")
def _months_add_up(ix: _Index, result: RuleResult) -> None:
    flows = ("mrr_minor", "active")  # checked by the next rule (their history is not in the items)
    want = {w: v for w, v in _plain(recount(ix), flows).items() if w[0] != ALL}
    have = {w: v for w, v in _plain(kept(ix), flows).items() if w[0] != ALL}
    for where in sorted(set(want) | set(have)):
        result.checked += 1
        if want.get(where, {}) != have.get(where, {}):
            result.failures.append(f"{where[0]} {where[1]}: the items say {want.get(where, {})}, "
                                   f"the aggregates {have.get(where, {})}")


@_rule("MRR: each subscription counts its plan's price while active or past due, and the running "
       "totals and every month's changes add up to what they count")
def _mrr_adds_up(ix: _Index, result: RuleResult) -> None:
    for sub in ix.snap.subscriptions:
        result.checked += 1
        should = monthly_price(sub.plan) if sub.status in COUNTED else None
        if sub.mrr_minor != should:
            result.failures.append(f"{sub.subscription_id}: {sub.status} on {sub.plan} counts "
                                   f"{sub.mrr_minor}, not {should}")
    counted = recount(ix)[(ALL, TOTALS)]
    have = kept(ix)
    running = have.get((ALL, TOTALS), {})
    changes: dict[str, int] = defaultdict(int)
    for (month, key), values in have.items():
        if month != ALL and key == TOTALS:
            for name in ("mrr_minor", "active"):
                changes[name] += values.get(name, 0)
    for name in ("mrr_minor", "active"):
        result.checked += 1
        totals = (counted.get(name, 0), running.get(name, 0), changes[name])
        if len(set(totals)) != 1:
            result.failures.append(f"{name}: the subscriptions count {totals[0]}, the running "
                                   f"total says {totals[1]}, the months' changes add up to {totals[2]}")


def backfill(ix: _Index) -> Figures:
    """What an empty store of aggregates should start with: the recount, with each counted
    subscription's MRR dated at its first activation (the history the items keep)."""
    figures = recount(ix)
    for sub in ix.snap.subscriptions:
        if sub.status not in COUNTED:
            continue
        started = next((e.at for e in sorted(ix.audit_of.get(sub.subscription_id, []), key=lambda e: e.at)
                        if e.to_status == "active"), sub.current_period_start or sub.created_at)
        figures[(started[:7], TOTALS)]["mrr_minor"] += monthly_price(sub.plan)
        figures[(started[:7], TOTALS)]["active"] += 1
        figures[(ALL, TOTALS)]["mrr_minor"] += monthly_price(sub.plan) - (sub.mrr_minor or 0)
        figures[(ALL, TOTALS)]["active"] += 0 if sub.mrr_minor is not None else 1
    return figures
