"""Webhook delivery: events handed to the endpoints that want them, then sent, signed, at least
once, retried on a fixed schedule.

`run(now)` does both steps; AWS runs it every minute (app.py), `make dev` every second.

- **Fan-out**: events not yet handed over (the sparse `pending_fanout` index), oldest first, get
  their account's next `sequence` number and one delivery per enabled endpoint that wants their
  type and existed when the event was made (an endpoint added later starts with the events after
  it), in one transaction conditional on the event still waiting (a second worker does nothing).
- **Attempts**: a due delivery (the sparse `due` index) is claimed with a conditional write on
  the attempt count read and a lease, so two workers never make one attempt twice; then POSTed
  (chalicelib.webhooks.targets: public addresses only, checked again now, no redirects, 10 s) and
  the outcome written under the claim. A 2xx is `delivered`; otherwise the next attempt waits
  1 min, 5 min, 30 min, 2 h, 6 h, 24 h, and after that the delivery is `failed`. An endpoint
  whose deliveries have failed for 3 days is disabled (its owners are told by email).
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.core.clock import now as clock_now
from chalicelib.core.clock import public_time, stamp
from chalicelib.core.config import get_settings
from chalicelib.storage import store
from chalicelib.storage.models.webhooks import (
    WebhookDeliveryModel,
    WebhookEndpointModel,
    WebhookEventModel,
)
from chalicelib.storage.store import TransactionCancelled, Tx
from chalicelib.webhooks import endpoints, signing
from chalicelib.webhooks.events import FANOUT

log = logging.getLogger(__name__)

RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                timedelta(hours=2), timedelta(hours=6), timedelta(hours=24))
LEASE = timedelta(seconds=60)  # longer than an attempt can take (10 s)
QUEUE = "due"  # the prefix of `queue` (the due index's key; store.spread)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
USER_AGENT = "Billing-Webhooks/1"


@dataclass
class Report:
    fanned_out: int = 0
    attempted: list[str] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"fanned_out": self.fanned_out, "attempted": len(self.attempted),
                "delivered": len(self.delivered)}


def delivery_id_of(endpoint_id: str, event_id: str) -> str:
    return "dlv_" + hashlib.sha256(f"{endpoint_id}#{event_id}".encode()).hexdigest()[:24]


def run(now: datetime | None = None, batch: int = 100) -> Report:
    moment = now or clock_now()
    report = Report()
    report.fanned_out = fanout(moment, batch)
    drain(moment, report, batch)
    return report


# Fan-out ---------------------------------------------------------------------------------------

def fanout(now: datetime, batch: int = 100) -> int:
    """Hand the waiting events (oldest first) to the endpoints; how many were handed over."""
    found: list[WebhookEventModel] = []
    for shard in store.spreads(FANOUT):
        with store.guard():
            found += list(WebhookEventModel.pending_fanout.query(
                shard, WebhookEventModel.created_at <= stamp(now), limit=batch))
    if not found:
        return 0
    wanting = endpoints.enabled()
    done = 0
    for event in sorted(found, key=lambda e: (e.created_at, e.event_id))[:batch]:
        done += _fan_out_one(event, wanting, now)
    return done


def _fan_out_one(event: WebhookEventModel, wanting: list[WebhookEndpointModel], now: datetime) -> int:
    sequence = event.sequence or store.next_sequence(f"webhook_events#{event.account_id}")
    tx = Tx()
    tx.update("event", event, [WebhookEventModel.sequence.set(sequence), WebhookEventModel.fanout.remove()],
              condition=WebhookEventModel.fanout.exists())
    at = stamp(now)
    for endpoint in wanting:
        if not endpoints.wants(endpoint, event.type) or endpoint.created_at > event.created_at:
            continue
        delivery_id = delivery_id_of(endpoint.endpoint_id, event.event_id)
        tx.put(f"delivery:{delivery_id}", WebhookDeliveryModel(
            delivery_id, endpoint_id=endpoint.endpoint_id, event_id=event.event_id,
            account_id=event.account_id, type=event.type, status=PENDING, attempts=0,
            created_at=at, next_attempt_at=at, queue=store.spread(QUEUE, delivery_id)),
            condition=WebhookDeliveryModel.delivery_id.does_not_exist())
    try:
        tx.commit()
    except TransactionCancelled:
        return 0  # another worker handed it over first
    return 1


# Attempts --------------------------------------------------------------------------------------

def due(now: datetime, limit: int) -> list[WebhookDeliveryModel]:
    found: list[WebhookDeliveryModel] = []
    for shard in store.spreads(QUEUE):
        with store.guard():
            found += list(WebhookDeliveryModel.due.query(
                shard, WebhookDeliveryModel.next_attempt_at <= stamp(now), limit=limit))
    return sorted(found, key=lambda d: (d.next_attempt_at or "", d.delivery_id))[:limit]


def drain(now: datetime, report: Report | None = None, batch: int = 100) -> Report:
    report = report or Report()
    deliveries = due(now, batch)
    known = {e.endpoint_id: e for e in endpoints.listing()} if deliveries else {}  # one query a run
    for delivery in deliveries:
        if attempt(delivery, now, known.get(delivery.endpoint_id)):
            report.attempted.append(delivery.delivery_id)
            if delivery.status == DELIVERED:
                report.delivered.append(delivery.delivery_id)
    return report


def _claim(delivery: WebhookDeliveryModel, now: datetime) -> str | None:
    """Claim the delivery's next attempt; the claim's id, or None if another worker has it."""
    claim = secrets.token_hex(8)
    lease_over = (WebhookDeliveryModel.claimed_until.does_not_exist()
                  | (WebhookDeliveryModel.claimed_until <= stamp(now)))
    try:
        with store.guard():
            delivery.update(actions=[
                WebhookDeliveryModel.attempts.set(delivery.attempts + 1),
                WebhookDeliveryModel.claim.set(claim),
                WebhookDeliveryModel.claimed_until.set(stamp(now + LEASE))],
                condition=(WebhookDeliveryModel.status == PENDING)
                & (WebhookDeliveryModel.attempts == delivery.attempts) & lease_over)
    except UpdateError:
        return None
    return claim


def attempt(delivery: WebhookDeliveryModel, now: datetime,
            endpoint: WebhookEndpointModel | None = None) -> bool:
    """Make the delivery's next attempt, if this worker claims it; False if another did.
    `endpoint`: the delivery's endpoint as this run read it (else it is read now)."""
    claim = _claim(delivery, now)
    if claim is None:
        return False
    endpoint = endpoint or store.get(WebhookEndpointModel, delivery.endpoint_id)
    event = store.get(WebhookEventModel, delivery.account_id, delivery.event_id)
    if endpoint is None or event is None or not endpoints.sends_to(endpoint, delivery):
        _record(delivery, claim, now, delivered=False, status=None, response="",
                error="the endpoint was deleted or disabled", final=True)
        return True
    from chalicelib.webhooks import targets

    body = payload(event)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Billing-Event-Id": event.event_id,
               signing.HEADER: signing.signature_header(body, endpoints.signing_secrets(endpoint, now))}
    outcome = targets.post(endpoint.url, body, headers, allow_local=get_settings().webhook_allow_local)
    final = (outcome.delivered or delivery.attempts > len(RETRY_DELAYS)  # the first and 6 retries
             or endpoint.status != endpoints.ENABLED)  # an owner's retry to a disabled one: once
    _record(delivery, claim, now, delivered=outcome.delivered, status=outcome.status,
            response=outcome.body, error=outcome.error, final=final)
    endpoints.note_outcome(endpoint, outcome.delivered, now)
    return True


