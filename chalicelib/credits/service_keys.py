"""Service keys: how the SaaS's own backend calls the credits API.

A key is `sk_<id>_<secret>`; only a keyed hash of the secret is stored (HMAC, compared in constant
time), and the key is shown once, when it is made. A container keeps a key it has checked for at
most KEY_CACHE_SECONDS, so a revoked key is refused everywhere within that time, and a request with
a cached key costs no read. `last_used_at` is written at most once per KEY_CACHE_SECONDS per
container, inside the request's own transaction (no call of its own).
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.core.clock import public_time, stamp
from chalicelib.core.errors import BadRequest, Forbidden, NotFound, Unauthorized
from chalicelib.core.secrets import keyed_hash
from chalicelib.core.validation import Text, validate
from chalicelib.storage import store
from chalicelib.storage.models.platform import ServiceKeyModel
from chalicelib.storage.store import Tx

KEY_CACHE_SECONDS = 60
PREFIX = "sk_"
CREATE = {"name": Text(required=True, max_len=100, doc="What the key is for, e.g. \"api-server\".")}


@dataclass
class ServiceCaller:
    """A verified service key."""

    key_id: str
    name: str
    checked_at: float  # monotonic time of the read
    used_written_at: float = 0.0


_cache: dict[str, ServiceCaller] = {}
_lock = threading.Lock()


def _hash(secret: str) -> str:
    return keyed_hash(b"service-key:" + secret.encode())


def _parse(token: str) -> tuple[str, str]:
    if not token.startswith(PREFIX):
        raise Unauthorized("A service key (sk_...) is needed.", code="invalid_service_key")
    key_id, _, secret = token[len(PREFIX):].partition("_")
    if not key_id or not secret or len(token) > 200:
        raise Unauthorized("The service key is not valid.", code="invalid_service_key")
    return key_id, secret


def authenticate(header: str | None) -> ServiceCaller:
    """The service key of `Authorization: Bearer sk_...`; 401 for a missing, unknown or revoked
    key, 403 for a user's or admin's token."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("This route needs a service key: Authorization: Bearer sk_....",
                           code="invalid_service_key")
    if not token.startswith(PREFIX):
        raise Forbidden("This route is for service keys, not user or admin tokens.",
                        code="service_key_required")
    key_id, secret = _parse(token)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(token)
    if cached is not None and now - cached.checked_at < KEY_CACHE_SECONDS:
        return cached
    key = store.get(ServiceKeyModel, key_id)
    if key is None or key.revoked_at or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        with _lock:
            _cache.pop(token, None)
        raise Unauthorized("The service key is unknown or revoked.", code="invalid_service_key")
    caller = ServiceCaller(key.key_id, key.name, now)
    with _lock:
        _cache[token] = caller
    return caller


def use_to_note(caller: ServiceCaller) -> bool:
    """Whether this request records the key's use (at most once per cache period per container)."""
    now = time.monotonic()
    if now - caller.used_written_at < KEY_CACHE_SECONDS:
        return False
    caller.used_written_at = now
    return True


def key_view(key: ServiceKeyModel) -> dict[str, Any]:
    return {"id": key.key_id, "name": key.name, "created_at": public_time(key.created_at),
            "created_by": key.created_by, "last_used_at": public_time(key.last_used_at),
            "revoked_at": public_time(key.revoked_at)}


def create(admin: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A new key; the only time its secret is shown."""
    name = validate(body, CREATE)["name"]
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    at = stamp()
    key = ServiceKeyModel(key_id, name=name, secret_hash=_hash(secret), created_at=at,
                          created_by=admin.email)
    tx = Tx()
    tx.put("service_key", key, ServiceKeyModel.key_id.does_not_exist())
    response = {"id": key_id, "name": name, "key": f"{PREFIX}{key_id}_{secret}",
                "created_at": public_time(at)}
    tx.commit(response=response)
    return response


def list_keys() -> dict[str, Any]:
    with store.guard():
        keys = list(ServiceKeyModel.by_listing.query("keys", scan_index_forward=False))
    return {"items": [key_view(key) for key in keys]}


def revoke(key_id: str) -> None:
    """Refuse the key from now on (containers that cached it: within KEY_CACHE_SECONDS)."""
    if len(key_id) > 64:
        raise BadRequest("No such service key.", code="invalid_request")
    key = store.get(ServiceKeyModel, key_id)
    if key is None:
        raise NotFound("No such service key.", code="service_key_not_found")
    if key.revoked_at:
        return
    tx = Tx()
    tx.update("service_key", key, [ServiceKeyModel.revoked_at.set(stamp())],
              condition=ServiceKeyModel.revoked_at.does_not_exist())
    try:
        tx.commit()
    except store.TransactionCancelled:
        return  # revoked meanwhile
    with _lock:
        for token in [t for t, c in _cache.items() if c.key_id == key_id]:
            _cache.pop(token)
