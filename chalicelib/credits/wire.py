"""A consumption's or release's transaction written in DynamoDB's own JSON.

These are the hottest writes of the product (a SaaS's backend calls consume once per unit of work),
and building them through PynamoDB's models and expression builder costs more than the client side
of the call itself. The items are the ones the models would write: `tests/credits/test_wire.py`
compares each with the model's own serialization and condition.
"""
from __future__ import annotations

import time
from typing import Any

from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.platform import IdempotencyModel, ServiceKeyModel
from chalicelib.storage.models.records import CreditLedgerModel

Item = dict[str, dict[str, str]]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def item(**fields: str | int | None) -> Item:
    """An item's attributes (strings and whole numbers; None is left out, as a model does)."""
    return {name: _n(value) if isinstance(value, int) else _s(value)
            for name, value in fields.items() if value is not None}


def account_update(account_id: str, *, status: str, credits: int, extra: int, since: str | None,
                   allowance_to: int, extra_to: int) -> dict[str, Any]:
    """Set the account's buckets on the condition that it is exactly as read: the same status,
    credits, extra and allowance (`allowance_since`); a failed condition returns the account."""
    values = {":a": _n(allowance_to), ":e": _n(extra_to), ":c": _n(allowance_to + extra_to),
              ":rs": _s(status), ":rc": _n(credits)}
    names = {"#a": "allowance", "#e": "extra", "#c": "credits", "#s": "status",
             "#since": "allowance_since"}
    if extra:
        values[":re"] = _n(extra)
        extra_is = "#e = :re"
    else:
        values[":zero"] = _n(0)
        extra_is = "(#e = :zero OR attribute_not_exists(#e))"
    if since:
        values[":since"] = _s(since)
        since_is = "#since = :since"
    else:
        since_is = "attribute_not_exists(#since)"
    return {"Update": {
        "TableName": AccountModel.Meta.table_name, "Key": {"account_id": _s(account_id)},
        "UpdateExpression": "SET #a = :a, #e = :e, #c = :c",
        "ConditionExpression": f"#s = :rs AND #c = :rc AND {extra_is} AND {since_is}",
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


def ledger_put(entry: Item) -> dict[str, Any]:
    """Put a ledger entry that must not exist yet; a failed condition returns the one that does."""
    return {"Put": {"TableName": CreditLedgerModel.Meta.table_name, "Item": entry,
                    "ConditionExpression": "attribute_not_exists(#id)",
                    "ExpressionAttributeNames": {"#id": "entry_id"},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


def key_marker_put(record_id: str, *, fingerprint: str, claim_id: str, keep_seconds: int) -> dict[str, Any]:
    """The completed idempotency record that makes a service key's Idempotency-Key one account's."""
    record = item(record_id=record_id, fingerprint=fingerprint, status="completed",
                  claim_id=claim_id, locked_until=0, expires_at=int(time.time()) + keep_seconds)
    return {"Put": {"TableName": IdempotencyModel.Meta.table_name, "Item": record,
                    "ConditionExpression": "attribute_not_exists(#id)",
                    "ExpressionAttributeNames": {"#id": "record_id"}}}


def key_used(key_id: str, at: str) -> dict[str, Any]:
    """Record a service key's use, unless it was revoked meanwhile."""
    return {"Update": {
        "TableName": ServiceKeyModel.Meta.table_name, "Key": {"key_id": _s(key_id)},
        "UpdateExpression": "SET #u = :u", "ConditionExpression": "attribute_not_exists(#r)",
        "ExpressionAttributeNames": {"#u": "last_used_at", "#r": "revoked_at"},
        "ExpressionAttributeValues": {":u": _s(at)}}}
