"""Routes of accounts: signup, login and the caller's own view."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts import login as logins
from chalicelib.accounts import profile, signup
from chalicelib.accounts.auth import Principal, issue_token
from chalicelib.api.routing import USER, Body, Idempotent, Routes

routes = Routes(__name__, "Auth", "Signup, login and the caller's own view.")

_TOKEN_FIELDS = ("access_token", "token_type", "expires_in")


def _without_token(body: dict[str, Any]) -> dict[str, Any]:
    """What a signup keeps of its response: everything but the access token."""
    return {k: v for k, v in body.items() if k not in _TOKEN_FIELDS}


def _with_fresh_token(body: dict[str, Any]) -> dict[str, Any]:
    """A replayed signup gets a newly issued token for the same user."""
    user = body["user"]
    token, ttl = issue_token(Principal(user["id"], user["account_id"], user["email"], user["role"]))
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, **body}


# A signup's Idempotency-Keys belong to its email (there is no caller yet).
_BY_EMAIL = Idempotent(lambda caller, raw: "signup:" + signup.signup_scope(raw),
                       redact=_without_token, restore=_with_fresh_token)


@routes.post(
    "/api/v1/auth/register", status=201, idempotent=_BY_EMAIL,
    body=Body("RegisterRequest", signup.REGISTER, "The new user, account and plan.",
              extra=signup.REGISTER_SCHEMA),
    response=("Registration", "Registered; the caller is logged in."),
    errors={409: "`email_taken`: an account with this email exists; `transaction_conflict`: a "
                 "concurrent change, retry",
            422: "`validation_failed` (a missing or invalid field, or `billing` missing for a paid "
                 "plan), `plan_not_available` (`internal` or an unknown plan), `method_not_offered` "
                 "(payment_method not offered in the billing country)"})
def register(body: dict[str, Any]) -> dict[str, Any]:
    """Sign up: a free trial or a paid plan awaiting payment

    `plan` free (or absent): account `trial` with the plan's trial credits, no subscription,
    no invoice. A paid plan: account `pending_payment` with 0 credits, subscription
    `pending_payment`, invoice `pending` for the plan price with the billing details copied
    in. Returns a token for the new user.
    """
    return signup.register(body)


@routes.post(
    "/api/v1/auth/login", body=Body("LoginRequest", logins.LOGIN, "Credentials."),
    response=("Token", "Logged in."),
    errors={400: "`invalid_json` (empty body, not JSON, or not a JSON object) or `invalid_request` "
                 "(an unknown field or a value of the wrong type; `details.fields` says which).",
            401: "`invalid_credentials`: wrong email or password (one message for both).",
            422: "`validation_failed`: email or password missing, empty or too long.",
            429: "TooManyRequests"})
def login(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for an access token

    The same 401 whether the email or the password is wrong.
    """
    return logins.login(body)


@routes.get("/api/v1/auth/me", auth=USER, response=("Me", "The caller."),
            errors={409: "`transaction_conflict`: a concurrent change, retry."})
def get_me(caller: Principal) -> dict[str, Any]:
    """The caller's user, account, subscription and pending invoice

    `pending_invoice` is the invoice awaiting payment with its latest payment, or null.
    """
    return profile.me(caller)
