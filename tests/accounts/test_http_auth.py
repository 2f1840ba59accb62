"""HTTP contract of /api/v1/auth: register, login, me (api.md, "Auth")."""
from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import jwt
import pytest

from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.models.billing import InvoiceModel, SubscriptionModel
from tests.conftest import ADMIN_EMAIL, BILLING_PK, PASSWORD
from tests.helpers import (
    TIMESTAMP,
    account,
    assert_error,
    assert_no_floats,
    error_fields,
    store_unchanged,
)

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
TOKEN_KEYS = {"access_token", "token_type", "expires_in", "refresh_token", "user"}


def body(email: str = "ayesha@khan.pk", **extra: Any) -> dict[str, Any]:
    """A valid free-trial registration body, with overrides."""
    return {"email": email, "password": PASSWORD, "name": "Ayesha Khan",
            "account_name": "Khan Media", **extra}


def paid_body(email: str = "ayesha@khan.pk", **extra: Any) -> dict[str, Any]:
    return body(email, **{"plan": "starter", "billing": dict(BILLING_PK),
                          "payment_method": "bank_transfer", **extra})


def user_exists(email: str) -> bool:
    return UserModel.count(email) > 0


def invoices_of(account_id: str) -> list[InvoiceModel]:
    return list(InvoiceModel.by_account.query(account_id))


# Register: success -----------------------------------------------------------------------------

def test_register_free_trial_creates_a_trial_account_and_nothing_to_pay(api):
    # Given an empty store
    # When someone registers for the free plan
    reply = api.post(REGISTER, body(plan="free"))
    # Then they get a token, a trial account with 1000 credits, and no subscription or invoice
    assert reply.status == 201, reply.body
    assert set(reply.body) == TOKEN_KEYS | {"account", "subscription", "invoice"}
    assert reply.body["token_type"] == "Bearer"
    assert isinstance(reply.body["expires_in"], int) and reply.body["expires_in"] > 0
    user, acct = reply.body["user"], reply.body["account"]
    assert (user["email"], user["name"], user["role"]) == ("ayesha@khan.pk", "Ayesha Khan", "user")
    assert not {"password", "password_hash"} & set(user)
    assert (acct["status"], acct["credits"], acct["plan"], acct["name"]) == ("trial", 1000, "free",
                                                                          "Khan Media")
    assert user["account_id"] == acct["id"]
    assert TIMESTAMP.match(user["created_at"]) and TIMESTAMP.match(acct["created_at"])
    assert reply.body["subscription"] is None and reply.body["invoice"] is None
    assert_no_floats(reply.body)
    # And the store holds the same: a hashed password, a trial account, no invoice
    stored = UserModel.get("ayesha@khan.pk")
    assert stored.password_hash != PASSWORD and PASSWORD not in stored.password_hash
    saved = account(acct["id"])
    assert (saved.status, saved.credits, saved.subscription_id, saved.pending_invoice_id) == (
        "trial", 1000, None, None)
    assert invoices_of(acct["id"]) == []
    # And the token works
    assert api.get(ME, token=reply.body["access_token"]).status == 200


def test_register_defaults_to_the_free_plan_the_account_name_and_a_lowercase_email(api):
    # Given a body without plan and account_name, with a mixed-case email
    sent = {"email": "  Ayesha@Khan.PK ", "password": PASSWORD, "name": "Ayesha Khan"}
    # When it is registered
    reply = api.post(REGISTER, sent)
    # Then the plan is free, the account is named after the user and the email is normalized
    assert reply.status == 201, reply.body
    assert reply.body["user"]["email"] == "ayesha@khan.pk"
    assert (reply.body["account"]["plan"], reply.body["account"]["status"]) == ("free", "trial")
    assert reply.body["account"]["name"] == "Ayesha Khan"
    assert user_exists("ayesha@khan.pk") and not user_exists("Ayesha@Khan.PK")


def test_register_paid_plan_creates_pending_account_subscription_and_invoice(api):
    # Given an empty store
    # When someone registers for the starter plan with billing details
    reply = api.post(REGISTER, paid_body())
    # Then the account waits for payment with 0 credits, with a pending subscription and invoice
    assert reply.status == 201, reply.body
    acct, sub, inv = reply.body["account"], reply.body["subscription"], reply.body["invoice"]
    assert (acct["status"], acct["credits"], acct["billing_country"]) == ("pending_payment", 0, "PK")
    assert (sub["status"], sub["plan"], sub["account_id"]) == ("pending_payment", "starter", acct["id"])
    assert sub["current_period_start"] is None and sub["current_period_end"] is None
    assert (inv["status"], inv["amount"], inv["currency"], inv["plan"]) == ("pending", "89.00", "USD",
                                                                          "starter")
    assert inv["billing_snapshot"] == BILLING_PK
    assert inv["paid_at"] is None and inv["due_date"] and TIMESTAMP.match(inv["created_at"])
    assert_no_floats(reply.body)
    # And the store agrees
    saved = account(acct["id"])
    assert (saved.status, saved.credits, saved.subscription_id, saved.pending_invoice_id) == (
        "pending_payment", 0, sub["id"], inv["id"])
    assert SubscriptionModel.get(sub["id"]).status == "pending_payment"
    stored = InvoiceModel.get(inv["id"])
    assert (stored.status, stored.amount_minor, stored.pending_payment_id) == ("pending", 8900, None)


