"""Audit events, written inside the transaction of the change they record (and, from them, the
change's webhook events: chalicelib.webhooks.events)."""
from __future__ import annotations

import secrets
from functools import partial

from chalicelib.core import telemetry
from chalicelib.storage.models.records import AuditEventModel
from chalicelib.storage.store import Tx


def add_audit(tx: Tx, *, entity_type: str, entity_id: str, action: str, from_status: str | None,
              to_status: str, actor: str, at: str, notes: str | None = None) -> None:
    """Record one state change in the same transaction that makes it (and log it once committed)."""
    event = AuditEventModel(entity_id, f"{at}#{secrets.token_hex(4)}", entity_type=entity_type,
                            action=action, from_status=from_status, to_status=to_status,
                            actor=actor, notes=notes, at=at)
    tx.put(f"audit:{entity_id}", event, condition=AuditEventModel.event_id.does_not_exist())
    from chalicelib.reports import aggregates  # the reports' figures of the change, at commit
    from chalicelib.webhooks import events  # the webhook events of the change, made at commit

    change = events.Change(entity_type, entity_id, action, from_status, to_status, at)
    events.note(tx, change)
    aggregates.note(tx, change)
    tx.after_commit(partial(telemetry.state_change, entity_type=entity_type, entity_id=entity_id,
                            action=action, from_status=from_status, to_status=to_status,
                            actor=actor, at=at))
