"""The admin team: an owner invites admins by email, changes their roles, disables them.

- An invitation is a user item without a password and a single-use set-password link valid
  INVITATION_HOURS: its token is `<email, base64url>.<secret>`; only the secret's keyed hash is
  stored (the email in it finds the item without an index). Accepting sets the password in a
  conditional update on that hash and its expiry, and answers as a login.
- The last active owner cannot be demoted or disabled: a change that takes an owner away is
  conditional (a ConditionCheck in its transaction) on another admin being an active owner, so two
  owners demoting each other at once cannot both win.
- A disabled admin's requests are refused from the next role check on (`admin_roles`).
"""
from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from datetime import timedelta
from typing import Any

from chalicelib.accounts import admin_roles
from chalicelib.accounts.admins import STAFF
from chalicelib.accounts.auth import Principal, hash_password
from chalicelib.accounts.team_fields import ACCEPT, CHANGE, INVITE
from chalicelib.core.clock import new_id, now, public_time, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.secrets import keyed_hash
from chalicelib.core.validation import validate
from chalicelib.storage import outbox, store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.store import TransactionCancelled, Tx

INVITATION_HOURS = 48
INVITATION_TEMPLATE = "admin_invitation"
def admin_view(user: UserModel) -> dict[str, Any]:
    return {"id": user.user_id, "email": user.email, "name": user.name,
            "admin_role": admin_roles.role_of(user), "disabled": bool(user.disabled),
            "invited": bool(user.invitation_hash),
            "invitation_expires_at": public_time(user.invitation_expires_at) if user.invitation_hash else None,
            "invited_by": user.invited_by, "created_at": public_time(user.created_at)}


def _admins() -> list[UserModel]:
    with store.guard():
        return list(UserModel.admins.query(STAFF))


def list_admins() -> dict[str, Any]:
    """Every admin, by email."""
    return {"items": [admin_view(user) for user in _admins()]}


def _secret_hash(secret: str) -> str:
    return keyed_hash(b"invitation:" + secret.encode())


def invite(owner: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A new admin without a password, and the email with their set-password link."""
    data = validate(body, INVITE)
    at = stamp()
    secret = secrets.token_urlsafe(32)
    token = base64.urlsafe_b64encode(data["email"].encode()).decode().rstrip("=") + "." + secret
    expires = stamp(now() + timedelta(hours=INVITATION_HOURS))
    user = UserModel(data["email"], user_id=new_id("usr"), account_id=owner.account_id,
                     name=data["name"], password_hash="!invited", role="admin", created_at=at,
                     staff=STAFF, admin_role=data["admin_role"], invited_by=owner.email,
                     invitation_hash=_secret_hash(secret), invitation_expires_at=expires)
    tx = Tx()
    tx.put("user", user, UserModel.email.does_not_exist())
    add_audit(tx, entity_type="admin", entity_id=user.user_id, action="invited", from_status=None,
              to_status=data["admin_role"], actor=owner.email, at=at)
    outbox.add_message(tx, message_id=f"{INVITATION_TEMPLATE}:{user.user_id}", template=INVITATION_TEMPLATE,
                       recipient=user.email, entity_id=user.user_id,
                       context={"name": user.name, "invited_by": owner.email,
                                "admin_role": data["admin_role"], "hours": INVITATION_HOURS,
                                "link": f"{get_settings().web_app_url}/accept-invitation?token={token}"},
                       at=at)
    try:
        tx.commit(response=admin_view(user))
    except TransactionCancelled as exc:
        if "user" in exc.failed:
            raise Conflict("Someone already signs in with this email.", code="email_taken",
                           details={"fields": {"email": "already registered"}}) from exc
        raise
    return admin_view(user)


def accept(body: dict[str, Any]) -> dict[str, Any]:
    """Set the invited admin's password (once, before the link expires); answer as a login."""
    from chalicelib.accounts import sessions

    data = validate(body, ACCEPT)
    address, _, secret = data["token"].partition(".")
    try:
        email = base64.urlsafe_b64decode(address + "=" * (-len(address) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        email = ""
    user = store.get(UserModel, email) if email and secret else None
    expected = _secret_hash(secret) if secret else ""
    if (user is None or not user.invitation_hash or not hmac.compare_digest(user.invitation_hash, expected)
            or (user.invitation_expires_at or "") <= stamp() or user.disabled):
        raise Invalid("This invitation link is not valid: it was used, it expired (after "
                      f"{INVITATION_HOURS} hours), or it was mistyped. Ask an owner for a new one.",
                      code="invalid_invitation")
    at = stamp()
    tx = Tx()
    tx.update("user", user, [UserModel.password_hash.set(hash_password(data["password"])),
                             UserModel.invitation_hash.remove(),
                             UserModel.invitation_expires_at.remove(),
                             # the link reached the address: it is verified
                             UserModel.email_verified_at.set(at)],
              condition=(UserModel.invitation_hash == user.invitation_hash)
              & (UserModel.invitation_expires_at > at))
    add_audit(tx, entity_type="admin", entity_id=user.user_id, action="invitation_accepted",
              from_status=None, to_status=admin_roles.role_of(user), actor=user.email, at=at)
    try:
        tx.commit()
    except TransactionCancelled as exc:
        raise Invalid("This invitation link was used already.", code="invalid_invitation") from exc
    user.invitation_hash = user.invitation_expires_at = None
    admin_roles.remember(user)
    return sessions.login(user)


def change(owner: Principal, admin_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Change an admin's role or disable (or enable) them; never the last active owner away."""
    data = validate(body, CHANGE)
    if data["admin_role"] is None and data["disabled"] is None:
        raise Invalid("Say what changes: admin_role, disabled, or both.", code="validation_failed",
                      details={"fields": {"admin_role": "or disabled is required"}})
    team = _admins()
    user = next((u for u in team if u.user_id == admin_id), None)
    if user is None:
        raise NotFound("No such admin.", code="admin_not_found")
    role = data["admin_role"] or admin_roles.role_of(user)
    disabled = bool(user.disabled) if data["disabled"] is None else data["disabled"]
    was_owner = admin_roles.role_of(user) == admin_roles.OWNER and not user.disabled
    at = stamp()
    tx = Tx()
    tx.update("user", user, [UserModel.admin_role.set(role), UserModel.disabled.set(disabled)],
              condition=(UserModel.user_id == admin_id))
    if was_owner and (role != admin_roles.OWNER or disabled):
        others = [u for u in team if u.user_id != admin_id and not u.disabled and not u.invitation_hash
                  and admin_roles.role_of(u) == admin_roles.OWNER]
        if not others:
            raise Conflict("This is the last owner: make another admin an owner first.",
                           code="last_owner")
        other = others[0]
        tx.check("other_owner", UserModel, other.email,
                 condition=((UserModel.admin_role == admin_roles.OWNER)
                            | UserModel.admin_role.does_not_exist())
                 & ((UserModel.disabled == False) | UserModel.disabled.does_not_exist()))  # noqa: E712
    add_audit(tx, entity_type="admin", entity_id=user.user_id,
              action="disabled" if disabled and not user.disabled else
              "enabled" if user.disabled and not disabled else "role_changed",
              from_status=admin_roles.role_of(user), to_status=role, actor=owner.email, at=at)
    user.admin_role, user.disabled = role, disabled
    try:
        tx.commit(response=admin_view(user))
    except TransactionCancelled as exc:
        if "other_owner" in exc.failed:
            raise Conflict("The other owner was changed meanwhile: this would leave no owner.",
                           code="last_owner") from exc
        raise
    admin_roles.remember(user)
    return admin_view(user)
