"""The only module that handles DynamoDB failures: connection, transactions, errors, cursors.

Use-case modules read and write through PynamoDB models, inside `guard()`, and commit multi-item
changes through `Tx`, which knows the order PynamoDB sends items in (checks, deletes, puts,
updates) so a cancelled transaction says which item's condition failed.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.core.config import get_settings
from chalicelib.core.errors import BadRequest, Conflict, Unavailable
from chalicelib.storage import models

_THROTTLING = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "LimitExceededException",
}
_connection: Connection | None = None
IDEMPOTENCY_LABEL = "idempotency"


class ResponseRecord(Protocol):
    """What records a request's response in the transaction of its change (an Idempotency-Key's
    claim): set in `pending_response` by the HTTP layer, written by `Tx.commit(response=...)`."""

    completed: bool

    def complete_in(self, tx: Tx, response: Any) -> None: ...


pending_response: ContextVar[ResponseRecord | None] = ContextVar("pending_response", default=None)
log = logging.getLogger(__name__)


def init() -> None:
    """Bind the models to this container's settings, all sharing one connection (one client)."""
    global _connection
    settings = get_settings()
    models.bind(settings)
    shared = Connection(region=settings.region, host=settings.dynamodb_endpoint_url)
    for model in models.ALL_MODELS:
        # PynamoDB gives each model its own connection and so its own botocore client, which
        # costs a client creation per table on a cold start; one shared client serves them all.
        table = model._get_connection()
        shared.add_meta_table(table.get_meta_table())
        table.connection = shared
    _connection = shared


def ready() -> None:
    """Bind the models once per container (the first request or event does it)."""
    connection()


def connection() -> Connection:
    """The shared low-level connection (models and transactions), made once per container."""
    if _connection is None:
        init()
    assert _connection is not None
    return _connection


class TransactionCancelled(Exception):
    """A transaction's condition failed; `failed` names the items (by label) that caused it, and
    `items` holds, by label, what an item asked for with `return_old` was when its condition failed
    (None: it did not exist)."""

    def __init__(self, failed: list[str], items: dict[str, Any] | None = None) -> None:
        super().__init__(", ".join(failed) or "unknown")
        self.failed = failed
        self.items = items or {}


def aws_code(exc: BaseException) -> str | None:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, ClientError):
        return cause.response.get("Error", {}).get("Code")
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def _is_unreachable(exc: BaseException) -> bool:
    cause = getattr(exc, "cause", exc)
    return isinstance(cause, BotoCoreError)


@contextmanager
def guard() -> Iterator[None]:
    """Turn DynamoDB faults into API errors: 503 (with Retry-After) or 409 for a conflict."""
    try:
        yield
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        code = aws_code(exc)
        if code == "TransactionConflictException" or (
                code == "TransactionCanceledException" and _reasons_include(exc, "TransactionConflict")):
            raise Conflict("Another change to the same records is in progress; retry shortly.",
                           code="transaction_conflict", retry_after=1) from exc
        if code in _THROTTLING or code == "TransactionInProgressException" or _is_unreachable(exc) or (
                code == "TransactionCanceledException" and _reasons_include(exc, "ThrottlingError")):
            raise Unavailable("The data store is busy or unavailable; retry shortly.",
                              retry_after=2) from exc
        raise


def _reasons_include(exc: BaseException, reason_code: str) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    if isinstance(exc, ClientError):  # a call made on the client itself (raw.commit_items)
        return any(reason.get("Code") == reason_code
                   for reason in exc.response.get("CancellationReasons") or [])
    return any(reason is not None and reason.code == reason_code for reason in reasons)


@dataclass
class _Update:
    item: Model
    actions: list[Action]
    condition: Condition | None
    return_old: bool
    labels: list[str]


