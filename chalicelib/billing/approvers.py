"""Four eyes on large payments: a payment worth more than SECOND_APPROVAL_ABOVE (500.00 in the
invoice's currency; a local payment at its quote's rate) needs two admins. The first approval is
recorded on the payment (202; nothing else changes); the second, by another admin, is the normal
approval transaction, conditional on the first approver being the one read. And no admin decides
a payment of an account they belong to.
"""
from __future__ import annotations

from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import WithStatus, with_status
from chalicelib.billing.views import approvals_required, approvals_view, payment_view
from chalicelib.core.clock import stamp
from chalicelib.core.errors import Conflict, Forbidden
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.billing import PaymentModel
from chalicelib.storage.store import TransactionCancelled, Tx

PENDING = "pending_approval"


def not_their_own(admin: Principal, payment: PaymentModel) -> None:
    """No admin decides a payment of an account they belong to."""
    if admin.account_id == payment.account_id:
        raise Forbidden("You belong to this payment's account: another admin decides it.",
                        code="own_account")


def needs_two(payment: PaymentModel) -> bool:
    return approvals_required(payment) == 2


def second_approver_required(payment: PaymentModel) -> Conflict:
    return Conflict("You gave this payment its first approval; another admin gives the second.",
                    code="second_approver_required",
                    details={"approvals": approvals_view(payment)})


def first_approval(admin: Principal, payment: PaymentModel, notes: str | None) -> WithStatus:
    """Record the first of two approvals (nothing else changes): 202."""
    at = stamp()
    tx = Tx()
    tx.update("payment", payment, [PaymentModel.first_approved_by.set(admin.email),
                                   PaymentModel.first_approved_at.set(at)],
              condition=(PaymentModel.status == PENDING)
              & PaymentModel.first_approved_by.does_not_exist())
    add_audit(tx, entity_type="payment", entity_id=payment.payment_id, action="first_approval",
              from_status=PENDING, to_status=PENDING, actor=admin.email, at=at, notes=notes)
    payment.first_approved_by, payment.first_approved_at = admin.email, at
    response = {"payment": payment_view(payment), "approvals": approvals_view(payment),
                "approvals_required": 2}
    with_status(202)
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        fresh = store.get(PaymentModel, payment.payment_id, consistent=True)
        if fresh is not None and fresh.status == PENDING and fresh.first_approved_by == admin.email:
            raise second_approver_required(fresh) from exc
        raise Conflict("Another admin approved this payment meanwhile; look at it again.",
                       code="payment_not_pending" if fresh is None or fresh.status != PENDING
                       else "state_conflict") from exc
    return WithStatus(202, response)


