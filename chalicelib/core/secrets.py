"""The HMAC secret of access tokens: `JWT_SECRET`, or a SecureString in SSM Parameter Store;
and the separate key of the product's other keyed hashes, derived from it.

A deployed prod stage sets `JWT_SECRET_PARAMETER` (the parameter's name) instead of a plain value;
the parameter is read with decryption on the first token issued or verified, then kept for the
life of the container. boto3 is imported then too, not at `import app`.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from functools import lru_cache

from chalicelib.core.config import get_settings
from chalicelib.core.errors import AppError, Unavailable

log = logging.getLogger(__name__)

_TRANSIENT = {"ThrottlingException", "InternalServerError", "ServiceUnavailable"}
MIN_SECRET_BYTES = 32
# The label that separates the keyed-hash key from the token key (HMAC-SHA256 as a KDF, RFC 2104
# used as in HKDF-Expand with one block): a new label gives an unrelated key.
_HASH_KEY_LABEL = b"billing/keyed-hashes/v1"
# The keys of the stored hashes of session and link tokens: each under a label of its own.
REFRESH_TOKEN_LABEL = b"billing/refresh-tokens/v1"
LINK_TOKEN_LABEL = b"billing/link-tokens/v1"


def jwt_secret() -> str:
    """The token secret of this container ('' when none is configured)."""
    settings = get_settings()
    if settings.jwt_secret_parameter:
        return read_parameter(settings.jwt_secret_parameter, settings.region)
    return settings.jwt_secret


def token_key() -> str:
    """The token secret, refused when it is missing or shorter than 32 bytes."""
    secret = jwt_secret()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise AppError("The token secret is not configured.", code="misconfigured")
    return secret


def hash_key() -> bytes:
    """The key of the login-failure buckets and the idempotency scopes and fingerprints: derived
    from the token secret under its own label, so never the token secret itself, never empty."""
    return _derive(token_key())


def derived_key(label: bytes) -> bytes:
    """A key of its own for `label`, derived from the token secret (never the secret itself)."""
    return _derive(token_key(), label)


@lru_cache(maxsize=8)
def _derive(secret: str, label: bytes = _HASH_KEY_LABEL) -> bytes:
    return hmac.new(secret.encode(), label, hashlib.sha256).digest()


def keyed_hash(message: bytes) -> str:
    """HMAC-SHA256 of a message under `hash_key()`, as hex."""
    return hmac.new(hash_key(), message, hashlib.sha256).hexdigest()


def token_hash(label: bytes, token: str) -> str:
    """HMAC-SHA256 of a token a user holds (a refresh token, a reset or verification link's),
    as hex, under a key derived from the token secret with `label`: what is stored instead of
    the token, so the table alone lets nobody present one."""
    return hmac.new(_derive(token_key(), label), token.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def read_parameter(name: str, region: str) -> str:
    """A SecureString's decrypted value, fetched once per container (failures are not kept)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("ssm", region_name=region, config=Config(
        connect_timeout=3, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}))
    try:
        return str(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        log.error("reading the token secret from parameter %s failed: %s", name, code)
        if code in _TRANSIENT:
            raise Unavailable("The token secret is unavailable; retry shortly.",
                              retry_after=2) from exc
        raise AppError("The token secret is not configured.", code="misconfigured") from exc
    except BotoCoreError as exc:
        log.error("reading the token secret from parameter %s failed: %s", name,
                  type(exc).__name__)
        raise Unavailable("The token secret is unavailable; retry shortly.", retry_after=2) from exc
