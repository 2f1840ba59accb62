"""The outbox: emails written in the same transaction as the change they tell about.

A message is `pending` (and carries `queue`, so the sparse `due` index finds it) until it is `sent`,
or `failed` after too many attempts (then it carries `parked` instead, and admins see it). Every
transition is a conditional write on what the worker read, so two workers never both send one
message, and a worker that died mid-send only delays it until its lease runs out.
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.core.clock import stamp
from chalicelib.storage import store
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.store import Tx

PENDING, SENT, FAILED = "pending", "sent", "failed"
HELD, RELEASED = "held", "released"  # to an address not yet verified; sent (as a copy) once it is
QUEUE = "pending"  # the prefix of undelivered messages' `queue` (the due index's key; store.spread)
PARKED = "failed"  # the `parked` value of messages given up on (the parked index's hash key)
LEASE = timedelta(seconds=60)  # a claimed message is hidden this long; sending takes seconds
MAX_BACKOFF = timedelta(hours=6)
MAX_ERROR_CHARS = 500


def add_message(tx: Tx, *, message_id: str, template: str, recipient: str, entity_id: str,
                context: Mapping[str, Any], at: str) -> None:
    """Queue one email in `tx`: it exists if and only if the change it tells about commits."""
    item = OutboxModel(message_id, template=template, recipient=recipient, entity_id=entity_id,
                       context={k: str(v) for k, v in context.items() if v is not None},
                       status=PENDING, attempts=0, created_at=at, next_attempt_at=at,
                       queue=store.spread(QUEUE, message_id))
    tx.put(f"outbox:{message_id}", item, condition=OutboxModel.message_id.does_not_exist())


def hold_in(tx: Tx, message: OutboxModel, now: datetime) -> None:
    """Hold a pending message in `tx` (out of the due index), if it is still as read."""
    tx.update("message", message, [OutboxModel.status.set(HELD), OutboxModel.held_at.set(stamp(now)),
                                   OutboxModel.queue.remove()],
              condition=_unchanged_since_read(message))


def release_in(tx: Tx, message: OutboxModel, at: str) -> str:
    """Release a held message in `tx`: it becomes `released`, and a copy of it is queued as a new
    message (so the outbox stream's INSERT delivers it); the copy's id."""
    copy_id = f"{message.message_id}:released"
    tx.update(f"held:{message.message_id}", message,
              [OutboxModel.status.set(RELEASED), OutboxModel.released_as.set(copy_id)],
              condition=OutboxModel.status == HELD)
    context = message.context.as_dict() if hasattr(message.context, "as_dict") else message.context
    add_message(tx, message_id=copy_id, template=message.template, recipient=message.recipient,
                entity_id=message.entity_id, context=context or {}, at=at)
    return copy_id


def due(now: datetime, limit: int) -> list[str]:
    """Ids of pending messages whose next attempt is due, the longest waiting first."""
    found: list[tuple[str, str]] = []
    for shard in store.spreads(QUEUE):
        with store.guard():
            found += [(item.next_attempt_at, item.message_id) for item in OutboxModel.due.query(
                shard, OutboxModel.next_attempt_at <= stamp(now), limit=limit)]
    return [message_id for _, message_id in sorted(found)[:limit]]


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """Wait before the next attempt after `attempts` failures: base, 4x, 16x, ... capped."""
    return min(timedelta(seconds=base_seconds * 4 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _conditional_update(message: OutboxModel, actions: list[Any], condition: Condition) -> bool:
    """Apply `actions` if `condition` holds; False if another worker changed the message first."""
    try:
        with store.guard():
            message.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if store.aws_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _unchanged_since_read(message: OutboxModel) -> Condition:
    return ((OutboxModel.status == PENDING) & (OutboxModel.attempts == message.attempts)
            & (OutboxModel.next_attempt_at == message.next_attempt_at))


def claim(message: OutboxModel, now: datetime) -> str | None:
    """Take a due message for one attempt (hidden for LEASE); its claim token, or None if taken."""
    token = secrets.token_hex(8)
    claimed = _conditional_update(message, [
        OutboxModel.claim.set(token), OutboxModel.attempts.set(message.attempts + 1),
        OutboxModel.next_attempt_at.set(stamp(now + LEASE)),
        OutboxModel.last_attempt_at.set(stamp(now)),
    ], _unchanged_since_read(message))
    return token if claimed else None


def mark_sent(message: OutboxModel, token: str, now: datetime, provider_id: str) -> bool:
    """Record the delivery (leaves the due index); False if the claim was lost meanwhile."""
    return _conditional_update(message, [
        OutboxModel.status.set(SENT), OutboxModel.sent_at.set(stamp(now)),
        OutboxModel.ses_message_id.set(provider_id), OutboxModel.queue.remove(),
    ], (OutboxModel.claim == token) & (OutboxModel.status == PENDING))


def record_failure(message: OutboxModel, token: str, now: datetime, error: str,
                   max_attempts: int, base_seconds: int) -> str:
    """After a failed attempt: 'retry' later with backoff, or 'parked' after max_attempts."""
    error = error[:MAX_ERROR_CHARS]
    held = (OutboxModel.claim == token) & (OutboxModel.status == PENDING)
    if message.attempts >= max_attempts:
        return "parked" if _park(message, now, error, held) else "lost"
    retry_at = stamp(now + backoff(message.attempts, base_seconds))
    done = _conditional_update(message, [OutboxModel.next_attempt_at.set(retry_at),
                                         OutboxModel.last_error.set(error)], held)
    return "retry" if done else "lost"


def park_abandoned(message: OutboxModel, now: datetime) -> bool:
    """Give up on a message whose last allowed attempt never reported back (the worker died)."""
    error = message.last_error or "The last attempt did not finish (the worker stopped)."
    return _park(message, now, error, _unchanged_since_read(message))


def _park(message: OutboxModel, now: datetime, error: str, condition: Condition) -> bool:
    return _conditional_update(message, [
        OutboxModel.status.set(FAILED), OutboxModel.parked.set(PARKED),
        OutboxModel.parked_at.set(stamp(now)), OutboxModel.last_error.set(error),
        OutboxModel.queue.remove(),
    ], condition)