class Tx:
    """A TransactWrite whose items carry labels, so a cancellation names the failed item."""

    def __init__(self) -> None:
        self._tx = TransactWrite(connection=connection())
        self._labels: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}
        self._after_commit: list[Callable[[], None]] = []
        self._counts: dict[str, int] = {}
        # Updates by item, built at commit: two parts of one change that update one item become
        # one update with both actions and conditions (a transaction may not write it twice).
        self._updates: dict[tuple[Any, ...], _Update] = {}
        self._items: dict[Any, list[Model]] = {}  # what it puts or updates, by hash key, in order
        self.before_commit: list[Callable[[Tx], None]] = []  # run once, as the commit starts

    def items_of(self, hash_key: Any) -> list[Model]:
        return self._items.get(hash_key, [])

    def count(self, name: str, delta: int) -> None:
        """Add `delta` to a status counter; one transaction's counts go to one random shard in one
        update at commit (a transaction may not write an item twice)."""
        self._counts[name] = self._counts.get(name, 0) + delta

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (never if it does not)."""
        self._after_commit.append(callback)

    def check(self, label: str, model_cls: type[Model], hash_key: Any, range_key: Any = None,
              condition: Condition | None = None) -> None:
        """Require a condition on an item that is not written."""
        self._tx.condition_check(model_cls, hash_key, range_key, condition=condition)
        self._labels["check"].append(label)

    def put(self, label: str, item: Model, condition: Condition | None = None,
            return_old: bool = False) -> None:
        """Write a whole item (`return_old`: a failed condition returns what the item was)."""
        self._tx.save(item, condition=condition, return_values="ALL_OLD" if return_old else None)
        self._labels["put"].append(label)
        self._items.setdefault(getattr(item, item._hash_keyname), []).append(item)

    def update(self, label: str, item: Model, actions: list[Action],
               condition: Condition | None = None, return_old: bool = False) -> None:
        """Apply update actions to an item (keys taken from `item`; `return_old` as for put)."""
        key = (item.Meta.table_name, getattr(item, item._hash_keyname),
               getattr(item, item._range_keyname) if item._range_keyname else None)
        self._items.setdefault(key[1], []).append(item)
        pending = self._updates.get(key)
        if pending is None:
            self._updates[key] = _Update(item, list(actions), condition, return_old, [label])
            return
        pending.actions += actions
        if condition is not None:
            pending.condition = condition if pending.condition is None else pending.condition & condition
        pending.return_old = pending.return_old or return_old
        if label not in pending.labels:
            pending.labels.append(label)

    def commit(self, response: Any = None) -> None:
        """Write everything or nothing; raise TransactionCancelled naming failed conditions.
        `response` is what the request will answer: with an Idempotency-Key, it is recorded in
        this same transaction."""
        preparing, self.before_commit = self.before_commit, []
        for prepare in preparing:
            prepare(self)
        counts = {name: delta for name, delta in self._counts.items() if delta}
        if counts:
            self.update("counter", models.CounterModel(shard_key()),
                        [getattr(models.CounterModel, name).add(delta) for name, delta in counts.items()])
            self._counts = {}
        claim = pending_response.get()
        if claim is None or response is None or claim.completed:
            claim = None
        else:
            claim.complete_in(self, response)
        for update in self._updates.values():
            self._tx.update(update.item, update.actions, condition=update.condition,
                            return_values="ALL_OLD" if update.return_old else None)
            self._labels["update"].append("+".join(update.labels))
        self._updates = {}
        ordered = (self._labels["check"] + self._labels["delete"] + self._labels["put"]
                   + self._labels["update"])
        try:
            with guard():
                self._tx._commit()
            if claim is not None:
                claim.completed = True
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            failed = [one for label, reason in zip(ordered, reasons)
                      if reason is not None and reason.code == "ConditionalCheckFailed"
                      for one in label.split("+")]
            if failed == [IDEMPOTENCY_LABEL]:
                raise Conflict("Another request with this Idempotency-Key took over; nothing was "
                               "changed.", code="idempotency_in_progress", retry_after=1) from exc
            failed = [label for label in failed if label != IDEMPOTENCY_LABEL]
            if failed:
                items = {one: reason.raw_item for label, reason in zip(ordered, reasons)
                         if reason is not None and reason.code == "ConditionalCheckFailed"
                         for one in label.split("+")}
                raise TransactionCancelled(failed, items) from exc
            raise
        for callback in self._after_commit:
            try:
                callback()
            except Exception:  # the change is committed; reporting it must not fail the request
                log.exception("an after-commit callback failed")


def commit_or_skip(tx: Tx, entity_id: str) -> bool:
    """Commit a job's step; False (logged, nothing done) when a condition failed because someone
    else (a user, an admin, another run of the jobs) changed the item first."""
    try:
        tx.commit()
    except TransactionCancelled as exc:
        log.info("%s changed meanwhile (%s); skipped", entity_id, ", ".join(exc.failed))
        return False
    return True


def transact_get(*keys: tuple[Any, ...]) -> list[Any]:
    """Read items of several tables in one round trip: (model, hash[, range]) each; missing is None."""
    if not keys:
        return []
    with guard():
        with TransactGet(connection=connection()) as tx:
            futures = [tx.get(key[0], *key[1:]) for key in keys]
    results: list[Model | None] = []
    for future in futures:
        try:
            results.append(future.get())
        except future._model_cls.DoesNotExist:
            results.append(None)
    return results


_MAX_KEY_BYTES = 1024  # DynamoDB refuses keys over 2048 bytes; no id of ours comes near


def _key_too_long(*keys: Any) -> bool:
    return any(isinstance(k, str) and len(k.encode()) > _MAX_KEY_BYTES for k in keys)


def get(model_cls: type[Model], hash_key: Any, range_key: Any = None,
        consistent: bool = False) -> Any:
    """One item, or None (also for a key too long to exist, which DynamoDB would refuse)."""
    if _key_too_long(hash_key, range_key):
        return None
    with guard():
        try:
            return model_cls.get(hash_key, range_key, consistent_read=consistent)
        except model_cls.DoesNotExist:
            return None


def shard_key() -> str:
    """A random status-counter shard, so that no one item serializes every write."""
    return f"status#{random.randrange(get_settings().counter_shards)}"


def shard_keys() -> list[str]:
    """Every status-counter shard."""
    return [f"status#{n}" for n in range(get_settings().counter_shards)]


def spread(prefix: str, entity_id: str) -> str:
    """The sharded key of a sparse index that would otherwise hold one value for every item (open
    invoices, the approval queue, the outbox, the due lists): `<prefix>#<n>`, n from a stable hash
    of the id, so writes spread over INDEX_SHARDS partitions. Raise INDEX_SHARDS, never lower it:
    items keep the key they were written with."""
    return f"{prefix}#{zlib.crc32(entity_id.encode()) % get_settings().index_shards}"


def spreads(prefix: str) -> list[str]:
    """Every shard of a sparse index's key (query each, merge)."""
    return [f"{prefix}#{n}" for n in range(get_settings().index_shards)]


