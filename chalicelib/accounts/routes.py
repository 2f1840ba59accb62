"""Routes of accounts: signup, login, sessions, account recovery and the caller's own view."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts import login as logins
from chalicelib.accounts import fields, profile, signup
from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import USER, Body, Idempotent, Routes
from chalicelib.core.errors import Unauthorized
from chalicelib.storage import store
from chalicelib.storage.models.accounts import UserModel

routes = Routes(__name__, "Auth", "Signup, login, sessions, account recovery and the caller's own view.")

_TOKEN_FIELDS = ("access_token", "token_type", "expires_in", "refresh_token")


def _without_token(body: dict[str, Any]) -> dict[str, Any]:
    """What a signup keeps of its response: everything but the access token."""
    return {k: v for k, v in body.items() if k not in _TOKEN_FIELDS}


def _with_fresh_token(body: dict[str, Any]) -> dict[str, Any]:
    """A replayed signup gets a new session of the same user (the first answer's was lost)."""
    user = store.get(UserModel, body["user"]["email"], consistent=True)
    if user is None or user.user_id != body["user"]["id"]:
        raise Unauthorized("The account of this signup no longer exists.", code="invalid_token")
    from chalicelib.accounts import sessions

    pair = sessions.login(user)
    return {**{k: pair[k] for k in _TOKEN_FIELDS}, **body}


# A signup's Idempotency-Keys belong to its email (there is no caller yet).
_BY_EMAIL = Idempotent(lambda caller, raw: "signup:" + signup.signup_scope(raw),
                       redact=_without_token, restore=_with_fresh_token)


@routes.post(
    "/api/v1/auth/register", status=201, idempotent=_BY_EMAIL,
    body=Body("RegisterRequest", signup.REGISTER, "The new user, account and plan.",
              extra=signup.REGISTER_SCHEMA),
    response=("Registration", "Registered; the caller is logged in (a session: an access and a "
                              "refresh token). A verification email is on its way."),
    errors={409: "`email_taken`: an account with this email exists; `transaction_conflict`: a "
                 "concurrent change, retry",
            422: "`validation_failed` (a missing or invalid field, or `billing` missing for a paid "
                 "plan), `plan_not_available` (`internal` or an unknown plan), `method_not_offered` "
                 "(payment_method not offered in the billing country)",
            429: "`too_many_signups`: more than SIGNUP_MAX_PER_CLIENT (20) signups from this client "
                 "address, or more than SIGNUP_MAX_PER_CONTACT (3) naming this billing email, in "
                 "SIGNUP_WINDOW_SECONDS (an hour); `Retry-After` says when to try again"})
def register(body: dict[str, Any]) -> dict[str, Any]:
    """Sign up: a free trial or a paid plan awaiting payment

    `plan` free (or absent): account `trial` with the plan's trial credits, no subscription,
    no invoice. A paid plan: account `pending_payment` with 0 credits, subscription
    `pending_payment`, invoice `pending` for the plan price with the billing details copied
    in. Returns an access token and a refresh token for the new user, and emails a link that
    verifies the address (and one to a billing contact of another address).
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
    """Exchange email and password for an access token and a refresh token

    The same 401 whether the email or the password is wrong. The access token lives
    `expires_in` seconds (15 minutes); the refresh token gets a new pair at
    POST /api/v1/auth/refresh, once.
    """
    return logins.login(body)


@routes.get("/api/v1/auth/me", auth=USER, response=("Me", "The caller."),
            errors={409: "`transaction_conflict`: a concurrent change, retry."})
def get_me(caller: Principal) -> dict[str, Any]:
    """The caller's user, account, subscription and pending invoice

    `pending_invoice` is the invoice awaiting payment with its latest payment, or null.
    """
    return profile.me(caller)


_INVALID_REFRESH = ("`invalid_refresh_token`: unknown, expired, already used (which also ends "
                    "the session it belongs to), logged out, or of a session a password change "
                    "or reset ended.")


@routes.post(
    "/api/v1/auth/refresh", body=Body("RefreshRequest", fields.REFRESH, "The refresh token."),
    response=("Token", "A new access token and refresh token; the one sent is used up."),
    errors={401: _INVALID_REFRESH,
            409: "`transaction_conflict`: a concurrent change, retry.",
            422: "`validation_failed`: refresh_token missing or too long."})
def refresh(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange a refresh token for a new pair

    Refresh tokens rotate: each works once. Sending one that was already used revokes its whole
    session (every token since its login), so the reuse of a stolen token ends the session it
    came from for the thief and the user alike.
    """
    from chalicelib.accounts import sessions  # loaded on first use

    return sessions.refresh(body)


@routes.post(
    "/api/v1/auth/logout", status=204,
    body=Body("LogoutRequest", fields.REFRESH, "The refresh token of the session to end."),
    response=("Token", "The session ended (also when it already had, or the token is unknown)."),
    errors={422: "`validation_failed`: refresh_token missing or too long."})
def logout(body: dict[str, Any]) -> None:
    """End a session

    Its refresh tokens stop working at once; its last access token stays valid until it
    expires (at most 15 minutes: access tokens are checked without a lookup).
    """
    from chalicelib.accounts import sessions  # loaded on first use

    sessions.logout(body)


@routes.post(
    "/api/v1/auth/password-reset", status=202,
    body=Body("PasswordResetRequest", fields.RESET_REQUEST, "The account's email."),
    response=("Accepted", "Accepted, whether or not an account has this email."),
    errors={409: "`transaction_conflict`: a concurrent change, retry.",
            422: "`validation_failed`: email missing, empty or too long.",
            429: "TooManyRequests"})
def request_password_reset(body: dict[str, Any]) -> dict[str, Any]:
    """Email a link that resets the password

    Always 202, in the same time, whether or not the email has an account: it enumerates
    nothing. If it has, the email holds a link (`/reset-password?token=...`) that works once,
    for one hour; a newer link replaces it. Throttled per email and per client address
    (RESET_MAX_PER_EMAIL, RESET_MAX_PER_CLIENT per RESET_WINDOW_SECONDS), by the same rule
    for every email: 429 `too_many_reset_requests` with Retry-After.
    """
    from chalicelib.accounts import recovery  # loaded on first use

    return recovery.request_reset(body)


@routes.post(
    "/api/v1/auth/password-reset/complete",
    body=Body("PasswordResetComplete", fields.RESET_COMPLETE, "The link's token and the new password."),
    response=("Token", "The password is changed, every session of the user ended; a new "
                       "session for the caller."),
    errors={400: "`invalid_reset_token`: unknown, replaced by a newer link, used or expired; "
                 "or `invalid_json` / `invalid_request`.",
            409: "`transaction_conflict`: a concurrent change, retry.",
            422: "`validation_failed`: the password is too short, too long or only spaces."})
def complete_password_reset(body: dict[str, Any]) -> dict[str, Any]:
    """Choose a new password with a reset link

    The link works once. Every session of the user ends (their refresh tokens are refused);
    the answer is a new session, as a login's.
    """
    from chalicelib.accounts import recovery  # loaded on first use

    return recovery.complete_reset(body)


@routes.post(
    "/api/v1/auth/password", auth=USER,
    body=Body("PasswordChange", fields.PASSWORD_CHANGE, "The current and the new password."),
    response=("Token", "Changed; every other session ended. A new session for the caller."),
    errors={409: "`transaction_conflict`: a concurrent change, retry.",
            422: "`wrong_password` (`details.fields.current_password`), or `validation_failed`: "
                 "the new password is too short, too long or only spaces.",
            429: "TooManyRequests"})
def change_password(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Change the password

    Every session of the user ends but the caller's, which continues with the new pair in the
    answer. Wrong current passwords count as failed logins (429 after LOGIN_MAX_FAILURES).
    """
    from chalicelib.accounts import recovery  # loaded on first use

    return recovery.change_password(caller, body)


@routes.post(
    "/api/v1/auth/verify-email",
    body=Body("VerifyEmailRequest", fields.VERIFY_EMAIL, "The verification link's token."),
    response=("EmailVerified", "The address is verified; what was held for it is being sent."),
    errors={400: "`invalid_verification_token`: unknown, replaced by a newer link, used or "
                 "expired; or `invalid_json` / `invalid_request`.",
            409: "`transaction_conflict`: a concurrent change, retry.",
            422: "`validation_failed`: token missing or too long."})
def verify_email(body: dict[str, Any]) -> dict[str, Any]:
    """Verify an email address with its link

    The link works once. The user whose address it is shows `email_verified: true`; every email
    held for the address meanwhile (all but the verification and reset emails) is sent, once.
    """
    from chalicelib.accounts import verification  # loaded on first use

    return verification.verify(body)


@routes.post(
    "/api/v1/auth/verify-email/resend", auth=USER, status=202,
    response=("VerificationQueued", "A new link is on its way to each address named."),
    errors={409: "`transaction_conflict`: a concurrent change, retry.",
            429: "TooManyRequests"})
def resend_verification(caller: Principal) -> dict[str, Any]:
    """Send the verification link again

    To the caller's address if it is not verified, and to the account's billing contact if it
    is another address not verified; each new link replaces the earlier one. Throttled as
    reset requests are (per email).
    """
    from chalicelib.accounts import verification  # loaded on first use

    return verification.resend(caller)
