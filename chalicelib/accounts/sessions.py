"""Sessions: a short-lived access token (JWT_TTL_SECONDS) and a refresh token that rotates.

A login (or signup, password change or reset) starts a *family*: a family item and its first
refresh token, random (`secrets.token_urlsafe(32)`) and stored only as an HMAC under its own key.
A refresh, in ONE conditional transaction, marks the token used (it must be unused), puts its
successor, extends the family (it must exist and not be revoked) and checks the user's
`sessions_since` (a family started before it is refused): so a token works once. Presenting a used
token again revokes its family: a stolen token's reuse ends every session it started, and the
successor the thief or the user holds stops working too. Logout revokes the family.

Access tokens are stateless (verified without a DynamoDB call) and live 15 minutes: a revoked
session keeps its last access token until it expires.
"""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.accounts.auth import Principal, issue_token
from chalicelib.accounts.views import user_view
from chalicelib.core.clock import new_id, now, parse_stamp, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Unauthorized
from chalicelib.core.secrets import REFRESH_TOKEN_LABEL, token_hash
from chalicelib.accounts.fields import REFRESH
from chalicelib.core.validation import validate
from chalicelib.storage import store
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.models.sessions import FAMILY, TOKEN, SessionModel
from chalicelib.storage.store import TransactionCancelled, Tx

log = logging.getLogger(__name__)

_INVALID = "The refresh token is not valid (expired, unknown, used or revoked); log in again."


def _token_key(token: str) -> str:
    return f"{TOKEN}#{token_hash(REFRESH_TOKEN_LABEL, token)}"


def _family_key(family_id: str) -> str:
    return f"{FAMILY}#{family_id}"


def _invalid() -> Unauthorized:
    return Unauthorized(_INVALID, code="invalid_refresh_token")


def _expiry(at: str) -> Any:
    return parse_stamp(at) + timedelta(seconds=get_settings().refresh_ttl_seconds)


def start(tx: Tx, user: UserModel, at: str) -> str:
    """Add a new family and its first refresh token to `tx`; the token (given to the user once)."""
    family_id = new_id("ses")
    expires = _expiry(at)
    tx.put("session_family", SessionModel(
        _family_key(family_id), kind=FAMILY, family_id=family_id, user_email=user.email,
        user_id=user.user_id, started_at=at, created_at=at, expires_at=expires),
        SessionModel.session_key.does_not_exist())
    return _put_token(tx, "session_token", user, family_id, started_at=at, at=at)


def _put_token(tx: Tx, label: str, user: UserModel, family_id: str, *, started_at: str,
               at: str) -> str:
    token = secrets.token_urlsafe(32)
    tx.put(label, SessionModel(
        _token_key(token), kind=TOKEN, family_id=family_id, user_email=user.email,
        user_id=user.user_id, started_at=started_at, created_at=at, expires_at=_expiry(at)),
        SessionModel.session_key.does_not_exist())
    return token


def token_pair(user: UserModel, refresh_token: str) -> dict[str, Any]:
    """The answer of a login: an access token, the refresh token, the user."""
    access, ttl = issue_token(Principal(user.user_id, user.account_id, user.email, user.role))
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
            "refresh_token": refresh_token, "user": user_view(user)}


def login(user: UserModel) -> dict[str, Any]:
    """Start a session for a user whose password was checked (one transaction)."""
    tx = Tx()
    token = start(tx, user, stamp())
    tx.commit()
    return token_pair(user, token)


def refresh(body: dict[str, Any]) -> dict[str, Any]:
    """A new pair for a refresh token, which is then used up; a used one revokes its family."""
    presented = validate(body, REFRESH)["refresh_token"]
    item = store.get(SessionModel, _token_key(presented), consistent=True)
    at = stamp()
    if item is None or item.kind != TOKEN or item.expires_at <= now():
        raise _invalid()
    if item.used_at:
        revoke_family(item.family_id, "reused", at)
        raise _invalid()
    user = store.get(UserModel, item.user_email, consistent=True)
    if user is None or user.user_id != item.user_id or user.disabled or (
            user.sessions_since and user.sessions_since > item.started_at):
        raise _invalid()  # (a disabled admin's sessions have ended)
    tx = Tx()
    tx.update("token", item, [SessionModel.used_at.set(at)],
              condition=SessionModel.used_at.does_not_exist())
    token = _put_token(tx, "successor", user, item.family_id, started_at=item.started_at, at=at)
    tx.update("family", SessionModel(_family_key(item.family_id)),
              [SessionModel.expires_at.set(_expiry(at)), SessionModel.last_refreshed_at.set(at)],
              condition=SessionModel.session_key.exists() & SessionModel.revoked_at.does_not_exist())
    tx.check("user", UserModel, user.email,
             condition=(UserModel.user_id == user.user_id) & (
                 UserModel.sessions_since.does_not_exist()
                 | (UserModel.sessions_since <= item.started_at))
             & (UserModel.disabled.does_not_exist() | (UserModel.disabled == False)))  # noqa: E712
    try:
        tx.commit()
    except TransactionCancelled as exc:
        if "token" in exc.failed:  # another refresh used it first: a second use
            revoke_family(item.family_id, "reused", at)
        raise _invalid() from exc
    return token_pair(user, token)


def revoke_family(family_id: str, reason: str, at: str) -> bool:
    """End one session (every token of its family); False if it was already ended or is gone."""
    family = SessionModel(_family_key(family_id))
    try:
        with store.guard():
            family.update(actions=[SessionModel.revoked_at.set(at),
                                   SessionModel.revoked_reason.set(reason)],
                          condition=SessionModel.session_key.exists()
                          & SessionModel.revoked_at.does_not_exist())
    except UpdateError as exc:
        if store.aws_code(exc) == "ConditionalCheckFailedException":  # nothing to end
            return False
        raise
    if reason == "reused":
        log.warning("a used refresh token was presented again; session %s revoked", family_id)
    return True


def logout(body: dict[str, Any]) -> None:
    """End the session of a refresh token (nothing to do for an unknown or expired one)."""
    presented = validate(body, REFRESH)["refresh_token"]
    item = store.get(SessionModel, _token_key(presented), consistent=True)
    if item is not None and item.kind == TOKEN:
        revoke_family(item.family_id, "logout", stamp())


def end_all(tx: Tx, user: UserModel, at: str, condition: Any = None) -> None:
    """Set in `tx` that every session of the user started before `at` ends (their refreshes are
    refused), with any other change to the user given as `condition`."""
    check = UserModel.user_id == user.user_id
    tx.update("user", user, [UserModel.sessions_since.set(at)],
              condition=check if condition is None else check & condition)
