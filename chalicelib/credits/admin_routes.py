"""Routes of the admin's side of credits: service keys, an account's credits, grants."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.admin import fields
from chalicelib.api.routing import BY_CALLER, OWNER, VIEWER, Body, Idempotent, Routes, query
from chalicelib.credits import service_keys, statement

routes = Routes(__name__, "Admin credits", "Service keys, an account's credits, grants (admins).")

_NO_ACCOUNT = "`account_not_found`."
# A new key's secret is shown once: the kept response (for a retry) holds no secret.
_SECRET_KEPT_OUT = Idempotent(BY_CALLER.scope, redact=lambda body: {**body, "key": None})


@routes.post(
    "/api/v1/billing/admin/service-keys", status=201, auth=OWNER, idempotent=_SECRET_KEPT_OUT,
    body=Body("ServiceKeyRequest", service_keys.CREATE, "The key's name."),
    response=("NewServiceKey", "The key, with its secret: shown this once."),
    errors={422: "`validation_failed`: no name."})
def create_service_key(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Create a service key

    For the SaaS's own backend to consume and release credits. The `key` is shown once; only
    a keyed hash of it is stored (a retry with the same Idempotency-Key answers `key: null`).
    """
    return service_keys.create(caller, body)


@routes.get("/api/v1/billing/admin/service-keys", auth=OWNER,
            response=("ServiceKeyList", "Every service key, newest first (no secrets)."))
def list_service_keys(caller: Principal) -> dict[str, Any]:
    """The service keys

    With their names, creators, last use and revocation; never a secret.
    """
    return service_keys.list_keys()


@routes.delete("/api/v1/billing/admin/service-keys/{key_id}", status=204, auth=OWNER,
               response=("ServiceKeyList", "Revoked (also when it already was)."),
               errors={404: "`service_key_not_found`."})
def revoke_service_key(caller: Principal, key_id: str) -> None:
    """Revoke a service key

    Refused everywhere within 60 seconds (a container keeps a checked key at most that long).
    """
    service_keys.revoke(key_id)


@routes.get("/api/v1/billing/admin/accounts", auth=VIEWER, query=("AccountQuery",),
            response=("AccountSearch", "The accounts found (at most 20)."),
            errors={400: "`invalid_query`: q missing, shorter than 2 or longer than 200 characters."})
def search_accounts(caller: Principal) -> dict[str, Any]:
    """Find accounts

    By a user's email (exact), an invoice number (INV-2026-000123), a payment reference
    (PR-XXXX-XXXX, any case and spacing), else by the start of the account's name (any case).
    Each through a key or an index, never a scan; `matched` says which.
    """
    from chalicelib.admin import accounts

    return accounts.search(query("q"))


@routes.get("/api/v1/billing/admin/accounts/{account_id}", auth=VIEWER,
            response=("AdminAccount", "The account and everything about it."),
            errors={404: _NO_ACCOUNT})
def get_admin_account(caller: Principal, account_id: str) -> dict[str, Any]:
    """An account's page

    The account with its users, subscription, invoices and payments (newest 50 of each), its
    credits as the customer sees them (buckets, ledger, use), and the history of the account and
    its subscription, for the admin console.
    """
    from chalicelib.admin import accounts

    return accounts.detail(account_id)


@routes.post(
    "/api/v1/billing/admin/accounts/{account_id}/credits", auth=OWNER, idempotent=BY_CALLER,
    body=Body("CreditGrantRequest", statement.GRANT, "How many, which bucket, why."),
    response=("CreditGrant", "The ledger entry and the account after it."),
    errors={404: _NO_ACCOUNT,
            409: "`insufficient_credits`: the bucket would go below zero; `state_conflict` (retry).",
            422: "`validation_failed`: amount 0 or not a whole number, bucket not allowance or "
                 "extra, no reason."})
def grant_credits(caller: Principal, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Grant or correct credits

    A positive amount adds to the bucket (`admin_grant`), a negative one takes away
    (`admin_correction`), never below zero; with its reason in the ledger and the audit trail.
    """
    return statement.grant(caller, account_id, body)


@routes.post("/api/v1/billing/admin/accounts/{account_id}/suspend", auth=OWNER, idempotent=BY_CALLER,
             body=Body("AccountSuspendRequest", fields.REASON, "Why."),
             response=("AccountHeld", "Suspended."),
             errors={404: _NO_ACCOUNT,
                     409: "`account_held` (already suspended by an admin), `state_conflict` (it "
                          "changed meanwhile, or it is the admins' own account).",
                     422: "`validation_failed`: no reason."})
def suspend_account(caller: Principal, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Suspend an account

    Its status becomes `suspended` (its credits cannot be used) until an owner reactivates it;
    meanwhile its subscription goes on as usual (renewals, dunning), and what that would make of
    the account's status is kept for the reactivation. The reason is in its history.
    """
    from chalicelib.admin import holds

    return holds.suspend(caller, account_id, body)


@routes.post("/api/v1/billing/admin/accounts/{account_id}/reactivate", auth=OWNER,
             idempotent=BY_CALLER, body=Body("AccountReactivateRequest", fields.REASON, "Why."),
             response=("AccountHeld", "Reactivated."),
             errors={404: _NO_ACCOUNT,
                     409: "`account_not_held` (not suspended by an admin), `state_conflict`.",
                     422: "`validation_failed`: no reason."})
def reactivate_account(caller: Principal, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Reactivate an account an owner suspended

    It gets back the status its subscription gives it (active, past due, ...).
    """
    from chalicelib.admin import holds

    return holds.reactivate(caller, account_id, body)
