"""The integrity rules of bank statement lines (registered into `ops.integrity.RULES`):

- an applied line paid with exactly one succeeded payment, which names it back; a payment that
  names a line is the one that line applied (a line pays once, a payment comes from one line);
- only money in is applied, and an applied or ignored line says who decided and when.
"""
from __future__ import annotations

from ops.integrity import RuleResult, _Index, _rule

APPLIED, IGNORED = "applied", "ignored"


@_rule("an applied statement line paid once, with a succeeded payment that names it")
def _applied_lines(ix: _Index, result: RuleResult) -> None:
    named = {}
    for payment in ix.snap.payments:
        if payment.statement_line_id:
            named.setdefault(payment.statement_line_id, []).append(payment)
    for line in ix.lines.values():
        result.checked += 1
        payments = named.get(line.line_id, [])
        if line.status == APPLIED:
            payment = ix.payments.get(line.payment_id or "")
            if payment is None or payment.status != "succeeded":
                result.failures.append(f"{line.line_id}: applied, but its payment {line.payment_id} "
                                       "is missing or did not succeed")
            elif [p.payment_id for p in payments] != [payment.payment_id]:
                result.failures.append(f"{line.line_id}: named by payments "
                                       f"{sorted(p.payment_id for p in payments)}")
            if (line.amount_minor or 0) <= 0:
                result.failures.append(f"{line.line_id}: money out, applied")
        elif [p for p in payments if p.status != "pending_approval" or p.payment_id != line.payment_id]:
            # (a payment awaiting its second approval names the line it will apply)
            result.failures.append(f"{line.line_id}: {line.status}, but payment "
                                   f"{payments[0].payment_id} names it")
        if line.status in (APPLIED, IGNORED) and (line.amount_minor or 0) > 0 and not (
                line.decided_at and line.decided_by):
            result.failures.append(f"{line.line_id}: {line.status} without who and when")
    for line_id, payments in named.items():
        if line_id not in ix.lines:
            result.checked += 1
            result.failures.append(f"{payments[0].payment_id}: names statement line {line_id}, "
                                   "which does not exist")