def payload(event: WebhookEventModel) -> bytes:
    """The body every attempt of the event sends (the same bytes each time)."""
    return json.dumps({"id": event.event_id, "type": event.type,
                       "created_at": public_time(event.created_at), "sequence": event.sequence,
                       "account_id": event.account_id, "data": json.loads(event.data)},
                      sort_keys=True, separators=(",", ":")).encode()


def _record(delivery: WebhookDeliveryModel, claim: str, now: datetime, *, delivered: bool,
            status: int | None, response: str, error: str | None, final: bool) -> None:
    at = stamp(now)
    actions: list[Any] = [WebhookDeliveryModel.last_attempt_at.set(at),
                          WebhookDeliveryModel.last_status.set(status),
                          WebhookDeliveryModel.last_response.set(response[:1024] or None),
                          WebhookDeliveryModel.last_error.set(error),
                          WebhookDeliveryModel.claim.remove(),
                          WebhookDeliveryModel.claimed_until.remove()]
    if delivered:
        actions += [WebhookDeliveryModel.status.set(DELIVERED), WebhookDeliveryModel.delivered_at.set(at),
                    WebhookDeliveryModel.queue.remove(), WebhookDeliveryModel.next_attempt_at.remove()]
    elif final:
        actions += [WebhookDeliveryModel.status.set(FAILED), WebhookDeliveryModel.queue.remove(),
                    WebhookDeliveryModel.next_attempt_at.remove()]
    else:
        actions.append(WebhookDeliveryModel.next_attempt_at.set(
            stamp(now + RETRY_DELAYS[delivery.attempts - 1])))
    try:
        with store.guard():
            delivery.update(actions=actions, condition=WebhookDeliveryModel.claim == claim)
    except UpdateError:  # the lease ran out and another worker took the next attempt
        log.warning("delivery %s: the claim was lost before its outcome was written", delivery.delivery_id)


def retry(delivery: WebhookDeliveryModel, now: datetime) -> WebhookDeliveryModel:
    """An owner's retry: the delivery is due now again (a delivered one is sent once more; one to
    a disabled endpoint is attempted once, and re-enables the endpoint if it is delivered)."""
    at = stamp(now)
    with store.guard():
        delivery.update(actions=[
            WebhookDeliveryModel.status.set(PENDING), WebhookDeliveryModel.next_attempt_at.set(at),
            WebhookDeliveryModel.queue.set(store.spread(QUEUE, delivery.delivery_id)),
            WebhookDeliveryModel.claim.remove(), WebhookDeliveryModel.claimed_until.remove(),
            WebhookDeliveryModel.retried_at.set(at)],
            condition=WebhookDeliveryModel.claim.does_not_exist()
            | (WebhookDeliveryModel.claimed_until <= at))
    return delivery