# Register: rejected -----------------------------------------------------------------------------

@pytest.mark.parametrize("second_email", ["ayesha@khan.pk", "AYESHA@Khan.pk"])
def test_register_duplicate_email_is_409_and_creates_nothing(api, second_email):
    # Given a registered user
    assert api.post(REGISTER, body("ayesha@khan.pk")).status == 201
    # When the same email (in any case) registers again, even for a paid plan
    with store_unchanged():
        reply = api.post(REGISTER, paid_body(second_email))
    # Then 409 and no second account
    assert_error(reply, 409, "email_taken")


def test_register_with_the_admin_email_is_409(api):
    # Given the admin user exists
    # When someone registers with the admin's email
    with store_unchanged():
        reply = api.post(REGISTER, body(ADMIN_EMAIL.upper()))
    # Then 409 and the admin is untouched
    assert_error(reply, 409, "email_taken")
    assert UserModel.get(ADMIN_EMAIL).role == "admin"


@pytest.mark.parametrize("plan", ["internal", "platinum"])
def test_register_plan_that_is_not_self_serve_is_422(api, plan):
    # Given the internal plan (not self-serve) and a plan that does not exist
    # When someone registers for it
    with store_unchanged():
        reply = api.post(REGISTER, paid_body(plan=plan))
    # Then 422 blaming the plan, and no user
    assert_error(reply, 422)
    assert error_fields(reply) == {"plan"}
    assert not user_exists("ayesha@khan.pk")


def test_register_paid_plan_without_billing_is_422(api):
    # When a paid plan is chosen without billing details
    sent = body(plan="growth")
    with store_unchanged():
        reply = api.post(REGISTER, sent)
    # Then 422 blaming billing
    assert_error(reply, 422)
    assert "billing" in error_fields(reply)


@pytest.mark.parametrize("method", ["upi", "bkash", "no_such_method"])
def test_register_payment_method_not_offered_in_the_billing_country_is_422(api, method):
    # Given billing in Pakistan, where UPI and bKash are not offered
    # When a paid signup names such a method
    with store_unchanged():
        reply = api.post(REGISTER, paid_body(payment_method=method))
    # Then 422 method_not_offered and nothing is created
    assert_error(reply, 422, "method_not_offered")
    assert error_fields(reply) == {"payment_method"}


@pytest.mark.parametrize("method", ["jazzcash", "paypal"])
def test_register_payment_method_offered_locally_or_globally_is_accepted(api, method):
    # When a PK signup names a PK method or a global one
    reply = api.post(REGISTER, paid_body(payment_method=method))
    # Then it is accepted and remembered on the invoice
    assert reply.status == 201, reply.body
    assert reply.body["invoice"]["preferred_payment_method"] == method


