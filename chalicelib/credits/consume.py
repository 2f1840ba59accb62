"""Using credits from the SaaS's backend: consume and release, synchronous, exact, never below zero.

A consumption is one conditional transaction (written in DynamoDB's JSON by `wire`, the hottest
path of the product): the account's buckets are set to their new values
(the allowance first, then `extra`) on the condition that they are still what this container last
saw, and the ledger entry, whose id derives from the service key and the Idempotency-Key, is put on
the condition that it does not exist. So:

- with the key cached and the account as this container last saw it (its own last consumption, or
  a read), it is **one DynamoDB call**, and the response's balance is exact;
- if another container changed the account meanwhile, the failed condition returns the account as
  it is now (ReturnValuesOnConditionCheckFailure), and the next attempt uses that: one more call
  per concurrent change, never a wrong balance; the balance cannot go below zero because the new
  values are computed from the ones the condition guarantees;
- a retry with the same Idempotency-Key finds its entry (returned by the same failed condition) and
  answers the first response, changing nothing;
- a refusal (too few credits, an account that cannot use them) is never decided on a remembered
  view alone: before refusing, the account and the entry are read (one TransactGetItems), so a
  grant, a top-up or an approval another request made is seen, and a retry of a consumption that
  took the last credits answers its first response rather than `insufficient_credits`.

The condition names the allowance's `allowance_since` too: a new period's allowance of the same size
as the old one's remainder is another allowance, and a consumption records which one it took from.

A release puts a second entry whose id derives from the consumption's (so a consumption is given
back once), returning what it took to the buckets it came from; the allowance part only if that
allowance has not expired since (a new period's allowance is not raised by an old period's use).
"""
from __future__ import annotations

import hashlib
import json
import random
import time
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from chalicelib.api import idempotency
from chalicelib.core.clock import stamp
from chalicelib.core.errors import BadRequest, Conflict, Invalid, NotFound
from chalicelib.core.validation import Int, Text, validate
from chalicelib.credits import service_keys, wire
from chalicelib.credits.ledger import ALLOWANCE, EXTRA
from chalicelib.credits.service_keys import ServiceCaller
from chalicelib.storage import raw, store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.records import CreditLedgerModel
from chalicelib.storage.store import TransactionCancelled

USABLE = ("trial", "active", "past_due")
BOTH = "both"  # the bucket of an entry that moved both (its taken_allowance and taken_extra say how)
MAX_ATTEMPTS = 32  # each attempt after the first follows a change another request committed
KEY_MARKER = "service_key_use"  # the transaction item that makes a key one account's, once
KEY_RETENTION = 24 * 3600  # how long a key is remembered across accounts (its entry: for ever)
_VIEW_LIMIT = 10_000

CONSUME = {
    "account_id": Text(required=True, max_len=64, doc="The customer account to charge."),
    "amount": Int(required=True, minimum=1, maximum=1_000_000_000,
                  doc="Credits to use: a whole number from 1 to 1,000,000,000."),
    "reason": Text(required=True, max_len=200, doc="What they were used for (shown to the customer)."),
}
RELEASE = {"entry_id": Text(required=True, max_len=400, doc="The `entry_id` a consume returned.")}


@dataclass(frozen=True)
class View:
    """An account's credit state as this container last saw it committed."""

    status: str
    allowance: int
    extra: int
    since: str | None
    granted: int | None = None  # what the allowance started at (credits.low)

    @property
    def credits(self) -> int:
        return self.allowance + self.extra


_views: dict[str, View] = {}
_turns: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def _remember(account_id: str, view: View | None) -> None:
    with _lock:
        if view is None:
            _views.pop(account_id, None)
            return
        if len(_views) >= _VIEW_LIMIT:
            _views.clear()
        _views[account_id] = view


def _view_of(account: AccountModel) -> View:
    extra = account.extra or 0
    allowance = account.allowance if account.allowance is not None else account.credits - extra
    return View(account.status, allowance, extra, account.allowance_since, account.allowance_granted)


def _view_from_raw(raw: dict[str, Any] | None) -> View | None:
    return None if not raw else _view_of(AccountModel.from_raw_data(raw))


def _current(account_id: str) -> View | None:
    with _lock:
        view = _views.get(account_id)
    if view is not None:
        return view
    account = store.get(AccountModel, account_id, consistent=True)
    view = _view_of(account) if account else None
    _remember(account_id, view)
    return view


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def required_key(headers: Any) -> str:
    key = idempotency.read_key(headers)
    if key is None:
        raise BadRequest("This route needs an Idempotency-Key header (one per unit of work), so "
                         "that a retry never charges twice.", code="idempotency_key_required")
    return key


