"""The approval of a payment awaiting it, as the admin's approve route does it: who may (not an
admin of the payment's own account), how many (two above SECOND_APPROVAL_ABOVE: billing.approvers),
and, for a payment recorded from a bank statement line, that line applied in the same transaction.
"""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.billing import approvers
from chalicelib.billing.payments import APPROVE, decide_approval, pending_payment
from chalicelib.core.errors import Conflict
from chalicelib.core.validation import validate


def approve(admin: Principal, payment_id: str, body: dict[str, Any]) -> Any:
    """Payment succeeded and invoice paid, with what its kind brings (approval.py), once. A
    payment worth more than SECOND_APPROVAL_ABOVE needs two admins: the first approval is
    recorded (202), the second, by another admin, approves."""
    notes = validate(body, APPROVE)["admin_notes"]
    payment = pending_payment(payment_id)
    approvers.not_their_own(admin, payment)
    if approvers.needs_two(payment):
        if not payment.first_approved_by:
            return approvers.first_approval(admin, payment, notes)
        if payment.first_approved_by == admin.email:
            raise approvers.second_approver_required(payment)
    extend = None
    if payment.statement_line_id:  # its statement line is applied with it
        from chalicelib.statements import decisions

        extend = decisions.second_approval_of(admin, payment)
    return decide_approval(admin, payment, notes, extend=extend,
                           conflicts={"line": Conflict("The payment's statement line was applied "
                                                       "meanwhile.", code="state_conflict")})