@pytest.mark.parametrize(("override", "field"), [
    ({"password": "short-pw1"}, "password"),                      # 9 characters
    ({"password": ""}, "password"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": ""}, "email"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"billing": {**BILLING_PK, "country": "XX"}}, "billing.country"),
    ({"billing": {**BILLING_PK, "country": "PAK"}}, "billing.country"),
    ({"billing": {**BILLING_PK, "country": ""}}, "billing.country"),
    ({"billing": {k: v for k, v in BILLING_PK.items() if k != "city"}}, "billing.city"),
    ({"billing": {**BILLING_PK, "billing_email": "nope"}}, "billing.billing_email"),
])
def test_register_invalid_field_is_422_naming_the_field(api, override, field):
    # Given a paid signup with one invalid field
    sent = {**paid_body(), **override}
    # When it is sent
    with store_unchanged():
        reply = api.post(REGISTER, sent)
    # Then 422 naming exactly that field, and nothing is created
    assert_error(reply, 422)
    assert error_fields(reply) == {field}


def test_register_password_of_exactly_ten_characters_is_accepted(api):
    reply = api.post(REGISTER, body(password="0123456789"))
    assert reply.status == 201, reply.body


@pytest.mark.parametrize(("override", "field"), [
    ({"email": 123}, "email"),
    ({"password": 1234567890}, "password"),
    ({"name": ["Ayesha"]}, "name"),
    ({"plan": {"slug": "starter"}}, "plan"),
    ({"billing": "PK"}, "billing"),
    ({"billing": {**BILLING_PK, "country": 92}}, "billing.country"),
    ({"role": "admin"}, "role"),                                 # unknown field: no self-made admins
    ({"credits": 1000000}, "credits"),
    ({"billing": {**BILLING_PK, "iban": "PK00"}}, "billing.iban"),
])
def test_register_wrong_type_or_unknown_field_is_400(api, override, field):
    # Given a body with a wrongly typed or unknown field
    sent = {**paid_body(), **override}
    # When it is sent
    with store_unchanged():
        reply = api.post(REGISTER, sent)
    # Then 400 naming the field, and nothing is created
    assert_error(reply, 400)
    assert field in error_fields(reply)


@pytest.mark.parametrize("raw", [
    b'{"email": "ayesha@khan.pk",',          # truncated JSON
    b"email=ayesha@khan.pk",                  # a form, not JSON
    b'["ayesha@khan.pk"]',                    # an array
    b'"ayesha@khan.pk"',                      # a string
    b"42",
    b"null",
    b"",                                      # empty body
    b"   ",
])
def test_register_body_that_is_not_a_json_object_is_400(api, raw):
    with store_unchanged():
        reply = api.request("POST", REGISTER, raw=raw)
    assert_error(reply, 400)


def test_register_as_text_plain_is_415(api):
    # When a valid JSON body is sent as text/plain
    with store_unchanged():
        reply = api.request("POST", REGISTER, raw=json.dumps(body()).encode(),
                            headers={"content-type": "text/plain"})
    # Then 415 in the error shape, and no user
    assert_error(reply, 415)
    assert not user_exists("ayesha@khan.pk")


# Login ------------------------------------------------------------------------------------------

def test_login_returns_a_working_token_for_any_case_of_the_email(api):
    # Given a registered user
    registered = api.post(REGISTER, body())
    assert registered.status == 201
    # When they log in with their email in another case
    reply = api.post(LOGIN, {"email": "Ayesha@KHAN.pk", "password": PASSWORD})
    # Then 200 with a bearer token for that same user
    assert reply.status == 200, reply.body
    assert set(reply.body) == TOKEN_KEYS
    assert reply.body["token_type"] == "Bearer" and reply.body["expires_in"] > 0
    assert reply.body["user"] == registered.body["user"]
    me = api.get(ME, token=reply.body["access_token"])
    assert me.status == 200 and me.body["user"]["id"] == registered.body["user"]["id"]


def test_login_wrong_password_and_unknown_email_are_indistinguishable_401s(api):
    # Given a registered user
    assert api.post(REGISTER, body()).status == 201
    # When one logs in with a wrong password and another with an unknown email
    wrong_password = api.post(LOGIN, {"email": "ayesha@khan.pk", "password": "wrong password!"})
    unknown_email = api.post(LOGIN, {"email": "nobody@khan.pk", "password": PASSWORD})
    # Then both are 401 with the same code and message
    first, second = assert_error(wrong_password, 401), assert_error(unknown_email, 401)
    assert (first["code"], first["message"]) == (second["code"], second["message"])
    assert "access_token" not in json.dumps(wrong_password.body)


@pytest.mark.parametrize(("sent", "fields"), [
    ({}, {"email", "password"}),
    ({"email": "ayesha@khan.pk"}, {"password"}),
    ({"password": PASSWORD}, {"email"}),
    ({"email": "", "password": ""}, {"email", "password"}),
])
def test_login_missing_fields_is_422(api, sent, fields):
    reply = api.post(LOGIN, sent)
    assert_error(reply, 422)
    assert error_fields(reply) == fields


def test_login_wrong_type_is_400(api):
    reply = api.post(LOGIN, {"email": ["ayesha@khan.pk"], "password": PASSWORD})
    assert_error(reply, 400)
    assert error_fields(reply) == {"email"}


# Me ---------------------------------------------------------------------------------------------

def test_me_of_a_free_trial_has_no_subscription_and_nothing_to_pay(api):
    # Given a free-trial user
    registered = api.post(REGISTER, body())
    # When they ask who they are
    reply = api.get(ME, token=registered.body["access_token"])
    # Then they see their user and trial account, no subscription, no pending invoice
    assert reply.status == 200, reply.body
    assert set(reply.body) == {"user", "account", "subscription", "pending_invoice"}
    assert reply.body["user"] == registered.body["user"]
    assert reply.body["account"] == registered.body["account"]
    assert reply.body["subscription"] is None and reply.body["pending_invoice"] is None


def test_me_of_a_paid_signup_follows_its_invoice_from_signup_to_approval(api, paid_signup):
    # Given a paid signup that has not paid yet
    # When they ask who they are
    before = api.get(ME, token=paid_signup.token)
    # Then the pending invoice is there, without a payment
    assert before.status == 200, before.body
    pending = before.body["pending_invoice"]
    assert (pending["id"], pending["status"], pending["amount"]) == (paid_signup.invoice_id, "pending",
                                                                    "89.00")
    assert pending["latest_payment"] is None
    assert before.body["subscription"]["status"] == "pending_payment"
    assert before.body["account"]["status"] == "pending_payment"

    # When they confirm a payment
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id)
    assert payment.status == 201, payment.body
    confirmed = api.get(ME, token=paid_signup.token)
    # Then the pending invoice shows that payment awaiting approval
    latest = confirmed.body["pending_invoice"]["latest_payment"]
    assert (latest["id"], latest["status"]) == (payment.body["id"], "pending_approval")

    # When the admin approves it
    assert api.approve(api.admin_token(), payment.body["id"]).status == 200
    approved = api.get(ME, token=paid_signup.token)
    # Then nothing is pending any more and the account and subscription are active
    assert approved.body["pending_invoice"] is None
    assert (approved.body["account"]["status"], approved.body["account"]["credits"]) == ("active", 1000)
    assert approved.body["subscription"]["status"] == "active"
    assert_no_floats(approved.body)


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _expired(token: str) -> str:
    now = int(time.time())
    return jwt.encode({**_claims(token), "iat": now - 7200, "exp": now - 3600},
                      os.environ["JWT_SECRET"], algorithm="HS256")