def _replay(raw: dict[str, Any] | None, fingerprint: str) -> dict[str, Any]:
    return _replay_entry(CreditLedgerModel.from_raw_data(raw) if raw else None, fingerprint)


def _replay_entry(entry: CreditLedgerModel | None, fingerprint: str) -> dict[str, Any]:
    if entry is None or entry.fingerprint != fingerprint or not entry.response:
        raise Invalid("This Idempotency-Key was used with another request.",
                      code="idempotency_key_reused")
    return json.loads(entry.response)


def _bucket(allowance: int, extra: int) -> str:
    """The `bucket` of an entry that moved these amounts ("both" when it moved both)."""
    return BOTH if allowance and extra else (EXTRA if extra else ALLOWANCE)


def _buckets(allowance: int, extra: int) -> dict[str, int]:
    return {"allowance": allowance, "extra": extra}


def _turn(account_id: str) -> threading.Lock:
    """The lock that makes one container's consumptions of one account take turns (a container
    serving many at once, as the dev server does, would otherwise race itself: each would start
    from the same view and all but one retry). Across containers the conditions decide."""
    with _lock:
        lock = _turns.get(account_id)
        if lock is None:
            lock = _turns[account_id] = threading.Lock()
        return lock


def consume(caller: ServiceCaller, key: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Use credits of an account; (response, replayed)."""
    data = validate(body, CONSUME)
    with _turn(data["account_id"]):
        return _consume(caller, key, data)


def _consume(caller: ServiceCaller, key: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    account_id, amount = data["account_id"], data["amount"]
    entry_id = f"consume#{account_id}#{caller.key_id}#{key}"
    fingerprint = _fingerprint("consume", account_id, amount, data["reason"])
    view = _current(account_id)
    checked = False  # the view and the entry's absence were read from the store
    for attempt in range(MAX_ATTEMPTS):
        refusal = _refusal(view, amount)
        if refusal is not None:
            if checked:
                raise refusal
            # Not on a remembered view: read the account as it is, and this key's entry
            account, entry = store.transact_get((AccountModel, account_id),
                                                (CreditLedgerModel, account_id, entry_id))
            if entry is not None:
                return _replay_entry(entry, fingerprint), True
            view, checked = (_view_of(account) if account else None), True
            _remember(account_id, view)
            continue
        assert view is not None
        taken_allowance = min(amount, view.allowance)
        taken_extra = amount - taken_allowance
        allowance, extra = view.allowance - taken_allowance, view.extra - taken_extra
        at = stamp()
        response = {"entry_id": entry_id, "account_id": account_id, "consumed": amount,
                    "credits": allowance + extra, "credit_buckets": _buckets(allowance, extra)}
        labelled = [
            ("account", wire.account_update(
                account_id, status=view.status, credits=view.credits, extra=view.extra,
                since=view.since, allowance_to=allowance, extra_to=extra)),
            (f"ledger:{entry_id}", wire.ledger_put(wire.item(
                account_id=account_id, entry_id=entry_id, amount=-amount,
                bucket=_bucket(taken_allowance, taken_extra), reason="consumed",
                reference=data["reason"], actor=f"service_key:{caller.name}", created_at=at,
                balance_after=allowance + extra, ordered_at=f"{at}#00",
                created_month=store.spread(at[:7], f"{account_id}#{entry_id}"),
                taken_allowance=taken_allowance, taken_extra=taken_extra,
                allowance_since=view.since, fingerprint=fingerprint,
                response=json.dumps(response)))),
            (KEY_MARKER, wire.key_marker_put(f"service:{caller.key_id}#{key}", fingerprint=fingerprint,
                                             claim_id=entry_id, keep_seconds=KEY_RETENTION))]
        if service_keys.use_to_note(caller):
            labelled.append(("service_key", wire.key_used(caller.key_id, at)))
        labelled.extend(_events(view, account_id, entry_id, at, allowance, extra, amount))
        try:
            raw.commit_items(labelled)
        except TransactionCancelled as exc:
            if f"ledger:{entry_id}" in exc.failed:
                return _replay(exc.items.get(f"ledger:{entry_id}"), fingerprint), True
            if KEY_MARKER in exc.failed:  # the key was used for another account
                raise Invalid("This Idempotency-Key was used with another request.",
                              code="idempotency_key_reused") from exc
            if "account" not in exc.failed:
                raise
            view = _view_from_raw(exc.items.get("account"))
            checked = True  # as it is now, and the entry was not there
            _remember(account_id, view)
            _back_off(attempt)
            continue
        _remember(account_id, View(view.status, allowance, extra, view.since, view.granted))
        return response, False
    raise Conflict("The account is changing too fast; retry with the same Idempotency-Key.",
                   code="transaction_conflict", retry_after=1)


def _events(view: View, account_id: str, entry_id: str, at: str, allowance: int, extra: int,
            amount: int) -> list[tuple[str, dict[str, Any]]]:
    """The credits.low / credits.exhausted events of this consumption, if it crosses a line: in its
    own transaction, so the call count stays one (chalicelib.webhooks.credit_events, loaded on
    the first consumption rather than at cold start)."""
    from chalicelib.webhooks import credit_events

    types = credit_events.crossed(granted=view.granted, allowance_before=view.allowance,
                                  credits_before=view.credits, allowance_after=allowance,
                                  credits_after=allowance + extra)
    return credit_events.items(types, account_id=account_id, entry_id=entry_id, at=at,
                               granted=view.granted, allowance=allowance, extra=extra,
                               consumed=amount) if types else []


def _back_off(attempt: int) -> None:
    """A short random wait after losing a race on the account, growing with the losses, so that
    many requests on one account do not all retry at once."""
    time.sleep(random.uniform(0, min(0.05, 0.002 * 2 ** attempt)))


def credits_usable(status: str) -> bool:
    """Whether an account in `status` may use its credits (the others are `account_not_active`;
    entitlements' `can_use_credits` says the same)."""
    return status in USABLE


def _refusal(view: View | None, amount: int) -> Exception | None:
    """Why `view` cannot give `amount` credits, or None."""
    if view is None:
        return NotFound("No such account.", code="account_not_found")
    if not credits_usable(view.status):
        return Conflict(f"The account is {view.status}: its credits cannot be used.",
                        code="account_not_active", details={"status": view.status})
    if view.credits < amount:
        return Conflict(f"The account has {view.credits} credits; {amount} were asked for.",
                        code="insufficient_credits", details={"credits": view.credits})
    return None


def release(caller: ServiceCaller, key: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Give a consumption back, once, to the buckets it came from; (response, replayed)."""
    consumed_id = validate(body, RELEASE)["entry_id"]
    parts = consumed_id.split("#", 3)
    if len(parts) != 4 or parts[0] != "consume" or parts[2] != caller.key_id:
        raise NotFound("No consumption of this service key has this entry_id.", code="entry_not_found")
    account_id = parts[1]
    consumed = store.get(CreditLedgerModel, account_id, consumed_id)
    if consumed is None:
        raise NotFound("No consumption has this entry_id.", code="entry_not_found")
    entry_id = f"release#{consumed_id}"
    fingerprint = _fingerprint("release", consumed_id, key)
    view = _current(account_id)
    for _ in range(MAX_ATTEMPTS):
        if view is None:
            raise NotFound("No such account.", code="account_not_found")
        revived = consumed.taken_allowance or 0
        if view.since != consumed.allowance_since:
            revived = 0  # that allowance has expired since: it is not raised again
        back_extra = consumed.taken_extra or 0
        allowance, extra = view.allowance + revived, view.extra + back_extra
        at = stamp()
        response = {"entry_id": entry_id, "released_entry_id": consumed_id, "account_id": account_id,
                    "released": revived + back_extra, "credits": allowance + extra,
                    "credit_buckets": _buckets(allowance, extra)}
        labelled = [
            ("account", wire.account_update(
                account_id, status=view.status, credits=view.credits, extra=view.extra,
                since=view.since, allowance_to=allowance, extra_to=extra)),
            (f"ledger:{entry_id}", wire.ledger_put(wire.item(
                account_id=account_id, entry_id=entry_id, amount=revived + back_extra,
                bucket=_bucket(revived, back_extra), reason="released", reference=consumed_id,
                actor=f"service_key:{caller.name}", created_at=at, balance_after=allowance + extra,
                ordered_at=f"{at}#00", created_month=store.spread(at[:7], f"{account_id}#{entry_id}"),
                taken_allowance=revived, taken_extra=back_extra,
                fingerprint=fingerprint, response=json.dumps(response))))]
        try:
            raw.commit_items(labelled)
        except TransactionCancelled as exc:
            if f"ledger:{entry_id}" in exc.failed:
                try:
                    return _replay(exc.items.get(f"ledger:{entry_id}"), fingerprint), True
                except Invalid:
                    raise Conflict("This consumption was already released.",
                                   code="already_released") from None
            if "account" not in exc.failed:
                raise
            view = _view_from_raw(exc.items.get("account"))
            _remember(account_id, view)
            continue
        _remember(account_id, View(view.status, allowance, extra, view.since, view.granted))
        return response, False
    raise Conflict("The account is changing too fast; retry with the same Idempotency-Key.",
                   code="transaction_conflict", retry_after=1)

