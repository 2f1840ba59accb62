"""Admin roles on every admin request: the route's least role against the admin's stored role.

The role and the disabled flag are read from the admin's user item, not from the token: a
demotion or a disabling takes effect on the next request a container checks, at most
ROLE_CACHE_SECONDS after the change in another container (at once in the one that made it). A
container keeps what it read for that long, so an admin's requests do not each cost a read (a
login fills it). A user item written before roles (no `admin_role`) is an owner: the admin that
`make dev` and `manage.py create-admin` made.
"""
from __future__ import annotations

import dataclasses
import time

from chalicelib.accounts.auth import Principal
from chalicelib.core.errors import Forbidden, Unauthorized
from chalicelib.storage import store
from chalicelib.storage.models.accounts import UserModel

VIEWER, APPROVER, OWNER = "viewer", "approver", "owner"
ADMIN_ROLES = (VIEWER, APPROVER, OWNER)  # least first
RANK = {role: rank for rank, role in enumerate(ADMIN_ROLES)}
ROLE_CACHE_SECONDS = 30.0
_cache: dict[str, tuple[float, str | None, bool, str]] = {}  # email → (read at, role, disabled, user id)


def role_of(user: UserModel) -> str:
    return user.admin_role or OWNER


def remember(user: UserModel) -> None:
    """Keep what a read of the admin's item said (a login, a change of role)."""
    _cache[user.email] = (time.monotonic(), role_of(user), bool(user.disabled), user.user_id)


def forget() -> None:
    _cache.clear()


def _stored(principal: Principal) -> tuple[str | None, bool]:
    cached = _cache.get(principal.email)
    if cached is None or time.monotonic() - cached[0] > ROLE_CACHE_SECONDS or cached[3] != principal.user_id:
        user = store.get(UserModel, principal.email, consistent=True)
        if user is None or user.user_id != principal.user_id or user.role != "admin":
            _cache.pop(principal.email, None)
            return None, True
        remember(user)
        cached = _cache[principal.email]
    return cached[1], cached[2]


def require(principal: Principal, least: str) -> Principal:
    """The principal with its admin role, if it holds `least` or more; 401 for a disabled or
    removed admin (its sessions have ended), 403 `insufficient_role` below the route's role."""
    role, disabled = _stored(principal)
    if disabled or role is None:
        raise Unauthorized("This admin is disabled; the session has ended.", code="admin_disabled")
    if RANK[role] < RANK[least]:
        raise Forbidden(f"This needs the {least} role; you are {_article(role)} {role}.",
                        code="insufficient_role", details={"required": least, "role": role})
    return dataclasses.replace(principal, admin_role=role)


def _article(role: str) -> str:
    return "an" if role[0] in "aeiou" else "a"
