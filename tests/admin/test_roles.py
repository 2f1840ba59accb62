"""Every admin route's least role, walked with each role and a user token: exactly the roles the
table below allows get past the role check; the others get 403. A route added without its row
here fails the test, as does a row whose route is gone."""
from __future__ import annotations

import re
from typing import Any

import pytest

import app as app_module
from chalicelib.accounts import admin_roles
from chalicelib.accounts.auth import hash_password
from chalicelib.api.routing import ADMIN_ROLES
from chalicelib.core.clock import new_id, stamp
from chalicelib.storage.models.accounts import UserModel
from tests.conftest import ADMIN_EMAIL, PASSWORD, Api
from tests.helpers import assert_error

O, A, V = "owner", "approver", "viewer"
LEAST = {
    ("GET", "/api/v1/billing/admin/payments"): V,
    ("GET", "/api/v1/billing/admin/renewals"): V,
    ("GET", "/api/v1/billing/admin/payments/{payment_id}"): V,
    ("POST", "/api/v1/billing/admin/payments/{payment_id}/approve"): A,
    ("POST", "/api/v1/billing/admin/payments/{payment_id}/reject"): A,
    ("POST", "/api/v1/billing/admin/payments/{payment_id}/reverse"): O,
    ("POST", "/api/v1/billing/admin/webhooks"): O,
    ("GET", "/api/v1/billing/admin/webhooks"): V,
    ("DELETE", "/api/v1/billing/admin/webhooks/{endpoint_id}"): O,
    ("POST", "/api/v1/billing/admin/webhooks/{endpoint_id}/rotate-secret"): O,
    ("GET", "/api/v1/billing/admin/webhooks/{endpoint_id}/deliveries"): V,
    ("POST", "/api/v1/billing/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry"): O,
    ("GET", "/api/v1/billing/admin/invoices/by-reference/{reference}"): V,
    ("GET", "/api/v1/billing/admin/invoices/{invoice_id}/pdf"): V,
    ("GET", "/api/v1/billing/admin/status"): V,
    ("GET", "/api/v1/billing/admin/notifications"): V,
    ("GET", "/api/v1/billing/admin/fx-rates"): V,
    ("PUT", "/api/v1/billing/admin/fx-rates/{currency}"): O,
    ("POST", "/api/v1/billing/admin/service-keys"): O,
    ("GET", "/api/v1/billing/admin/service-keys"): O,
    ("DELETE", "/api/v1/billing/admin/service-keys/{key_id}"): O,
    ("GET", "/api/v1/billing/admin/accounts"): V,
    ("GET", "/api/v1/billing/admin/accounts/{account_id}"): V,
    ("POST", "/api/v1/billing/admin/accounts/{account_id}/credits"): O,
    ("POST", "/api/v1/billing/admin/accounts/{account_id}/suspend"): O,
    ("POST", "/api/v1/billing/admin/accounts/{account_id}/reactivate"): O,
    ("POST", "/api/v1/billing/admin/statements"): A,
    ("GET", "/api/v1/billing/admin/statements"): V,
    ("GET", "/api/v1/billing/admin/statements/{statement_id}"): V,
    ("GET", "/api/v1/billing/admin/statements/{statement_id}/lines"): V,
    ("POST", "/api/v1/billing/admin/statements/{statement_id}/apply-exact"): A,
    ("POST", "/api/v1/billing/admin/statement-lines/{line_id}/apply"): A,
    ("POST", "/api/v1/billing/admin/statement-lines/{line_id}/ignore"): A,
    ("GET", "/api/v1/billing/admin/unmatched-confirmations"): V,
    ("GET", "/api/v1/billing/admin/admins"): O,
    ("POST", "/api/v1/billing/admin/admins"): O,
    ("PATCH", "/api/v1/billing/admin/admins/{admin_id}"): O,
    ("GET", "/api/v1/billing/admin/reports/aging"): V,
    ("GET", "/api/v1/billing/admin/reports/summary"): V,
    ("GET", "/api/v1/billing/admin/exports/invoices.csv"): O,
    ("GET", "/api/v1/billing/admin/exports/payments.csv"): O,
    ("GET", "/api/v1/billing/admin/exports/ledger.csv"): O,
    ("GET", "/api/v1/billing/admin/exports/money-ledger.csv"): O,
}
RANK = {V: 0, A: 1, O: 2}


def _declared() -> dict[tuple[str, str], str | None]:
    return {(route.method, route.path): route.auth for table in app_module.ROUTES
            for route in table.declared}


def test_every_admin_route_declares_the_least_role_this_table_says() -> None:
    declared = _declared()
    admin_routes = {key: auth for key, auth in declared.items() if auth in ADMIN_ROLES}
    assert admin_routes == LEAST
    # and no route under /admin/ is open to users or the public but the two that must be
    others = {key: auth for key, auth in declared.items()
              if "/billing/admin/" in key[1] and key not in LEAST}
    assert others == {("GET", "/api/v1/billing/admin/payment-methods"): None,
                      ("POST", "/api/v1/billing/admin/payments/confirm"): "user"}


