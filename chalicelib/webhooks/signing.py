"""Webhook signatures, Stripe's scheme: `Billing-Signature: t=<unix seconds>,v1=<hex>` where the
hex is HMAC-SHA256(secret, "<t>.<raw body>"); during the 24 hours after a rotation, two `v1`
values (the new secret's and the old one's).

An endpoint's secret is never stored: it is derived from the server's key (under a label of its
own, so unrelated to the token key) and the endpoint's random `secret_salt`, so a read of the
table gives nobody a secret, and the API shows it once, when it is made.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from chalicelib.core.secrets import derived_key

_LABEL = b"billing/webhook-secrets/v1"
HEADER = "Billing-Signature"
TOLERANCE_SECONDS = 300  # what `verify` accepts between the signature's time and now


def new_salt() -> str:
    return secrets.token_urlsafe(24)


def secret_of(endpoint_id: str, salt: str) -> str:
    """The endpoint's signing secret (`whsec_...`) for this salt."""
    key = derived_key(_LABEL)
    digest = hmac.new(key, f"{endpoint_id}#{salt}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signature_header(body: bytes, signing_secrets: list[str], at: int | None = None) -> str:
    """The header value for `body`, with one `v1` per secret (the current one first)."""
    t = int(time.time()) if at is None else at
    values = [hmac.new(s.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
              for s in signing_secrets]
    return ",".join([f"t={t}", *(f"v1={v}" for v in values)])


def verify(secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS,
           now: int | None = None) -> bool:
    """Whether `header` signs `body` with `secret`, made within `tolerance` seconds of now (what a
    receiver runs; the README shows the same in ten lines)."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs((int(time.time()) if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v.strip()) for k, v in parts if k.strip() == "v1")