def _alg_none(token: str) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(token))}."


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64({**_claims(token), 'role': 'admin'})}.{signature}"


def _other_secret(token: str) -> str:
    return jwt.encode(_claims(token), "another-secret-" + "y" * 40, algorithm="HS256")


@pytest.mark.parametrize(("authorization", "code"), [
    (lambda t: None, "missing_token"),
    (lambda t: "Bearer", None),
    (lambda t: "Bearer not-a-jwt", "invalid_token"),
    (lambda t: f"Basic {t}", None),
    (lambda t: f"Bearer {_tampered(t)}", "invalid_token"),
    (lambda t: f"Bearer {_other_secret(t)}", "invalid_token"),
    (lambda t: f"Bearer {_alg_none(t)}", "invalid_token"),
    (lambda t: f"Bearer {_expired(t)}", "token_expired"),
], ids=["missing", "empty", "garbage", "basic", "tampered", "other-secret", "alg-none", "expired"])
def test_me_without_a_valid_token_is_401(api, authorization, code):
    # Given a real token of a registered user
    token = api.post(REGISTER, body()).body["access_token"]
    header = authorization(token)
    # When /me is called with a missing, malformed, forged or expired token
    reply = api.get(ME, headers={"authorization": header} if header is not None else None)
    # Then 401 in the error shape, and none of the user's data
    assert_error(reply, 401, code)
    assert "ayesha" not in json.dumps(reply.body)


def test_after_an_expired_token_a_new_login_gives_a_working_token(api):
    # Given an expired token of a user
    token = api.post(REGISTER, body()).body["access_token"]
    assert_error(api.get(ME, token=_expired(token)), 401)
    # When they log in again
    fresh = api.login("ayesha@khan.pk")
    # Then the new token works
    assert api.get(ME, token=fresh).status == 200


def test_me_of_a_deleted_user_is_401(api):
    # Given a token whose user no longer exists
    token = api.post(REGISTER, body()).body["access_token"]
    UserModel.get("ayesha@khan.pk").delete()
    # When it is used
    reply = api.get(ME, token=token)
    # Then 401
    assert_error(reply, 401)


def test_register_retried_with_the_same_idempotency_key_returns_the_first_response(api):
    # Given a signup sent with an Idempotency-Key
    key = {"idempotency-key": "signup-91c2"}
    first = api.post(REGISTER, paid_body(), headers=key)
    assert first.status == 201, first.body
    # When the client retries it with the same key and body
    again = api.post(REGISTER, paid_body(), headers=key)
    # Then it gets the same account and invoice again, and only one exists
    assert again.status == 201, again.body
    assert (again.body["account"], again.body["invoice"]) == (first.body["account"], first.body["invoice"])
    assert len(invoices_of(first.body["account"]["id"])) == 1


def test_a_password_of_only_spaces_is_refused(api):
    reply = api.post("/api/v1/auth/register", {"email": "blank@example.com", "password": " " * 12,
                                                "name": "Blank"})
    assert_error(reply, 422, "validation_failed")
    assert reply.body["error"]["details"]["fields"] == {"password": "must not be only spaces"}
    assert api.post("/api/v1/auth/login", {"email": "blank@example.com",
                                           "password": " " * 12}).status == 401
