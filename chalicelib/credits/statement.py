"""Where an account's credits went: its buckets, when the allowance resets, the ledger newest first
with the balance after each entry, the use per day of the current and the previous period; and the
admin's grants and corrections, audited, never below zero."""
from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.accounts.views import account_view
from chalicelib.billing.periods import period
from chalicelib.billing.views import subscription_view
from chalicelib.core.clock import parse_stamp, public_time, stamp
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.validation import Int, Text, validate
from chalicelib.credits.ledger import ALLOWANCE, EXTRA, Buckets, buckets
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import SubscriptionModel
from chalicelib.storage.models.records import CreditLedgerModel
from chalicelib.storage.store import TransactionCancelled, Tx

_PAGE_KEY = ("account_id", "entry_id", "ordered_at")
USE = ("consumed", "released")

GRANT = {
    "amount": Int(required=True, minimum=-1_000_000_000, maximum=1_000_000_000, nonzero=True,
                  doc="Credits to add (positive) or take away (negative); never below zero."),
    "bucket": Text(required=True, max_len=20, schema={"enum": [ALLOWANCE, EXTRA]},
                   check=lambda b: b if b in (ALLOWANCE, EXTRA) else None,
                   check_message="must be allowance or extra",
                   doc="`extra` never expires; `allowance` is reset at the period's end."),
    "reason": Text(required=True, max_len=500, doc="Why (kept in the ledger and the audit trail)."),
}


def entry_view(entry: CreditLedgerModel) -> dict[str, Any]:
    return {"id": entry.entry_id, "amount": entry.amount, "bucket": entry.bucket or ALLOWANCE,
            "reason": entry.reason, "reference": entry.reference,
            "created_at": public_time(entry.created_at), "balance_after": entry.balance_after}


def _periods(account: AccountModel, sub: SubscriptionModel | None) -> list[tuple[datetime, datetime]]:
    """The current and the previous period (or the trial)."""
    if sub is not None and sub.anchor and sub.period is not None and sub.status != "pending_payment":
        anchor = parse_stamp(sub.anchor)
        return [period(anchor, n) for n in (sub.period, sub.period - 1) if n >= 0]
    if account.trial_ends_at:
        ends = parse_stamp(account.trial_ends_at)
        return [(parse_stamp(account.created_at), ends)]
    return []


def _usage(account_id: str, span: tuple[datetime, datetime] | None) -> dict[str, Any] | None:
    if span is None:
        return None
    start, end = span
    with store.guard():
        entries = list(CreditLedgerModel.by_time.query(
            account_id, CreditLedgerModel.ordered_at.between(stamp(start), stamp(end)),
            filter_condition=CreditLedgerModel.reason.is_in(*USE)))
    used: Counter[str] = Counter()
    for entry in entries:
        used[entry.created_at[:10]] -= entry.amount
    days, day, last = [], start.date(), (end - timedelta(microseconds=1)).date()
    while day <= last:
        days.append({"date": day.isoformat(), "consumed": used.get(day.isoformat(), 0)})
        day += timedelta(days=1)
    return {"start": public_time(stamp(start)), "end": public_time(stamp(end)), "days": days}


def statement(account: AccountModel, limit: int, cursor: str | None) -> dict[str, Any]:
    """The account's credits, a page of its ledger (newest first) and its use per day."""
    sub = store.get(SubscriptionModel, account.subscription_id) if account.subscription_id else None
    start = store.decode_cursor(cursor, {"account_id": account.account_id}, _PAGE_KEY) if cursor else None
    query = CreditLedgerModel.by_time.query(account.account_id, scan_index_forward=False,
                                            limit=limit + 1, last_evaluated_key=start)
    entries, next_cursor = store.page(query, limit, _PAGE_KEY)
    allowance, extra = buckets(account)
    expires = None
    if account.status == "active" and sub is not None and sub.status == "active":
        expires = sub.current_period_end
    elif account.status == "trial":
        expires = account.trial_ends_at
    spans = _periods(account, sub)
    return {"credits": account.credits, "credit_buckets": {"allowance": allowance, "extra": extra},
            "allowance_expires_at": public_time(expires),
            "items": [entry_view(e) for e in entries], "next_cursor": next_cursor,
            "usage": {"current": _usage(account.account_id, spans[0] if spans else None),
                      "previous": _usage(account.account_id, spans[1] if len(spans) > 1 else None)}}


def own_statement(principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
    account = store.get(AccountModel, principal.account_id)
    if account is None:
        raise NotFound("No such account.", code="account_not_found")
    return statement(account, limit, cursor)


def admin_account(account_id: str) -> dict[str, Any]:
    """An account as the admin console shows it: with its subscription and its credits."""
    account = store.get(AccountModel, account_id)
    if account is None:
        raise NotFound("No such account.", code="account_not_found")
    sub = store.get(SubscriptionModel, account.subscription_id) if account.subscription_id else None
    return {"account": account_view(account), "subscription": subscription_view(sub),
            "credits": statement(account, 25, None)}


def grant(admin: Principal, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Add or take away credits of one bucket, with a reason; never below zero."""
    data = validate(body, GRANT)
    account = store.get(AccountModel, account_id)
    if account is None:
        raise NotFound("No such account.", code="account_not_found")
    amount, bucket = data["amount"], data["bucket"]
    at = stamp()
    tx = Tx()
    credits = Buckets(tx, account, actor=admin.email, at=at)
    held = credits.allowance if bucket == ALLOWANCE else credits.extra
    if held + amount < 0:
        raise Conflict(f"The {bucket} bucket holds {held} credits; it cannot go below zero.",
                       code="insufficient_credits", details={"credits": account.credits, bucket: held})
    entry_id = f"admin#{at}#{secrets.token_hex(4)}"
    entry = credits.move(bucket, amount, entry_id=entry_id,
                         reason="admin_grant" if amount > 0 else "admin_correction",
                         reference=data["reason"])
    tx.update("account", account, [*credits.actions(), AccountModel.updated_at.set(at)],
              condition=credits.condition() & (AccountModel.status == account.status))
    add_audit(tx, entity_type="account", entity_id=account_id,
              action="credits_granted" if amount > 0 else "credits_corrected",
              from_status=account.status, to_status=account.status, actor=admin.email, at=at,
              notes=f"{amount:+d} {bucket}: {data['reason']}")
    response = {"entry": entry_view(entry), "account": account_view(account)}
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        raise Conflict("The account's credits changed meanwhile; nothing was changed.",
                       code="state_conflict", details={"failed": exc.failed}) from exc
    return response
