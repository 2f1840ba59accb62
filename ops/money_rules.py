"""The integrity rules of credits and periods (registered into `ops.integrity.RULES`):

- every bucket (allowance, extra) is the sum of its ledger entries and never negative, and
  credits = allowance + extra;
- a trial was granted the free plan's credits once and holds no more;
- an account's status agrees with its subscription's, and its pending invoice is a pending one;
- a subscription's periods are paid once each, contiguous from its anchor (period k is
  `period(anchor, k)`), with at most one live renewal invoice per period;
- every ledger entry names its cause, and every paid invoice granted what it must exactly once.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.billing.periods import period
from chalicelib.core.clock import parse_stamp, stamp
from chalicelib.storage.models.billing import PAYABLE
from ops.integrity import FREE_PLAN, RuleResult, _Index, _rule

RUNNING = {"active": "active", "past_due": "past_due", "suspended": "suspended"}


def _bucket(entry: Any) -> str:
    return entry.bucket or "allowance"


def _split(entry: Any) -> tuple[int, int]:
    """What the entry moved in (allowance, extra): a consumption or release says it in its
    `taken_*`, any other entry moves its amount in its bucket."""
    if entry.taken_allowance is not None or entry.taken_extra is not None:
        sign = -1 if entry.amount < 0 else 1
        return sign * (entry.taken_allowance or 0), sign * (entry.taken_extra or 0)
    return (entry.amount, 0) if _bucket(entry) == "allowance" else (0, entry.amount)


@_rule("account credits equal the sum of their ledger entries, bucket by bucket")
def _credits_match_ledger(ix: _Index, result: RuleResult) -> None:
    for account in ix.snap.accounts:
        result.checked += 1
        entries = ix.ledger_of.get(account.account_id, [])
        sums: Counter[str] = Counter()
        for entry in entries:
            moved_allowance, moved_extra = _split(entry)
            sums["allowance"] += moved_allowance
            sums["extra"] += moved_extra
        extra = account.extra or 0
        allowance = account.allowance if account.allowance is not None else account.credits - extra
        problems = []
        if account.credits != sum(sums.values()):
            problems.append(f"credits {account.credits}, ledger sum {sum(sums.values())}")
        if (allowance, extra) != (sums["allowance"], sums["extra"]):
            problems.append(f"buckets allowance {allowance} / extra {extra}, ledger "
                            f"{sums['allowance']} / {sums['extra']}")
        if sum(_split(e)[0] + _split(e)[1] for e in entries) != sum(e.amount for e in entries):
            problems.append("an entry's bucket split does not add up to its amount")
        if allowance + extra != account.credits or min(allowance, extra) < 0:
            problems.append(f"allowance {allowance} + extra {extra} vs credits {account.credits}")
        if problems:
            result.failures.append(f"{account.account_id}: {'; '.join(problems)}")


@_rule("a trial was granted the free plan's credits once and holds no more, with no paid plan")
def _trial_accounts(ix: _Index, result: RuleResult) -> None:
    free = ix.plans.get(FREE_PLAN)
    for account in ix.snap.accounts:
        if account.status != "trial":
            continue
        result.checked += 1
        grants = [e for e in ix.ledger_of.get(account.account_id, []) if e.reason == "trial_grant"]
        sub = ix.subscriptions.get(account.subscription_id or "")
        problems = []
        if free is None:
            problems.append("the free plan is missing")
        elif len(grants) != 1 or grants[0].amount != free.credits or account.credits > free.credits:
            problems.append(f"trial grants {[g.amount for g in grants]} and credits "
                            f"{account.credits}, the free plan gives {free.credits}")
        if account.subscription_id and (sub is None or sub.status != "pending_payment"):
            problems.append(f"subscription {account.subscription_id} is not awaiting its payment")
        if problems:
            result.failures.append(f"{account.account_id}: {'; '.join(problems)}")


@_rule("an account's status agrees with its subscription's, and its pending invoice is pending")
def _account_matches_subscription(ix: _Index, result: RuleResult) -> None:
    for account in ix.snap.accounts:
        if not account.subscription_id:
            continue  # trials and admin accounts
        result.checked += 1
        sub = ix.subscriptions.get(account.subscription_id)
        problems = []
        if sub is None:
            problems.append(f"subscription {account.subscription_id} is missing")
        else:
            expected = {"pending_payment": ("pending_payment", "trial"),
                        "cancelled": ("cancelled", "suspended")}.get(sub.status, (RUNNING.get(sub.status),))
            effective = account.held_status if account.held else account.status
            if effective not in expected:
                problems.append(f"{effective} while its subscription is {sub.status}")
            if account.held and account.status != "suspended":
                problems.append(f"held by an admin but {account.status}")
        pointer = ix.invoices.get(account.pending_invoice_id or "")
        if account.pending_invoice_id and (pointer is None or pointer.status not in PAYABLE
                                           or pointer.account_id != account.account_id):
            problems.append(f"pending_invoice_id {account.pending_invoice_id} is not a pending "
                            "invoice of the account")
        if account.status == "pending_payment" and not account.pending_invoice_id:
            problems.append("pending_payment without a pending invoice")
        if problems:
            result.failures.append(f"{account.account_id}: {'; '.join(problems)}")


def _period_problems(sub: Any, invoices: list[Any]) -> list[str]:
    """Why the subscription's invoices and periods do not line up (an empty list if they do)."""
    first = [i for i in invoices if (i.kind or "signup") == "signup"]
    renewals = [i for i in invoices if i.kind == "renewal"]
    paid = sorted(i.period for i in renewals if i.status == "paid")
    problems = []
    if len(first) != 1:
        problems.append(f"{len(first)} signup invoices")
    live = Counter((i.period, i.status) for i in renewals if i.status != "void")
    if any(count > 1 for count in Counter(p for p, _ in live.elements()).values()):
        problems.append("two live renewal invoices for one period")
    if sub.status == "pending_payment" or (sub.status == "cancelled" and not sub.anchor):
        if any(i.status == "paid" for i in invoices):
            problems.append(f"{sub.status} with a paid invoice")
        return problems
    behind = sub.status in ("past_due", "suspended", "cancelled")  # a reversal may have put it there
    if not (first and (first[0].status == "paid" or (first[0].reversals and behind))):
        problems.append("no paid signup invoice")
    if not sub.anchor or sub.period is None:
        return problems + ["no anchor or period"]
    if paid != list(range(1, len(paid) + 1)):
        problems.append(f"paid renewal periods {paid} are not 1..n, each once")
    through = paid[-1] if paid else 0
    reversed_now = behind and any(i.period == sub.period and i.reversals and i.status != "paid"
                                  for i in renewals)  # the running period's payment was reversed
    if sub.paid_through != through or not (through - 1 <= sub.period <= through
                                           or (reversed_now and sub.period == through + 1)):
        problems.append(f"period {sub.period}, paid_through {sub.paid_through}, paid up to {through}")
    anchor = parse_stamp(sub.anchor)
    start, end = (stamp(moment) for moment in period(anchor, sub.period))
    if (sub.current_period_start, sub.current_period_end) != (start, end):
        problems.append(f"current period {sub.current_period_start}..{sub.current_period_end} is "
                        f"not period {sub.period} of its anchor")
    for invoice in renewals:
        if (invoice.period_start, invoice.period_end) != tuple(
                stamp(m) for m in period(anchor, invoice.period)):
            problems.append(f"renewal {invoice.invoice_id} is not period {invoice.period}")
    return problems


