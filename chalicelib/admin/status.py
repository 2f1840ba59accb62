"""The admin's overview: status counters and the emails given up on."""
from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.notifications.views import notification_view
from chalicelib.storage import outbox, store
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.records import CounterModel

ACCOUNT_STATUSES = ("trial", "pending_payment", "active", "past_due", "suspended", "expired",
                    "cancelled")


_PARKED_KEY = ("message_id", "parked", "parked_at")


def system_status() -> dict[str, Any]:
    """The seed's System Status, summed from counter shards (no table is counted by scanning)."""
    keys = ["reference", *store.shard_keys()]
    with store.guard():
        counters = list(CounterModel.batch_get(keys))
    def total(name: str) -> int:
        return sum(getattr(c, name) or 0 for c in counters)
    accounts = {status: total(f"accounts_{status}") for status in ACCOUNT_STATUSES}
    return {"plans_configured": total("plans_configured"),
            "payment_methods_enabled": total("payment_methods_enabled"),
            "accounts": {**accounts, "total": sum(accounts.values())},
            "payments_pending_approval": total("payments_pending_approval")}


def failed_notifications(status: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """Emails parked after too many failed attempts, newest first (a sparse index, no scan)."""
    if status not in (None, "", outbox.FAILED):
        raise BadRequest("status must be failed (emails given up on after repeated failures).",
                         code="invalid_query", details={"fields": {"status": "unsupported value"}})
    start = store.decode_cursor(cursor, {"parked": outbox.PARKED}, _PARKED_KEY) if cursor else None
    query = OutboxModel.failed.query(outbox.PARKED, scan_index_forward=False, limit=limit + 1,
                                     last_evaluated_key=start)
    messages, next_cursor = store.page(query, limit, _PARKED_KEY)
    return {"items": [notification_view(message) for message in messages], "next_cursor": next_cursor}
