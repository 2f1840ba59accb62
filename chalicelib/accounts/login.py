"""Login with a password, throttled per email by sliding failure windows."""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Any

from chalicelib.accounts.auth import Principal, issue_token, verify_password
from chalicelib.accounts.views import user_view
from chalicelib.core.config import get_settings
from chalicelib.core.errors import TooManyRequests, Unauthorized
from chalicelib.core.secrets import keyed_hash
from chalicelib.core.validation import Text, validate
from chalicelib.storage import store
from chalicelib.storage.models.accounts import LoginFailureModel, UserModel

LOGIN = {
    "email": Text(required=True, max_len=254, lower=True, doc="Lower-cased before lookup."),
    "password": Text(required=True, max_len=256, strip=False, schema={"format": "password"}),
}


def token_response(user: UserModel) -> dict[str, Any]:
    principal = Principal(user.user_id, user.account_id, user.email, user.role)
    token, ttl = issue_token(principal)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl,
            "user": user_view(user)}


def login(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for a token; one message whatever was wrong.

    Failed attempts are counted per email (known or not) in fixed windows; a sliding estimate
    over the current and previous window past LOGIN_MAX_FAILURES answers 429 without checking
    the password, until the estimate falls below the limit again.
    """
    data = validate(body, LOGIN)
    window = _FailureWindow(data["email"])
    user, current, previous = store.transact_get(
        (UserModel, data["email"]), (LoginFailureModel, window.current_id),
        (LoginFailureModel, window.previous_id))
    wait = window.wait_seconds(current.failures if current else 0, previous.failures if previous else 0)
    if wait:
        raise TooManyRequests("Too many failed logins for this email; try again later.",
                              code="too_many_login_attempts", retry_after=wait)
    if not verify_password(user.password_hash if user else None, data["password"]) or (
            user.disabled):
        window.record_failure()
        raise Unauthorized("Email or password is wrong.", code="invalid_credentials")
    if user.role == "admin":
        from chalicelib.accounts import admin_roles

        admin_roles.remember(user)
    return token_response(user)


class _FailureWindow:
    """The failed-login counters of one email: the current fixed window and the one before."""

    def __init__(self, address: str) -> None:
        settings = get_settings()
        self.limit, self.length = settings.login_max_failures, settings.login_window_seconds
        moment = time.time()
        index = int(moment // self.length)
        self.elapsed = moment - index * self.length
        self.ends_at = (index + 1) * self.length
        who = keyed_hash(b"login:" + address.encode())[:32]
        self.current_id, self.previous_id = f"{who}#{index}", f"{who}#{index - 1}"

    def wait_seconds(self, current: int, previous: int) -> int:
        """0 when a login may be tried; else how long until the estimate is under the limit."""
        weight = 1 - self.elapsed / self.length
        if current + previous * weight < self.limit:
            return 0
        if current < self.limit:  # the previous window's share must fade
            wait = self.length * (1 - (self.limit - current) / previous) - self.elapsed
        else:  # this window's count must fade in the next one
            wait = (self.length - self.elapsed) + self.length * (1 - self.limit / current)
        return max(1, math.ceil(wait))

    def record_failure(self) -> None:
        counter = LoginFailureModel(self.current_id)
        with store.guard():
            counter.update(actions=[
                LoginFailureModel.failures.add(1),
                LoginFailureModel.expires_at.set(
                    datetime.fromtimestamp(self.ends_at + self.length, tz=timezone.utc))])