def _admin(email: str, role: str) -> None:
    UserModel(email, user_id=new_id("usr"), account_id=new_id("acc"), name=role.title(),
              password_hash=hash_password(PASSWORD), role="admin", created_at=stamp(),
              staff="admin", admin_role=role).save()


@pytest.fixture
def tokens(api: Api) -> dict[str, str]:
    _admin("approver@example.com", A)
    _admin("viewer@example.com", V)
    user = api.register("someone@example.com")
    assert user.status == 201
    return {O: api.admin_token(), A: api.login("approver@example.com"),
            V: api.login("viewer@example.com"), "user": user.body["access_token"]}


def _call(api: Api, method: str, path: str, token: str) -> Any:
    concrete = re.sub(r"{(\w+)}", lambda m: "PKR" if m.group(1) == "currency" else "x_missing", path)
    headers = {"accept": "application/pdf"} if path.endswith("/pdf") else None
    body = None if method in ("GET", "DELETE") else {}
    return api.request(method, concrete, body=body, token=token, headers=headers)


@pytest.mark.parametrize("key", sorted(LEAST), ids=lambda key: f"{key[0]} {key[1]}")
def test_each_role_gets_past_exactly_the_routes_of_its_rank(api: Api, tokens: dict[str, str],
                                                            key: tuple[str, str]) -> None:
    method, path = key
    least = LEAST[key]
    for role in (V, A, O):
        reply = _call(api, method, path, tokens[role])
        if RANK[role] < RANK[least]:
            error = assert_error(reply, 403, "insufficient_role")
            assert error["details"] == {"required": least, "role": role}
        else:
            assert reply.status not in (401, 403), (role, reply.status, reply.body)
    assert_error(_call(api, method, path, tokens["user"]), 403, "forbidden")


def test_a_demoted_or_disabled_admin_is_held_to_it_on_the_next_check(api: Api,
                                                                    tokens: dict[str, str]) -> None:
    owner = tokens[O]
    team = api.get("/api/v1/billing/admin/admins", token=owner).body["items"]
    approver = next(a for a in team if a["email"] == "approver@example.com")
    # When the owner makes the approver a viewer, the approver's next decision is refused
    changed = api.request("PATCH", f"/api/v1/billing/admin/admins/{approver['id']}",
                          body={"admin_role": "viewer"}, token=owner)
    assert changed.status == 200 and changed.body["admin_role"] == "viewer"
    assert UserModel.get("approver@example.com").admin_role == "viewer"
    assert_error(api.post("/api/v1/billing/admin/payments/x/approve", {}, token=tokens[A]), 403,
                 "insufficient_role")
    # And once disabled, their session has ended, and they cannot sign in again
    api.request("PATCH", f"/api/v1/billing/admin/admins/{approver['id']}", body={"disabled": True},
                token=owner)
    assert_error(api.get("/api/v1/billing/admin/payments", token=tokens[A]), 401, "admin_disabled")
    assert_error(api.post("/api/v1/auth/login", {"email": "approver@example.com",
                                                 "password": PASSWORD}), 401, "invalid_credentials")


def test_a_change_made_in_another_container_holds_within_the_cache_time(
        api: Api, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a viewer whose role this container has read
    assert api.get("/api/v1/billing/admin/payments", token=tokens[V]).status == 200
    # When another container disables them (the item changes; this container's memory does not)
    UserModel.get("viewer@example.com").update(actions=[UserModel.disabled.set(True)])
    assert api.get("/api/v1/billing/admin/payments", token=tokens[V]).status == 200
    # Then once the cache time has passed, the next request is refused
    clock = admin_roles.time.monotonic() + admin_roles.ROLE_CACHE_SECONDS + 1
    monkeypatch.setattr(admin_roles.time, "monotonic", lambda: clock)
    assert_error(api.get("/api/v1/billing/admin/payments", token=tokens[V]), 401, "admin_disabled")


def test_the_last_owner_cannot_be_demoted_or_disabled(api: Api, tokens: dict[str, str]) -> None:
    owner = tokens[O]
    me = next(a for a in api.get("/api/v1/billing/admin/admins", token=owner).body["items"]
              if a["email"] == ADMIN_EMAIL)
    for change in ({"admin_role": "approver"}, {"disabled": True}):
        assert_error(api.request("PATCH", f"/api/v1/billing/admin/admins/{me['id']}", body=change,
                                 token=owner), 409, "last_owner")
    assert UserModel.get(ADMIN_EMAIL).admin_role == "owner" and not UserModel.get(ADMIN_EMAIL).disabled
    # With a second owner, the first can step down
    viewer = next(a for a in api.get("/api/v1/billing/admin/admins", token=owner).body["items"]
                  if a["email"] == "viewer@example.com")
    api.request("PATCH", f"/api/v1/billing/admin/admins/{viewer['id']}", body={"admin_role": "owner"},
                token=owner)
    stepped = api.request("PATCH", f"/api/v1/billing/admin/admins/{me['id']}",
                          body={"admin_role": "approver"}, token=owner)
    assert stepped.status == 200 and UserModel.get(ADMIN_EMAIL).admin_role == "approver"
