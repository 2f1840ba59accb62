"""Idempotency-Key: a retried POST returns the first response and changes nothing.

A request with a key first *claims* `<scope>#<key>` with a conditional put. The use case then
commits its change and, in the same transaction (`Tx.commit(response=...)`), the response it
returns, so the change and its recorded response exist together or not at all. A retry finds
the completed record and gets that response again; one that arrives while the first is still
running waits for it. The same key with another route or body is refused with 422.

If the request fails, its claim is released so the client can try again with the same key. A
claim left behind by a container that died is taken over once its lock expires; the dead
request's change, had it committed, would have completed the record in the same transaction.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.core.errors import BadRequest, Conflict, Invalid
from chalicelib.core.secrets import keyed_hash
from chalicelib.storage import store
from chalicelib.storage.models.platform import IdempotencyModel

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
RETENTION = timedelta(hours=24)
LOCK_SECONDS = 120  # longer than the function's timeout: a live request never loses its claim
WAIT_SECONDS = 10.0  # how long a concurrent retry waits for the first request to finish
POLL_SECONDS = 0.05
IN_PROGRESS, COMPLETED = "in_progress", "completed"

@dataclass
class Replay:
    """The first response to a request, to send again."""

    status_code: int
    body: Any


@dataclass
class Claim:
    """This request's hold on an idempotency record."""

    record_id: str
    claim_id: str
    status_code: int
    redact: Callable[[Any], Any] = field(default=lambda body: body)
    completed: bool = False  # set by Tx.commit once the recorded response is written

    def complete_in(self, tx: store.Tx, response: Any) -> None:
        """Record the response in the transaction that makes the change it reports."""
        body = json.dumps(self.redact(response), separators=(",", ":"), sort_keys=True)
        tx.update(store.IDEMPOTENCY_LABEL, IdempotencyModel(self.record_id),
                  [IdempotencyModel.status.set(COMPLETED),
                   IdempotencyModel.status_code.set(self.status_code),
                   IdempotencyModel.response.set(body)],
                  condition=(IdempotencyModel.claim_id == self.claim_id)
                  & (IdempotencyModel.status == IN_PROGRESS))


def read_key(headers: Any) -> str | None:
    """The request's Idempotency-Key, None when absent; 400 when malformed."""
    key = headers.get(HEADER.lower())
    if key is None:
        return None
    if not KEY_PATTERN.fullmatch(key):
        raise BadRequest(f"The {HEADER} header must be 1 to 255 visible ASCII characters.",
                         code="invalid_idempotency_key")
    return key


def fingerprint(route: str, params: dict[str, str], raw_body: bytes | None) -> str:
    """A keyed hash of the route and body (JSON compared by value), never the body itself."""
    try:
        body: Any = json.loads(raw_body) if raw_body and raw_body.strip() else {}
        canonical = json.dumps(body, separators=(",", ":"), sort_keys=True)
    except (ValueError, UnicodeDecodeError):
        canonical = "raw:" + hashlib.sha256(raw_body or b"").hexdigest()
    message = json.dumps([route, sorted(params.items()), canonical]).encode()
    return keyed_hash(message)


def run(scope: str, key: str, print_: str, status_code: int, execute: Callable[[], Any],
        redact: Callable[[Any], Any] | None = None) -> tuple[int, Any] | Replay:
    """Run `execute` once for (scope, key); a retry gets the first response as a `Replay`."""
    record_id = f"{scope}#{key}"
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        claim = _try_claim(record_id, print_, status_code)
        if claim is not None:
            break
        existing = store.get(IdempotencyModel, record_id, consistent=True)
        if existing is None:
            continue  # released between our put and our read: try to claim it again
        if not hmac.compare_digest(existing.fingerprint, print_):
            raise Invalid(f"This {HEADER} was already used for a different request.",
                          code="idempotency_key_reused",
                          details={"fields": {HEADER: "use a new key for a different request"}})
        if existing.status == COMPLETED:
            return Replay(int(existing.status_code), json.loads(existing.response))
        if time.monotonic() >= deadline:
            raise Conflict("A request with this Idempotency-Key is still being processed; retry "
                           "shortly.", code="idempotency_in_progress", retry_after=1)
        time.sleep(POLL_SECONDS)
    if redact is not None:
        claim.redact = redact
    token = store.pending_response.set(claim)
    try:
        body = execute()
        if not claim.completed:  # a use case that made no transaction: record the response now
            _complete_alone(claim, body)
        return status_code, body
    except BaseException:
        if not claim.completed:
            _release(claim)
        raise
    finally:
        store.pending_response.reset(token)


def current() -> Claim | None:
    """The claim of the request being handled, if it came with a key."""
    claim = store.pending_response.get()
    return claim if isinstance(claim, Claim) else None


def _try_claim(record_id: str, print_: str, status_code: int) -> Claim | None:
    now = datetime.now(timezone.utc)
    claim = Claim(record_id, secrets.token_hex(8), status_code)
    item = IdempotencyModel(record_id, fingerprint=print_, status=IN_PROGRESS, claim_id=claim.claim_id,
                            locked_until=int(now.timestamp()) + LOCK_SECONDS,
                            expires_at=now + RETENTION)
    free = (IdempotencyModel.record_id.does_not_exist()
            | (IdempotencyModel.expires_at < now)
            | ((IdempotencyModel.status == IN_PROGRESS)
               & (IdempotencyModel.locked_until < int(now.timestamp()))))
    try:
        with store.guard():
            item.save(condition=free)
    except PutError as exc:
        if store.aws_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return claim


def _complete_alone(claim: Claim, body: Any) -> None:
    store.Tx().commit(response=body)


def _release(claim: Claim) -> None:
    """Free the key after a failed request (best effort: an unreleased claim expires)."""
    try:
        with store.guard():
            IdempotencyModel(claim.record_id).delete(
                condition=(IdempotencyModel.claim_id == claim.claim_id)
                & (IdempotencyModel.status == IN_PROGRESS))
    except Exception:  # noqa: BLE001 - the request's own error matters, not this one
        pass
