"""The events webhooks report, made from the audit trail of a change as its transaction commits.

Every state change writes an audit event in its own transaction (storage.audit); the first one of
a transaction registers `emit` to run as the commit starts, which turns the transaction's audit
records into events and puts them in the same transaction. So an event exists once, and only if
its change committed, and no request makes a DynamoDB call more for it. Its id is derived from
the change (entity, action, status, time): the same change can never make two events.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.clock import public_time
from chalicelib.core.money import format_minor
from chalicelib.storage import store
from chalicelib.storage.models.webhooks import WebhookEventModel
from chalicelib.storage.commit_hooks import collected
from chalicelib.storage.store import Tx

NOTED = "webhook_changes"  # what a transaction collects for `emit`
FANOUT = "fanout"  # the prefix of `fanout` (the pending_fanout index's key; store.spread)
_INVOICE_CREATED = ("created", "renewal_issued", "upgrade_requested")
_PAYMENT = {"submitted": "payment.submitted", "approved": "payment.approved",
            "rejected": "payment.rejected", "reversed": "payment.reversed"}
_SUBSCRIPTION_ENDS = {"past_due": "subscription.past_due", "suspended": "subscription.suspended",
                      "cancelled": "subscription.cancelled"}


@dataclass(frozen=True)
class Change:
    entity_type: str
    entity_id: str
    action: str
    from_status: str | None
    to_status: str
    at: str
    details: dict[str, Any] = field(default_factory=dict)  # more of the event's `data`


def types_of(change: Change) -> list[str]:
    """The event types a change reports (none for most: notes, first approvals, ...)."""
    kind, action, before, after = change.entity_type, change.action, change.from_status, change.to_status
    if kind == "account":
        if before is None:
            return ["account.created"]
        return ["account.status_changed"] if before != after else []
    if kind == "subscription":
        types = []
        if action == "period_started":
            types.append("subscription.renewed")
        elif after == "active" and before != "active":
            types.append("subscription.activated")
        if action == "plan_changed":
            types.append("subscription.plan_changed")
        if after in _SUBSCRIPTION_ENDS and before != after:
            types.append(_SUBSCRIPTION_ENDS[after])
        return types
    if kind == "invoice":
        if before is None and action in _INVOICE_CREATED:
            return ["invoice.created"]
        if after == "paid" and before != "paid":
            return ["invoice.paid"]
        if after == "void" and before != "void":
            return ["invoice.voided"]
        return []
    if kind == "payment" and action in _PAYMENT:
        return [_PAYMENT[action]]
    return []


def note(tx: Tx, change: Change) -> None:
    """Remember a change of `tx` (its audit event); the events are made as it commits."""
    collected(tx, NOTED, emit).append(change)


def plan_changed(tx: Tx, sub: Any, previous_plan: str, how: str, at: str) -> None:
    """A subscription's plan changed in `tx` (an upgrade paid, or a downgrade applied as a period
    starts): `subscription.plan_changed`, with the plan before and how."""
    note(tx, Change("subscription", sub.subscription_id, "plan_changed", sub.status, sub.status, at,
                    {"previous_plan": previous_plan, "change": how}))


def emit(tx: Tx) -> None:
    """Put the events of the transaction's changes into it."""
    made: set[str] = set()
    for change in collected(tx, NOTED, emit):
        types = types_of(change)
        account_id, item = _account_and_item(tx, change) if types else (None, None)
        if account_id is None:
            continue
        for event_type in types:
            event_id = event_id_of(change, event_type)
            if event_id in made:
                continue
            made.add(event_id)
            add(tx, account_id=account_id, event_id=event_id, event_type=event_type, at=change.at,
                data={"object": change.entity_type, "id": change.entity_id, "action": change.action,
                      "from_status": change.from_status, "to_status": change.to_status,
                      **snapshot(change.entity_type, item), **change.details})


def add(tx: Tx, *, account_id: str, event_id: str, event_type: str, at: str,
        data: dict[str, Any]) -> None:
    """Put one event in `tx` (the id says which change it is; a second put of it fails)."""
    event = WebhookEventModel(account_id, event_id, type=event_type, created_at=at,
                              data=json.dumps({"account_id": account_id, **data}, sort_keys=True),
                              fanout=store.spread(FANOUT, event_id))
    tx.put(f"event:{event_id}", event, condition=WebhookEventModel.event_id.does_not_exist())


def event_id_of(change: Change, event_type: str) -> str:
    digest = hashlib.sha256(f"{event_type}|{change.entity_type}|{change.entity_id}|{change.action}|"
                            f"{change.to_status}|{change.at}".encode()).hexdigest()
    return f"evt_{digest[:24]}"


def _account_and_item(tx: Tx, change: Change) -> tuple[str | None, Any]:
    items = [i for i in tx.items_of(change.entity_id) if getattr(i, "account_id", None)]
    item = next((i for i in items if type(i).__name__ != "AuditEventModel"), None)
    if change.entity_type == "account":
        return change.entity_id, item
    return (getattr(item, "account_id", None), item)


def snapshot(entity_type: str, item: Any) -> dict[str, Any]:
    """What a receiver wants of the entity, as the transaction leaves it (the model as written)."""
    if item is None:
        return {}
    if entity_type == "payment":
        return {"invoice_id": item.invoice_id, "amount": _money(item.amount_minor),
                "currency": item.currency, "payment_method": item.payment_method}
    if entity_type == "invoice":
        return {"invoice_number": item.invoice_number, "kind": item.kind or "signup",
                "amount": _money(item.amount_minor), "currency": item.currency,
                "amount_due": _money(item.amount_due_minor), "plan": item.plan,
                "period": item.period, "due_date": item.due_date}
    if entity_type == "subscription":
        return {"plan": item.plan, "period": item.period,
                "current_period_end": public_time(item.current_period_end)}
    if entity_type == "account":
        return {"plan": getattr(item, "plan", None), "credits": getattr(item, "credits", None)}
    return {}


def _money(minor: int | None) -> str | None:
    return None if minor is None else format_minor(minor)