@_rule("a subscription's periods are paid once each, contiguous from its anchor")
def _subscription_periods(ix: _Index, result: RuleResult) -> None:
    for sub in ix.snap.subscriptions:
        result.checked += 1
        problems = _period_problems(sub, ix.invoices_of_subscription.get(sub.subscription_id, []))
        account = ix.accounts.get(sub.account_id)
        if account is None:
            problems.append(f"account {sub.account_id} is missing")
        elif sub.status != "cancelled" and account.subscription_id != sub.subscription_id:
            problems.append(f"account {sub.account_id} does not point back at it")
        if problems:
            result.failures.append(f"{sub.subscription_id}: {'; '.join(problems)}")


def _cause_problem(ix: _Index, entry: Any) -> str | None:
    """Why the entry does not match the cause its id and reason name (None if it does)."""
    reason, entry_id = entry.reason, entry.entry_id
    trial = {"trial_grant": ("trial", "allowance"), "trial_expired": ("trial#expired", "allowance"),
             "trial_carried_over": None}
    if reason in trial:
        if reason == "trial_carried_over":
            return None if (entry_id, _bucket(entry)) in (("trial#carried_out", "allowance"),
                                                          ("trial#carried_in", "extra")) else "misplaced"
        return None if (entry_id, _bucket(entry)) == trial[reason] else f"not entry {trial[reason][0]}"
    if reason == "plan_purchase" and entry.reference in ix.invoices:  # paid from the balance
        paid = ix.invoices[entry.reference]
        return None if (paid.status == "paid" and paid.balance_applied_minor == paid.amount_minor
                        and entry_id == f"payment#{paid.invoice_id}"
                        and entry.amount == paid.plan_credits) else "not a signup the balance paid"
    if reason == "plan_purchase":
        payment = ix.payments.get(entry.reference or "")
        invoice = ix.invoices.get(payment.invoice_id) if payment else None
        if payment is None or payment.status not in ("succeeded", "reversed"):
            return f"payment {entry.reference} is {payment.status if payment else 'missing'}"
        if (payment.account_id != entry.account_id or entry_id != f"payment#{payment.payment_id}"
                or invoice is None or entry.amount != invoice.plan_credits):
            return f"does not match payment {payment.payment_id} (account, entry id or plan credits)"
        return None
    invoice = ix.invoices.get(entry.reference or "")
    if reason == "payment_reversed":
        payment = ix.payments.get(entry.reference or "")
        if (payment is None or payment.status != "reversed" or entry.amount >= 0
                or entry_id != f"reversal#{payment.payment_id}" or payment.account_id != entry.account_id):
            return f"takes back for {entry.reference}, which is no reversed payment of the account"
        return None
    if reason == "period_reinstated":
        if (invoice is None or invoice.status != "paid" or invoice.kind != "renewal"
                or not invoice.reversals or entry.amount <= 0
                or not entry_id.startswith(f"reinstated#{invoice.invoice_id}#")):
            return f"gives back for {entry.reference}, which is no paid renewal that was reversed"
        return None
    if reason == "allowance_granted":
        if invoice is not None and invoice.kind == "renewal" and invoice.reversals:
            pass  # granted when first paid; its reversal took back what was left
        elif invoice is None or invoice.status != "paid" or invoice.kind != "renewal":
            return f"renewal {entry.reference} is not paid"
        if (entry_id != f"period#{invoice.subscription_id}#{invoice.period}#granted"
                or entry.amount != invoice.plan_credits or invoice.account_id != entry.account_id):
            return f"does not match renewal {invoice.invoice_id}"
        return None
    if reason == "upgrade_granted":
        if invoice is None or invoice.status != "paid" or invoice.kind != "upgrade":
            return f"upgrade {entry.reference} is not paid"
        if entry_id != f"upgrade#{invoice.invoice_id}" or entry.amount != invoice.upgrade_credits:
            return f"does not match upgrade {invoice.invoice_id}"
        return None
    if reason == "allowance_expired":
        return None if entry.amount < 0 and entry_id.startswith("period#") else "not a period's expiry"
    if reason == "topup":
        if invoice is None or invoice.kind != "topup" or (invoice.status != "paid"
                                                          and not invoice.reversals):
            return f"topup {entry.reference} is not paid"
        ids = [f"topup#{invoice.invoice_id}"] + [f"topup#{invoice.invoice_id}#r{n}"
                                                 for n in range(1, (invoice.reversals or 0) + 1)]
        if (entry_id not in ids or entry.amount != invoice.plan_credits
                or _bucket(entry) != "extra"):
            return f"does not match topup {invoice.invoice_id}"
        return None
    if reason in ("admin_grant", "admin_correction"):
        good = entry_id.startswith("admin#") and (entry.amount > 0) == (reason == "admin_grant")
        return None if good and entry.reference else "an admin entry without its sign or reason"
    if reason == "consumed":
        taken = (entry.taken_allowance or 0) + (entry.taken_extra or 0)
        return None if entry_id.startswith("consume#") and entry.amount == -taken < 0 else \
            "a consumption whose amount is not what it took"
    if reason == "released":
        consumed = ix.ledger_entries.get((entry.account_id, entry.reference or ""))
        if consumed is None or consumed.reason != "consumed" or entry_id != f"release#{consumed.entry_id}":
            return f"releases {entry.reference}, which is no consumption of the account"
        if (entry.taken_allowance or 0) > (consumed.taken_allowance or 0) or (
                entry.taken_extra or 0) > (consumed.taken_extra or 0):
            return f"gives back more than {consumed.entry_id} took"
        return None
    return f"unknown reason {reason}"


