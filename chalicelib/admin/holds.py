"""An owner suspends an account (a fraud, a dispute) and reactivates it, with a reason each time.

Suspending sets the account `suspended` (its credits cannot be used, as for any suspended
account) and keeps, in `held_status`, the status it had; while it is held, the lifecycle's changes
(a renewal, a period's end, a payment approved) change `held_status`, not the status
(lifecycle.move_account). Reactivating gives it `held_status` back. Both are conditional updates
with their audit event and status counters: two owners at once change it once.
"""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.accounts.views import account_view
from chalicelib.core.clock import stamp
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.admin.fields import REASON
from chalicelib.core.validation import validate
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.store import TransactionCancelled, Tx



def _account(account_id: str) -> AccountModel:
    account = store.get(AccountModel, account_id, consistent=True)
    if account is None:
        raise NotFound("No such account.", code="account_not_found")
    if account.plan == "internal":
        raise Conflict("The admins' own account is not suspended this way: disable the admin.",
                       code="state_conflict")
    return account


def suspend(owner: Principal, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    reason = validate(body, REASON)["reason"]
    account = _account(account_id)
    if account.held:
        raise Conflict("The account is already suspended by an admin.", code="account_held",
                       details={"reason": account.held})
    at, was = stamp(), account.status
    tx = Tx()
    tx.update("account", account, [AccountModel.status.set("suspended"), AccountModel.held.set(reason),
                                   AccountModel.held_status.set(was), AccountModel.updated_at.set(at)],
              condition=(AccountModel.status == was) & AccountModel.held.does_not_exist())
    add_audit(tx, entity_type="account", entity_id=account_id, action="suspended_by_admin",
              from_status=was, to_status="suspended", actor=owner.email, at=at, notes=reason)
    if was != "suspended":
        tx.count(f"accounts_{was}", -1)
        tx.count("accounts_suspended", 1)
    account.status, account.held, account.held_status = "suspended", reason, was
    return _commit(tx, account)


def reactivate(owner: Principal, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    reason = validate(body, REASON)["reason"]
    account = _account(account_id)
    if not account.held:
        raise Conflict("The account is not suspended by an admin.", code="account_not_held")
    at, back = stamp(), account.held_status or "active"
    tx = Tx()
    tx.update("account", account, [AccountModel.status.set(back), AccountModel.held.remove(),
                                   AccountModel.held_status.remove(), AccountModel.updated_at.set(at)],
              condition=(AccountModel.held == account.held)
              & (AccountModel.held_status == account.held_status))
    add_audit(tx, entity_type="account", entity_id=account_id, action="reactivated_by_admin",
              from_status="suspended", to_status=back, actor=owner.email, at=at, notes=reason)
    if back != "suspended":
        tx.count("accounts_suspended", -1)
        tx.count(f"accounts_{back}", 1)
    account.status, account.held, account.held_status = back, None, None
    return _commit(tx, account)


def _commit(tx: Tx, account: AccountModel) -> dict[str, Any]:
    response = {"account": account_view(account)}
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        raise Conflict("The account changed meanwhile; nothing was changed.",
                       code="state_conflict") from exc
    return response
