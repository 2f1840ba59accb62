"""Login with a password, throttled per email by sliding failure windows."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.accounts.auth import verify_password
from chalicelib.core.config import get_settings
from chalicelib.core.errors import TooManyRequests, Unauthorized
from chalicelib.core.validation import Text, validate
from chalicelib.storage import store
from chalicelib.storage.models.accounts import LoginFailureModel, UserModel

if TYPE_CHECKING:
    from chalicelib.accounts.throttle import Window

LOGIN = {
    "email": Text(required=True, max_len=254, lower=True, doc="Lower-cased before lookup."),
    "password": Text(required=True, max_len=256, strip=False, schema={"format": "password"}),
}



def login(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for a token; one message whatever was wrong.

    Failed attempts are counted per email (known or not) in fixed windows; a sliding estimate
    over the current and previous window past LOGIN_MAX_FAILURES answers 429 without checking
    the password, until the estimate falls below the limit again.
    """
    data = validate(body, LOGIN)
    window = failure_window(data["email"])
    user, current, previous = store.transact_get(
        (UserModel, data["email"]), (LoginFailureModel, window.current_id),
        (LoginFailureModel, window.previous_id))
    wait = window.wait(current, previous)
    if wait:
        raise TooManyRequests("Too many failed logins for this email; try again later.",
                              code="too_many_login_attempts", retry_after=wait)
    if not verify_password(user.password_hash if user else None, data["password"]) or (
            user.disabled):
        window.record()
        raise Unauthorized("Email or password is wrong.", code="invalid_credentials")
    if user.role == "admin":
        from chalicelib.accounts import admin_roles

        admin_roles.remember(user)
    from chalicelib.accounts import sessions

    return sessions.login(user)


def failure_window(address: str) -> Window:
    """The failed-login counters of one email: the current fixed window and the one before."""
    from chalicelib.accounts.throttle import Window

    settings = get_settings()
    return Window(b"login:", address, settings.login_max_failures, settings.login_window_seconds)