@_rule("each ledger entry references its cause (a trial, a paid invoice, a period's end)")
def _ledger_causes(ix: _Index, result: RuleResult) -> None:
    for entry in ix.snap.ledger:
        result.checked += 1
        problem = _cause_problem(ix, entry)
        if problem:
            result.failures.append(f"{entry.account_id}/{entry.entry_id}: {problem}")


@_rule("every succeeded payment granted its credits exactly once")
def _granted_once(ix: _Index, result: RuleResult) -> None:
    for payment in ix.snap.payments:
        if payment.status != "succeeded":
            continue
        result.checked += 1
        invoice = ix.invoices.get(payment.invoice_id)
        sub = ix.subscriptions.get(payment.subscription_id)
        grants = len(ix.grants_of_payment.get(payment.payment_id, []))
        expected = 0 if payment.settles == "partial" else 1  # a part grants nothing; the last pays
        if invoice is not None and invoice.kind in ("renewal", "upgrade", "topup") and expected:
            grants = len(ix.grants_of_payment.get(invoice.invoice_id, []))
            reached = sub is not None and (sub.period or 0) >= (invoice.period or 0)
            expected = 1 if invoice.kind in ("upgrade", "topup") or reached else 0
            expected = 0 if invoice.kind == "upgrade" and not invoice.upgrade_credits else expected
            if invoice.kind == "topup":
                expected += invoice.reversals or 0  # the first grant, and one per payment again
            if invoice.kind == "renewal":  # the period's grant; a reversal's give-back is not one
                grants = len([e for e in ix.grants_of_payment.get(invoice.invoice_id, [])
                              if e.reason != "period_reinstated"])
        if grants != expected:
            result.failures.append(f"{payment.payment_id}: {grants} ledger grants, {expected} due")
