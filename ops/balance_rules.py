"""The integrity rules of invoice money and account balances (registered into
`ops.integrity.RULES`):

- every invoice: amount = amount_paid + written_off + balance_applied + amount_due, with
  amount_paid and written_off the sums of its succeeded payments', and its status saying the same
  (paid ⇔ nothing due; partially_paid ⇔ part paid, part due; pending ⇔ nothing paid);
- every account: balance = the sum of its money-ledger entries, never negative;
- every money entry names its cause: an overpayment's excess, a voided invoice's paid part, or
  what an invoice took from the balance, each exactly as the invoice or payment says.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from ops.integrity import RuleResult, _group, _Index, _rule


def _applied(payment: Any) -> int:
    return payment.applied_minor if payment.applied_minor is not None else payment.amount_minor


@_rule("an invoice's amount = amount_paid + written_off + balance_applied + amount_due, as its "
       "payments and status say")
def _invoice_money_adds_up(ix: _Index, result: RuleResult) -> None:
    for invoice in ix.snap.invoices:
        result.checked += 1
        if invoice.amount_due_minor is None:  # written before partial payments: paid by one payment
            _legacy_invoice(ix, invoice, result)
            continue
        paid, off = invoice.amount_paid_minor or 0, invoice.written_off_minor or 0
        applied, due = invoice.balance_applied_minor or 0, invoice.amount_due_minor
        succeeded = [p for p in ix.payments_of.get(invoice.invoice_id, []) if p.status == "succeeded"]
        problems = []
        if invoice.amount_minor != paid + off + applied + due:
            problems.append(f"{invoice.amount_minor} != paid {paid} + written off {off} + balance "
                            f"{applied} + due {due}")
        if min(paid, off, applied, due) < 0:
            problems.append("a negative part")
        if paid != sum(_applied(p) for p in succeeded) or off != sum(
                p.written_off_minor or 0 for p in succeeded):
            problems.append(f"paid {paid} / written off {off} are not its succeeded payments' "
                            f"{sum(_applied(p) for p in succeeded)} / "
                            f"{sum(p.written_off_minor or 0 for p in succeeded)}")
        expected = {"paid": due == 0, "partially_paid": 0 < due < invoice.amount_minor - applied
                    and paid > 0, "pending": paid == 0 and due > 0, "void": True}
        if not expected.get(invoice.status, False):
            problems.append(f"{invoice.status} with paid {paid}, due {due}")
        if invoice.status == "paid" and not invoice.paid_at:
            problems.append("paid without paid_at")
        if problems:
            result.failures.append(f"{invoice.invoice_id}: {'; '.join(problems)}")


def _legacy_invoice(ix: _Index, invoice: Any, result: RuleResult) -> None:
    succeeded = ix.statuses(ix.payments_of.get(invoice.invoice_id, []))["succeeded"]
    paid = invoice.status == "paid"
    if (paid and succeeded != 1) or (not paid and succeeded != 0):
        result.failures.append(f"{invoice.invoice_id}: {invoice.status} with {succeeded} "
                               "succeeded payments")
    elif paid and not invoice.paid_at:
        result.failures.append(f"{invoice.invoice_id}: paid without paid_at")


@_rule("an account's balance is the sum of its money-ledger entries, never negative")
def _balance_matches_ledger(ix: _Index, result: RuleResult) -> None:
    money_of = _group(ix.snap.money, lambda e: e.account_id)
    for account in ix.snap.accounts:
        result.checked += 1
        total = sum(e.amount_minor for e in money_of.get(account.account_id, []))
        held = account.balance_minor or 0
        if held != total or held < 0:
            result.failures.append(f"{account.account_id}: balance {held}, money ledger sum {total}")


def _money_cause(ix: _Index, entry: Any) -> str | None:
    kind, _, ref = entry.entry_id.partition("#")
    if kind == "overpayment":
        payment = ix.payments.get(ref)
        if (payment is None or payment.status not in ("succeeded", "reversed")
                or (payment.excess_minor or 0) != entry.amount_minor):
            return f"overpayment of {ref}: no succeeded payment with that excess"
    elif kind == "reversed":
        payment = ix.payments.get(ref)
        if payment is None or payment.status != "reversed" or not (
                0 < -entry.amount_minor <= (payment.excess_minor or 0)):
            return f"reversed {ref}: takes back more than a reversed payment's excess"
    elif kind == "applied":
        invoice = ix.invoices.get(ref)
        if invoice is None or (invoice.balance_applied_minor or 0) != -entry.amount_minor:
            return f"applied to {ref}: the invoice does not say so"
    elif kind == "voided":
        invoice = ix.invoices.get(ref)
        paid = (invoice.amount_paid_minor or 0) + (invoice.balance_applied_minor or 0) if invoice else None
        if invoice is None or invoice.status != "void" or paid != entry.amount_minor:
            return f"voided {ref}: not a void invoice with that much paid"
    else:
        return f"unknown cause {entry.entry_id}"
    if ix.accounts.get(entry.account_id) is None:
        return "no such account"
    return None


@_rule("every money-ledger entry names its cause, once")
def _money_causes(ix: _Index, result: RuleResult) -> None:
    seen = Counter((e.account_id, e.entry_id) for e in ix.snap.money)
    for entry in ix.snap.money:
        result.checked += 1
        problem = _money_cause(ix, entry)
        if problem is None and seen[(entry.account_id, entry.entry_id)] > 1:
            problem = "written twice"
        if problem:
            result.failures.append(f"{entry.account_id}/{entry.entry_id}: {problem}")
    for invoice in ix.snap.invoices:  # and every void invoice that was paid in part gave it back
        paid = (invoice.amount_paid_minor or 0) + (invoice.balance_applied_minor or 0)
        if invoice.status == "void" and paid and (invoice.account_id, f"voided#{invoice.invoice_id}") not in seen:
            result.failures.append(f"{invoice.invoice_id}: void with {paid} paid, not in the balance")
