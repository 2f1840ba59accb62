"""Login with a password, throttled per (client address, email) and per client address by sliding
failure windows: a stranger's failures slow down the stranger, never the account's owner elsewhere."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.accounts.auth import verify_password
from chalicelib.core.config import get_settings
from chalicelib.core.errors import TooManyRequests, Unauthorized
from chalicelib.core.validation import Text, validate
from chalicelib.storage import store
from chalicelib.storage.models.accounts import UserModel

if TYPE_CHECKING:
    from chalicelib.accounts.throttle import Window

LOGIN = {
    "email": Text(required=True, max_len=254, lower=True, doc="Lower-cased before lookup."),
    "password": Text(required=True, max_len=256, strip=False, schema={"format": "password"}),
}



def login(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for a token; one message whatever was wrong.

    Failed attempts are counted per (client address, email), known or not, and per client
    address, in fixed windows; a sliding estimate over the current and previous window past
    LOGIN_MAX_FAILURES (or LOGIN_MAX_FAILURES_PER_CLIENT for the address) answers 429 with a
    Retry-After that grows with the failures, without checking the password. The same email
    from another client address is not slowed down.
    """
    data = validate(body, LOGIN)
    windows = failure_windows(data["email"])
    user, *counters = store.transact_get(
        (UserModel, data["email"]), *[key for window in windows for key in window.keys()])
    wait = max(window.wait(*counters[2 * i:2 * i + 2]) for i, window in enumerate(windows))
    if wait:
        raise TooManyRequests("Too many failed logins from this address; try again later.",
                              code="too_many_login_attempts", retry_after=wait)
    if not verify_password(user.password_hash if user else None, data["password"]) or (
            user.disabled):
        for window in windows:
            window.record()
        raise Unauthorized("Email or password is wrong.", code="invalid_credentials")
    if user.role == "admin":
        from chalicelib.accounts import admin_roles

        admin_roles.remember(user)
    from chalicelib.accounts import sessions

    return sessions.login(user)


def failure_window(address: str) -> Window:
    """The failed-login counters of one email from the caller's client address."""
    from chalicelib.accounts import throttle

    settings = get_settings()
    return throttle.Window(b"login:" + throttle.client_address().encode() + b"\0", address,
                           settings.login_max_failures, settings.login_window_seconds)


def failure_windows(address: str) -> list[Window]:
    """The (client address, email) counters and the client address's own."""
    from chalicelib.accounts import throttle

    settings = get_settings()
    return [failure_window(address), throttle.Window(
        b"login-client:", throttle.client_address(), settings.login_max_failures_per_client,
        settings.login_window_seconds)]
