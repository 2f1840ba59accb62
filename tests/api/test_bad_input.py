"""Bad requests, one per row: each gets its documented 4xx in the error shape and changes nothing.

Every row runs against the same store (a paid signup with a pending invoice, another account with
a payment awaiting approval, the admin), built once for the module and restored for each row, and
asserts the whole store is unchanged afterwards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest

from chalicelib.core.config import get_settings
from tests.conftest import BILLING_PK, PASSWORD, Api, MotoStore
from tests.helpers import assert_error, error_fields, store_unchanged

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
CONFIRM = "/api/v1/billing/admin/payments/confirm"
QUEUE = "/api/v1/billing/admin/payments"


@dataclass
class Case:
    """One bad request: what is sent, as whom, and the error it must get."""

    method: str
    path: str
    body: Any = None
    status: int = 422
    code: str | None = None
    fields: set[str] = field(default_factory=set)
    who: str = "anonymous"  # anonymous | user | admin | a token name from TOKENS
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def signup(**changes: Any) -> dict[str, Any]:
    body = {"email": "new@khan.pk", "password": PASSWORD, "name": "Ayesha Khan", "plan": "starter",
            "billing": dict(BILLING_PK), "payment_method": "bank_transfer"}
    for name, value in changes.items():
        if name.startswith("billing_"):
            body["billing"][name[len("billing_"):]] = value
        elif value is _DROP:
            body.pop(name)
        else:
            body[name] = value
    return body


def confirm(**changes: Any) -> dict[str, Any]:
    body = {"invoice_id": "{invoice}", "payment_method": "bank_transfer", "amount": "89.00",
            "manual_reference": "BT-2026-001"}
    for name, value in changes.items():
        if value is _DROP:
            body.pop(name)
        else:
            body[name] = value
    return body


_DROP = object()
PAYMENT = "/api/v1/billing/admin/payments/{payment}"

CASES: dict[str, Case] = {
    # Signup: the body as a whole
    "signup_empty_body": Case("POST", REGISTER, raw=b"", status=400, code="invalid_json"),
    "signup_not_json": Case("POST", REGISTER, raw=b"email=a@b.c", status=400, code="invalid_json"),
    "signup_json_array": Case("POST", REGISTER, raw=b"[]", status=400, code="invalid_json"),
    "signup_json_null": Case("POST", REGISTER, raw=b"null", status=400, code="invalid_json"),
    "signup_oversized": Case("POST", REGISTER, signup(name="x" * 20000), status=413,
                             code="payload_too_large"),
    "signup_as_text_plain": Case("POST", REGISTER, raw=b"{}", status=415,
                                 code="unsupported_media_type",
                                 headers={"content-type": "text/plain"}),
    "signup_asks_to_be_admin": Case("POST", REGISTER, signup(role="admin"), status=400,
                                    code="invalid_request", fields={"role"}),
    "signup_sets_its_credits": Case("POST", REGISTER, signup(credits=999999), status=400,
                                    code="invalid_request", fields={"credits"}),
    # Signup: each field
    "signup_without_email": Case("POST", REGISTER, signup(email=_DROP), fields={"email"}),
    "signup_email_malformed": Case("POST", REGISTER, signup(email="ayesha@"), fields={"email"}),
    "signup_email_too_long": Case("POST", REGISTER, signup(email="a" * 250 + "@khan.pk"),
                                  fields={"email"}),
    "signup_email_a_list": Case("POST", REGISTER, signup(email=["a@khan.pk"]), status=400,
                                fields={"email"}),
    "signup_password_short": Case("POST", REGISTER, signup(password="short"), fields={"password"}),
    "signup_password_too_long": Case("POST", REGISTER, signup(password="p" * 257),
                                     fields={"password"}),
    "signup_password_a_number": Case("POST", REGISTER, signup(password=12345678901), status=400,
                                     fields={"password"}),
    "signup_without_name": Case("POST", REGISTER, signup(name=_DROP), fields={"name"}),
    "signup_name_with_control_chars": Case("POST", REGISTER, signup(name="Ay\x00esha"),
                                           fields={"name"}),
    "signup_name_too_long": Case("POST", REGISTER, signup(name="n" * 101), fields={"name"}),
    "signup_unknown_plan": Case("POST", REGISTER, signup(plan="platinum"), code="plan_not_available"),
    "signup_internal_plan": Case("POST", REGISTER, signup(plan="internal"), code="plan_not_available"),
    "signup_plan_not_a_slug": Case("POST", REGISTER, signup(plan="Starter!"), fields={"plan"}),
    "signup_paid_without_billing": Case("POST", REGISTER, signup(billing=_DROP), fields={"billing"}),
    "signup_billing_not_an_object": Case("POST", REGISTER, signup(billing="Lahore"), status=400,
                                         fields={"billing"}),
    "signup_billing_unknown_country": Case("POST", REGISTER, signup(billing_country="XX"),
                                           fields={"billing.country"}),
    "signup_billing_alpha3_country": Case("POST", REGISTER, signup(billing_country="PAK"),
                                          fields={"billing.country"}),
    "signup_billing_email_malformed": Case("POST", REGISTER, signup(billing_billing_email="x"),
                                           fields={"billing.billing_email"}),
    "signup_billing_unknown_field": Case("POST", REGISTER, signup(billing_iban="PK00"), status=400,
                                         fields={"billing.iban"}),
    "signup_billing_without_city": Case("POST", REGISTER, signup(billing_city=None),
                                        fields={"billing.city"}),
    "signup_method_not_offered_in_pk": Case("POST", REGISTER, signup(payment_method="upi"),
                                            code="method_not_offered"),
    "signup_email_taken": Case("POST", REGISTER, signup(email="ayesha@khan.pk"), status=409,
                               code="email_taken"),
    "signup_bad_idempotency_key": Case("POST", REGISTER, signup(), status=400,
                                       code="invalid_idempotency_key",
                                       headers={"idempotency-key": "has spaces in it"}),
    # Login
    "login_without_password": Case("POST", LOGIN, {"email": "ayesha@khan.pk"}, fields={"password"}),
    "login_email_a_number": Case("POST", LOGIN, {"email": 42, "password": PASSWORD}, status=400,
                                 fields={"email"}),
    "login_unknown_field": Case("POST", LOGIN, {"email": "ayesha@khan.pk", "password": PASSWORD,
                                                "remember": True}, status=400, fields={"remember"}),
    # Confirm: who
    "confirm_without_token": Case("POST", CONFIRM, confirm(), status=401, code="missing_token"),
    "confirm_forged_token": Case("POST", CONFIRM, confirm(), status=401, who="forged"),
    "confirm_alg_none_token": Case("POST", CONFIRM, confirm(), status=401, who="alg_none"),
    "confirm_expired_token": Case("POST", CONFIRM, confirm(), status=401, who="expired"),
    "confirm_tampered_token": Case("POST", CONFIRM, confirm(), status=401, who="tampered"),
    "confirm_basic_auth": Case("POST", CONFIRM, confirm(), status=401, who="basic"),
    # Confirm: which invoice
    "confirm_another_accounts_invoice": Case("POST", CONFIRM, confirm(invoice_id="{other_invoice}"),
                                             status=404, code="invoice_not_found", who="user"),
    "confirm_unknown_invoice": Case("POST", CONFIRM, confirm(invoice_id="inv_000000000000000000000000"),
                                    status=404, code="invoice_not_found", who="user"),
    "confirm_without_invoice": Case("POST", CONFIRM, confirm(invoice_id=_DROP), fields={"invoice_id"},
                                    who="user"),
    # Confirm: the amount, exactly two decimals, positive, equal to the invoice
    "confirm_amount_no_decimals": Case("POST", CONFIRM, confirm(amount="89"), fields={"amount"},
                                       who="user"),
    "confirm_amount_one_decimal": Case("POST", CONFIRM, confirm(amount="89.0"), fields={"amount"},
                                       who="user"),
    "confirm_amount_three_decimals": Case("POST", CONFIRM, confirm(amount="89.001"),
                                          fields={"amount"}, who="user"),
    "confirm_amount_negative": Case("POST", CONFIRM, confirm(amount="-89.00"), fields={"amount"},
                                    who="user"),
    "confirm_amount_exponent": Case("POST", CONFIRM, confirm(amount="8.9e1"), fields={"amount"},
                                    who="user"),
    "confirm_amount_a_number": Case("POST", CONFIRM, confirm(amount=89.00), status=400,
                                    fields={"amount"}, who="user"),
    "confirm_amount_zero": Case("POST", CONFIRM, confirm(amount="0.00"), code="amount_mismatch",
                                who="user"),
    "confirm_amount_not_the_invoices": Case("POST", CONFIRM, confirm(amount="88.10"),
                                            code="amount_mismatch", who="user"),
    "confirm_amount_over_the_invoices": Case("POST", CONFIRM, confirm(amount="89.01"),
                                             code="amount_mismatch", who="user"),
    "confirm_partial_and_overpayment": Case("POST", CONFIRM, confirm(partial=True, overpayment=True),
                                            code="validation_failed", who="user"),
    "confirm_partial_not_a_bool": Case("POST", CONFIRM, confirm(partial="yes"),
                                       code="validation_failed", who="user"),
    "confirm_currency_not_the_methods": Case("POST", CONFIRM, confirm(currency="INR"),
                                             code="currency_not_accepted", who="user"),
    # Confirm: method, reference, notes, extra fields
    "confirm_method_not_offered": Case("POST", CONFIRM, confirm(payment_method="upi"),
                                       code="method_not_offered", who="user"),
    "confirm_method_not_a_slug": Case("POST", CONFIRM, confirm(payment_method="Bank Transfer"),
                                      fields={"payment_method"}, who="user"),
    "confirm_without_reference": Case("POST", CONFIRM, confirm(manual_reference=_DROP),
                                      fields={"manual_reference"}, who="user"),
    "confirm_blank_reference": Case("POST", CONFIRM, confirm(manual_reference="   "),
                                    fields={"manual_reference"}, who="user"),
    "confirm_reference_too_long": Case("POST", CONFIRM, confirm(manual_reference="R" * 101),
                                       fields={"manual_reference"}, who="user"),
    "confirm_notes_too_long": Case("POST", CONFIRM, confirm(manual_notes="n" * 1001),
                                   fields={"manual_notes"}, who="user"),
    "confirm_sets_its_status": Case("POST", CONFIRM, confirm(status="succeeded"), status=400,
                                    fields={"status"}, who="user"),
    # Admin routes
    "approve_as_a_user": Case("POST", PAYMENT + "/approve", {}, status=403, who="user"),
    "reject_as_a_user": Case("POST", PAYMENT + "/reject", {"admin_notes": "no"}, status=403,
                             who="user"),
    "queue_as_a_user": Case("GET", QUEUE, status=403, who="user"),
    "status_as_a_user": Case("GET", "/api/v1/billing/admin/status", status=403, who="user"),
    "reject_without_reason": Case("POST", PAYMENT + "/reject", {}, fields={"admin_notes"},
                                  who="admin"),
    "reject_blank_reason": Case("POST", PAYMENT + "/reject", {"admin_notes": "  \n "},
                                fields={"admin_notes"}, who="admin"),
    "approve_unknown_payment": Case("POST", "/api/v1/billing/admin/payments/pay_0000/approve", {},
                                    status=404, code="payment_not_found", who="admin"),
    "approve_not_json": Case("POST", PAYMENT + "/approve", raw=b"{oops", status=400,
                             code="invalid_json", who="admin"),
    "approve_grants_extra_credits": Case("POST", PAYMENT + "/approve", {"credits": 1000000},
                                         status=400, fields={"credits"}, who="admin"),
    "approve_notes_a_list": Case("POST", PAYMENT + "/approve", {"admin_notes": ["ok"]}, status=400,
                                 fields={"admin_notes"}, who="admin"),
    "queue_limit_zero": Case("GET", QUEUE + "?limit=0", status=400, code="invalid_query",
                             who="admin"),
    "queue_limit_not_a_number": Case("GET", QUEUE + "?limit=ten", status=400, code="invalid_query",
                                     who="admin"),
    "queue_unknown_status": Case("GET", QUEUE + "?status=succeeded", status=400,
                                 code="invalid_query", who="admin"),
    "queue_garbage_cursor": Case("GET", QUEUE + "?cursor=%%%garbage", status=400,
                                 code="invalid_cursor", who="admin"),
    "methods_unknown_country": Case("GET", "/api/v1/billing/admin/payment-methods?country=ZZ",
                                    status=400, code="invalid_query"),
    "unknown_route": Case("GET", "/api/v1/billing/refunds", status=404, code="route_not_found"),
    "wrong_method": Case("DELETE", "/api/v1/billing/plans", status=405, code="method_not_allowed"),
}


def _tokens(api: Api, world: dict[str, str]) -> dict[str, str]:
    settings = get_settings()
    now = int(time.time())
    claims = {"sub": world["user_id"], "acct": world["account_id"], "email": "ayesha@khan.pk",
              "role": "user", "iat": now, "exp": now + 600, "iss": settings.jwt_issuer,
              "aud": "billing-api"}
    user = world["token"]
    head, payload, signature = user.split(".")
    return {
        "user": user,
        "admin": api.admin_token(),
        "forged": jwt.encode({**claims, "role": "admin"}, "not-the-secret-" + "y" * 40),
        "alg_none": jwt.encode({**claims, "role": "admin"}, key=None, algorithm="none"),
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, settings.jwt_secret),
        "tampered": f"{head}.{payload[:-4]}AAAA.{signature}",
    }


@pytest.fixture(scope="module")
def built(moto_module: MotoStore) -> tuple[dict[str, str], Any]:
    """The world, built once for the module, and the store as it left it."""
    moto_module.restore()
    api = Api()
    mine = api.register("ayesha@khan.pk", plan="starter", payment_method="bank_transfer").body
    theirs = api.register("bilal@khan.pk", plan="starter", payment_method="bank_transfer").body
    payment = api.confirm(theirs["access_token"], theirs["invoice"]["id"]).body
    world = {"token": mine["access_token"], "user_id": mine["user"]["id"],
             "account_id": mine["account"]["id"], "invoice": mine["invoice"]["id"],
             "other_invoice": theirs["invoice"]["id"], "payment": payment["id"]}
    return world, moto_module.checkpoint()


@pytest.fixture
def world(built: tuple[dict[str, str], Any], moto_module: MotoStore) -> dict[str, str]:
    """The world's ids; the store restored to what building it left, so that each row starts
    from exactly that store, whatever the rows before it did."""
    world, checkpoint = built
    moto_module.restore(checkpoint)
    return world


@pytest.fixture
def api(world: dict[str, str]) -> Api:
    """The app on the world's store (conftest's `api` would restore a store without the world)."""
    return Api()


def _fill(value: Any, world: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**world) if "{" in value and "%" not in value else value
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


assert len(CASES) >= 40, "the table keeps at least forty distinct bad requests"

# The requests the rows are made from, unchanged and sent by the rows' callers: each succeeds, so
# a row's error can only come from the one thing it changes (a 403 row fails because of who sends
# it, not because the route refuses everybody; a field row because of that field, not the rest).
GOOD: dict[str, Case] = {
    "signup": Case("POST", REGISTER, signup(), status=201),
    "login": Case("POST", LOGIN, {"email": "ayesha@khan.pk", "password": PASSWORD}, status=200),
    "confirm": Case("POST", CONFIRM, confirm(), status=201, who="user"),
    "approve": Case("POST", PAYMENT + "/approve", {}, status=200, who="admin"),
    "reject": Case("POST", PAYMENT + "/reject", {"admin_notes": "no"}, status=200, who="admin"),
    "queue": Case("GET", QUEUE + "?limit=10&status=pending_approval", status=200, who="admin"),
    "status": Case("GET", "/api/v1/billing/admin/status", status=200, who="admin"),
    "methods_pk": Case("GET", "/api/v1/billing/admin/payment-methods?country=PK", status=200),
}


def _send(api: Api, world: dict[str, str], case: Case) -> Any:
    headers = dict(case.headers)
    if case.who == "basic":
        headers["authorization"] = "Basic YXllc2hhOnBhc3N3b3Jk"
    elif case.who != "anonymous":
        headers["authorization"] = f"Bearer {_tokens(api, world)[case.who]}"
    return api.request(case.method, _fill(case.path, world), body=_fill(case.body, world),
                       headers=headers, raw=case.raw)


@pytest.mark.parametrize("name", GOOD)
def test_the_request_a_row_changes_succeeds_unchanged(api: Api, world: dict[str, str],
                                                      name: str) -> None:
    case = GOOD[name]
    reply = _send(api, world, case)
    assert reply.status == case.status, (reply.status, reply.body)


@pytest.mark.parametrize("name", CASES)
def test_a_bad_request_gets_its_error_and_changes_nothing(api: Api, world: dict[str, str],
                                                         name: str) -> None:
    case = CASES[name]
    with store_unchanged():
        reply = _send(api, world, case)
    assert_error(reply, case.status, case.code)
    if case.fields:
        assert error_fields(reply) == case.fields, reply.body