def next_sequence(counter_id: str) -> int:
    """Atomically increment a counter and return its new value."""
    counter = models.CounterModel(counter_id)
    with guard():
        counter.update(actions=[models.CounterModel.value.add(1)])
    return int(counter.value)


# Cursors -----------------------------------------------------------------------------------


def encode_cursor(key: dict[str, str]) -> str:
    """An opaque cursor for the key of the last item returned."""
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: dict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """Decode a cursor into an ExclusiveStartKey; its fixed parts must match `expected`."""
    if len(cursor) > 2048:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc
    if (not isinstance(key, dict) or set(key) != set(fields)
            or not all(isinstance(v, str) and v for v in key.values())
            or any(key.get(name) != value for name, value in expected.items())):
        raise BadRequest("The cursor is not valid.", code="invalid_cursor")
    return {name: {"S": value} for name, value in key.items()}


def page(query: Any, limit: int, key_fields: tuple[str, ...]) -> tuple[list[Any], str | None]:
    """Take up to `limit` items from a query made with limit+1; cursor if more remain."""
    with guard():
        items = list(query)
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    last = items[-1]
    return items, encode_cursor({name: getattr(last, name) for name in key_fields})


def merged_page(index: Any, prefix: str, sort_attr: str, id_attr: str, limit: int,
                cursor: str | None, range_condition: Any = None,
                filter_condition: Any = None) -> tuple[list[Any], str | None]:
    """One page, ascending by (`sort_attr`, `id_attr`), of a sparse index sharded by `spread`:
    every shard is queried from the cursor on and the results merged. The cursor names the last
    item returned, so ties of `sort_attr` across a page boundary are neither lost nor repeated."""
    after: tuple[str, str] | None = None
    if cursor:
        key = decode_cursor(cursor, {}, (sort_attr, id_attr))
        after = (key[sort_attr]["S"], key[id_attr]["S"])
    sort_field = getattr(index._model, sort_attr)
    items: list[Any] = []
    for shard in spreads(prefix):
        condition = sort_field >= after[0] if after else range_condition
        items += _shard_items(index.query(shard, condition, filter_condition=filter_condition,
                                          scan_index_forward=True, page_size=limit + 1),
                              sort_attr, id_attr, after, limit + 1)
    items.sort(key=lambda item: (getattr(item, sort_attr), getattr(item, id_attr)))
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    last = items[-1]
    return items, encode_cursor({sort_attr: getattr(last, sort_attr), id_attr: getattr(last, id_attr)})


def _shard_items(query: Any, sort_attr: str, id_attr: str, after: tuple[str, str] | None,
                 wanted: int) -> list[Any]:
    """Up to `wanted` items of one shard after `after`, plus every item tied with the last one
    (an index orders ties arbitrarily, so the page is cut only where the sort value changes)."""
    taken: list[Any] = []
    with guard():
        for item in query:
            position = (getattr(item, sort_attr), getattr(item, id_attr))
            if after and position <= after:
                continue
            if len(taken) >= wanted and position[0] != getattr(taken[-1], sort_attr):
                break
            taken.append(item)
    return taken
