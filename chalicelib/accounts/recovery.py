"""Password reset (by an emailed link) and change (knowing the current one); both end every
session of the user.

A reset request answers 202 whatever the email, in the same time: both paths read the same items
in one round trip (the user and four throttle counters) and write one transaction of three items
(the two counters, and the email's outbox item or a check in its place), hash no password and make
the same keyed hashes. Requests are throttled per email and per client address by the same rule
whether the account exists or not (429 with Retry-After), so the answers enumerate nothing.
"""
from __future__ import annotations

import secrets
from typing import Any

from chalicelib.accounts import links, sessions
from chalicelib.accounts.auth import Principal, hash_password, verify_password
from chalicelib.accounts.fields import PASSWORD_CHANGE, RESET_COMPLETE, RESET_REQUEST
from chalicelib.accounts.login import failure_window
from chalicelib.accounts.throttle import Window, client_address
from chalicelib.core.clock import stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, Invalid, TooManyRequests, Unauthorized
from chalicelib.core.validation import validate
from chalicelib.notifications import messages
from chalicelib.storage import store
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.store import TransactionCancelled, Tx

ACCEPTED = {"message": "If an account exists for this email, we sent it a link to reset the "
                       "password. The link works once, for one hour."}


def request_reset(body: dict[str, Any]) -> dict[str, Any]:
    """Email a reset link if the account exists; the same answer, work and time if not."""
    address = validate(body, RESET_REQUEST)["email"]
    settings = get_settings()
    by_email = Window(b"reset-email:", address, settings.reset_max_per_email,
                      settings.reset_window_seconds)
    by_client = Window(b"reset-client:", client_address(), settings.reset_max_per_client,
                       settings.reset_window_seconds)
    user, *counters = store.transact_get((UserModel, address), *by_email.keys(), *by_client.keys())
    wait = max(by_email.wait(*counters[:2]), by_client.wait(*counters[2:]))
    if wait:
        raise TooManyRequests("Too many password reset requests; try again later.",
                              code="too_many_reset_requests", retry_after=wait)
    at = stamp()
    tx = Tx()
    tx.update("throttle:email", by_email.counter(), by_email.count_actions())
    tx.update("throttle:client", by_client.counter(), by_client.count_actions())
    message_id = f"password_reset:{secrets.token_hex(12)}:{messages.USER}"
    messages.password_reset_message(tx, address=user.email if user is not None else None,
                                    message_id=message_id, at=at)
    tx.commit()
    return dict(ACCEPTED)


def complete_reset(body: dict[str, Any]) -> dict[str, Any]:
    """Set the password of a reset link (used once), end every session, start a new one."""
    data = validate(body, RESET_COMPLETE)
    link, hashed = links.read(links.RESET, data["token"])
    user = store.get(UserModel, link.subject, consistent=True)
    if user is None:
        raise links.invalid(links.RESET)
    new_hash = hash_password(data["password"])
    at = stamp()
    tx = Tx()
    links.use(tx, link, hashed, at)
    user.password_hash = new_hash
    sessions.end_all(tx, user, at)
    tx.update("user", user, [UserModel.password_hash.set(new_hash)])
    refresh_token = sessions.start(tx, user, at)
    try:
        tx.commit()
    except TransactionCancelled as exc:
        raise links.invalid(links.RESET) from exc
    return sessions.token_pair(user, refresh_token)


def change_password(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Change the caller's password (knowing the current one): every other session ends; the
    answer is a new session for the caller. Wrong current passwords count as failed logins."""
    data = validate(body, PASSWORD_CHANGE)
    window = failure_window(principal.email)
    user, *counters = store.transact_get((UserModel, principal.email), *window.keys())
    if user is None or user.user_id != principal.user_id:
        raise Unauthorized("The account of this token no longer exists.", code="invalid_token")
    wait = window.wait(*counters)
    if wait:
        raise TooManyRequests("Too many wrong passwords for this account; try again later.",
                              code="too_many_login_attempts", retry_after=wait)
    if not verify_password(user.password_hash, data["current_password"]):
        window.record()
        raise Invalid("The current password is wrong.", code="wrong_password",
                      details={"fields": {"current_password": "is wrong"}})
    old_hash, new_hash = user.password_hash, hash_password(data["new_password"])
    at = stamp()
    tx = Tx()
    sessions.end_all(tx, user, at, condition=UserModel.password_hash == old_hash)
    tx.update("user", user, [UserModel.password_hash.set(new_hash)])
    user.password_hash = new_hash
    refresh_token = sessions.start(tx, user, at)
    try:
        tx.commit()
    except TransactionCancelled as exc:
        raise Conflict("The password changed meanwhile; retry.", code="transaction_conflict",
                       retry_after=1) from exc
    return sessions.token_pair(user, refresh_token)
