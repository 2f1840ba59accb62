"""`credits.low` and `credits.exhausted`: the events of a consumption, put in its own transaction.

A consumption is written in DynamoDB's JSON (chalicelib.credits.wire), not through a Tx, so its
events are too: the same item `events.add` would write, under the same condition, in the same one
call. Each event's id derives from the consumption's ledger entry, so a retry of the consumption
(same Idempotency-Key) never makes a second one, and a consumption makes one only if it committed.

- `credits.low`: the allowance falls below a tenth of what it started at (`allowance_granted`),
  crossing the line in this consumption (a release that lifts it back and a later consumption that
  crosses again is another change, and another event);
- `credits.exhausted`: the account's credits (allowance and extra) reach zero.

This module is imported only when a consumption crosses one of the lines.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.storage import store
from chalicelib.storage.models.webhooks import WebhookEventModel
from chalicelib.webhooks.events import FANOUT

LOW_FRACTION = 10  # credits.low: below 1/LOW_FRACTION of the allowance granted


def crossed(*, granted: int | None, allowance_before: int, credits_before: int,
            allowance_after: int, credits_after: int) -> list[str]:
    """The credit events a change of the buckets from before to after makes."""
    types = []
    if granted and allowance_before * LOW_FRACTION >= granted > allowance_after * LOW_FRACTION:
        types.append("credits.low")
    if credits_before > 0 and credits_after == 0:
        types.append("credits.exhausted")
    return types


def event_id_of(entry_id: str, event_type: str) -> str:
    return "evt_" + hashlib.sha256(f"{event_type}|ledger|{entry_id}".encode()).hexdigest()[:24]


def items(types: list[str], *, account_id: str, entry_id: str, at: str, granted: int | None,
          allowance: int, extra: int, consumed: int) -> list[tuple[str, dict[str, Any]]]:
    """The labelled transaction items (DynamoDB JSON) that put the events of `types`."""
    made = []
    for event_type in types:
        event_id = event_id_of(entry_id, event_type)
        data = {"account_id": account_id, "object": "account", "id": account_id,
                "action": "credits_consumed", "entry_id": entry_id, "consumed": consumed,
                "credits": allowance + extra, "credit_buckets": {"allowance": allowance, "extra": extra},
                "allowance_granted": granted}
        event = WebhookEventModel(account_id, event_id, type=event_type, created_at=at,
                                  data=json.dumps(data, sort_keys=True),
                                  fanout=store.spread(FANOUT, event_id))
        made.append((f"event:{event_id}", {"Put": {
            "TableName": WebhookEventModel.Meta.table_name, "Item": event.serialize(),
            "ConditionExpression": "attribute_not_exists(#id)",
            "ExpressionAttributeNames": {"#id": "event_id"}}}))
    return made
