"""Password hashing (argon2id), signed expiring tokens (HS256 JWT), roles."""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from chalicelib.core.config import get_settings
from chalicelib.core.errors import Unauthorized
from chalicelib.core.secrets import token_key

ROLES = ("user", "admin")
_ALGORITHM = "HS256"
_AUDIENCE = "billing-api"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the verified token says."""

    user_id: str
    account_id: str
    email: str
    role: str
    admin_role: str | None = None  # owner | approver | viewer: set by an admin route's check

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    profile = get_settings().password_profile.upper()
    return PasswordHasher.from_parameters(getattr(profiles, profile))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if the password matches; spends the same effort when there is no user."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(principal: Principal) -> tuple[str, int]:
    """A signed access token for the principal and its lifetime in seconds."""
    settings = get_settings()
    issued = int(time.time())
    claims = {
        "sub": principal.user_id, "acct": principal.account_id, "email": principal.email,
        "role": principal.role, "iat": issued, "exp": issued + settings.jwt_ttl_seconds,
        "iss": settings.jwt_issuer, "aud": _AUDIENCE,
    }
    return jwt.encode(claims, token_key(), algorithm=_ALGORITHM), settings.jwt_ttl_seconds


def verify_token(token: str) -> Principal:
    """The principal of a valid token; Unauthorized for anything forged, tampered or expired."""
    try:
        claims = jwt.decode(
            token, token_key(), algorithms=[_ALGORITHM], audience=_AUDIENCE,
            issuer=get_settings().jwt_issuer,
            options={"require": ["exp", "iat", "sub", "acct", "email", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The access token has expired; log in again.", code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The access token is not valid.", code="invalid_token") from exc
    if claims["role"] not in ROLES:
        raise Unauthorized("The access token is not valid.", code="invalid_token")
    return Principal(user_id=claims["sub"], account_id=claims["acct"], email=claims["email"],
                     role=claims["role"])


def principal_from_header(header: str | None) -> Principal:
    """Parse `Authorization: Bearer <token>` and verify it."""
    if not header:
        raise Unauthorized("This route needs an access token: Authorization: Bearer <token>.",
                           code="missing_token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.", code="invalid_token")
    return verify_token(token.strip())
