"""The HMAC secret of access tokens: `JWT_SECRET`, or a SecureString in SSM Parameter Store.

A deployed prod stage sets `JWT_SECRET_PARAMETER` (the parameter's name) instead of a plain value;
the parameter is read with decryption on the first token issued or verified, then kept for the
life of the container. boto3 is imported then too, not at `import app`.
"""
from __future__ import annotations

import logging
from functools import lru_cache

from chalicelib.config import get_settings
from chalicelib.errors import AppError, Unavailable

log = logging.getLogger(__name__)

_TRANSIENT = {"ThrottlingException", "InternalServerError", "ServiceUnavailable"}


def jwt_secret() -> str:
    """The token secret of this container ('' when none is configured)."""
    settings = get_settings()
    if settings.jwt_secret_parameter:
        return read_parameter(settings.jwt_secret_parameter, settings.region)
    return settings.jwt_secret


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
