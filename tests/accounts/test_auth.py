"""Passwords (argon2id) and access tokens (HS256 JWT): forged, tampered or expired tokens get 401."""
from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from chalicelib.accounts import auth
from chalicelib.accounts.auth import (
    Principal,
    hash_password,
    issue_token,
    principal_from_header,
    verify_password,
    verify_token,
)
from chalicelib.core.config import get_settings, reset_settings
from chalicelib.core.errors import AppError, Unauthorized

USER = Principal(user_id="usr_1", account_id="acc_1", email="ayesha@khan.pk", role="user")
ADMIN = Principal(user_id="usr_2", account_id="acc_2", email="admin@example.com", role="admin")


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Every test starts and ends with settings read from the (restored) environment."""
    reset_settings()
    yield
    reset_settings()


def claims(**changes: Any) -> dict[str, Any]:
    """The claims issue_token would write for USER, with some replaced (None removes one)."""
    now = int(time.time())
    out = {"sub": USER.user_id, "acct": USER.account_id, "email": USER.email, "role": USER.role,
           "iat": now, "exp": now + 3600, "iss": get_settings().jwt_issuer, "aud": "billing-api"}
    for key, value in changes.items():
        if value is None:
            out.pop(key)
        else:
            out[key] = value
    return out


def signed(payload: dict[str, Any], secret: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret or get_settings().jwt_secret, algorithm=algorithm)


def rejected(token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        verify_token(token)
    assert caught.value.status == 401
    return caught.value


# Passwords -----------------------------------------------------------------------------------

def test_hash_password_makes_a_salted_argon2id_hash() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert "correct horse battery" not in first


def test_verify_password_accepts_the_right_password_only() -> None:
    stored = hash_password("correct horse battery")
    assert verify_password(stored, "correct horse battery") is True
    assert verify_password(stored, "correct horse batterY") is False
    assert verify_password(stored, "") is False


def test_verify_password_without_a_hash_is_false_even_for_the_dummy_password() -> None:
    assert verify_password(None, "correct horse battery") is False
    assert verify_password(None, "not-a-real-password") is False


def test_verify_password_with_a_garbage_hash_is_false() -> None:
    assert verify_password("not-a-hash", "correct horse battery") is False


def test_verify_password_with_an_empty_hash_is_false_even_for_the_dummy_password() -> None:
    assert verify_password("", "not-a-real-password") is False


# Tokens --------------------------------------------------------------------------------------

@pytest.mark.parametrize("principal", [USER, ADMIN])
def test_issued_token_verifies_to_the_same_principal(principal: Principal) -> None:
    token, ttl = issue_token(principal)
    assert ttl == get_settings().jwt_ttl_seconds
    assert verify_token(token) == principal
    assert verify_token(token).is_admin is (principal.role == "admin")


def test_issued_token_is_hs256_with_audience_issuer_and_expiry() -> None:
    token, ttl = issue_token(USER)
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert payload["aud"] == "billing-api" and payload["iss"] == get_settings().jwt_issuer
    assert payload["exp"] - payload["iat"] == ttl


def test_a_token_signed_outside_issue_token_with_the_same_claims_verifies() -> None:
    # Guards the helpers below: a rejection in the other tests is due to the one change made.
    assert verify_token(signed(claims())) == USER


def test_a_tampered_payload_is_invalid() -> None:
    # Given a valid user token whose payload is edited to claim the admin role
    token, _ = issue_token(USER)
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    # When it is verified, then it is rejected
    assert rejected(f"{header}.{forged}.{signature}").code == "invalid_token"


def test_a_token_signed_with_another_secret_is_invalid() -> None:
    assert rejected(signed(claims(), secret="another-secret-" + "y" * 40)).code == "invalid_token"


def test_an_unsigned_alg_none_token_is_invalid() -> None:
    token = jwt.encode(claims(role="admin"), key=None, algorithm="none")
    assert rejected(token).code == "invalid_token"


@pytest.mark.filterwarnings("ignore:The HMAC key")
def test_an_hs512_token_with_the_right_secret_is_invalid() -> None:
    assert rejected(signed(claims(), algorithm="HS512")).code == "invalid_token"


def test_an_expired_token_is_token_expired() -> None:
    # Given a token correctly signed with the same secret but whose exp has passed
    past = int(time.time()) - 7200
    token = signed(claims(iat=past, exp=past + 3600))
    # When it is verified, then it says the token expired
    assert rejected(token).code == "token_expired"


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "acct", "email", "role", "iss", "aud"])
def test_a_token_missing_a_claim_is_invalid(missing: str) -> None:
    assert rejected(signed(claims(**{missing: None}))).code == "invalid_token"


@pytest.mark.parametrize("changes", [{"role": "superuser"}, {"role": "ADMIN"}, {"aud": "other-api"},
                                     {"iss": "someone-else"}])
def test_a_token_with_an_unknown_role_audience_or_issuer_is_invalid(changes: dict[str, Any]) -> None:
    assert rejected(signed(claims(**changes))).code == "invalid_token"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "Bearer x"])
def test_garbage_tokens_are_invalid(token: str) -> None:
    assert rejected(token).code == "invalid_token"


# Authorization header ------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, ""])
def test_no_authorization_header_is_missing_token(header: str | None) -> None:
    with pytest.raises(Unauthorized) as caught:
        principal_from_header(header)
    assert caught.value.code == "missing_token"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    token, _ = issue_token(USER)
    assert principal_from_header(f"{scheme} {token}") == USER


@pytest.mark.parametrize("template", ["Basic {token}", "Token {token}", "{token}", "Bearer", "Bearer   ",
                                      "Bearer{token}"])
def test_a_wrong_scheme_or_no_token_is_invalid(template: str) -> None:
    token, _ = issue_token(USER)
    with pytest.raises(Unauthorized) as caught:
        principal_from_header(template.format(token=token))
    assert caught.value.code == "invalid_token"


# Secret --------------------------------------------------------------------------------------

@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_a_secret_shorter_than_32_bytes_is_misconfigured(monkeypatch: pytest.MonkeyPatch,
                                                         secret: str) -> None:
    # Given a valid token, then a token secret that is too short
    token, _ = issue_token(USER)
    monkeypatch.setenv("JWT_SECRET", secret)
    reset_settings()
    # When tokens are issued or verified, then the app refuses as misconfigured (not as a 401)
    for attempt in (lambda: issue_token(USER), lambda: verify_token(token)):
        with pytest.raises(AppError) as caught:
            attempt()
        assert not isinstance(caught.value, Unauthorized)
        assert (caught.value.status, caught.value.code) == (500, "misconfigured")


def test_a_secret_of_exactly_32_bytes_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "s" * 32)
    reset_settings()
    token, _ = issue_token(USER)
    assert verify_token(token) == USER


def test_the_environment_secret_is_restored_after_the_secret_tests() -> None:
    assert len(os.environ["JWT_SECRET"]) >= 32
    assert get_settings().jwt_secret == os.environ["JWT_SECRET"]
    assert auth.token_key() == os.environ["JWT_SECRET"]
