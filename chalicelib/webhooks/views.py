"""What the webhook routes answer: an endpoint's delivery log, a retry."""
from __future__ import annotations

from typing import Any

from chalicelib.core.clock import now, public_time
from chalicelib.core.errors import BadRequest, Conflict, NotFound
from chalicelib.storage import store
from chalicelib.storage.models.webhooks import WebhookDeliveryModel
from chalicelib.webhooks import delivery as sending
from chalicelib.webhooks import endpoints

STATUSES = (sending.PENDING, sending.DELIVERED, sending.FAILED)
_CURSOR = ("delivery_id", "endpoint_id", "created_at")


def delivery_view(d: WebhookDeliveryModel) -> dict[str, Any]:
    return {"id": d.delivery_id, "endpoint_id": d.endpoint_id, "event_id": d.event_id,
            "event_type": d.type, "account_id": d.account_id, "status": d.status,
            "attempts": d.attempts, "created_at": public_time(d.created_at),
            "last_attempt_at": public_time(d.last_attempt_at), "last_status": d.last_status,
            "last_error": d.last_error, "last_response": d.last_response,
            "next_attempt_at": public_time(d.next_attempt_at) if d.status == sending.PENDING else None,
            "delivered_at": public_time(d.delivered_at)}


def deliveries(endpoint_id: str, status: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """The endpoint's deliveries, newest first, of one status when asked."""
    if status not in (None, "", *STATUSES):
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}.", code="invalid_query",
                         details={"fields": {"status": "unsupported value"}})
    endpoint = endpoints.get(endpoint_id)
    last = store.decode_cursor(cursor, {"endpoint_id": endpoint.endpoint_id}, _CURSOR) if cursor else None
    query = WebhookDeliveryModel.by_endpoint.query(
        endpoint.endpoint_id, scan_index_forward=False, limit=limit + 1, last_evaluated_key=last,
        filter_condition=(WebhookDeliveryModel.status == status) if status else None)
    items, next_cursor = store.page(query, limit, _CURSOR)
    return {"endpoint": endpoints.view(endpoint), "items": [delivery_view(d) for d in items],
            "next_cursor": next_cursor}


def retry(endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    endpoint = endpoints.get(endpoint_id)
    found = store.get(WebhookDeliveryModel, delivery_id)
    if found is None or found.endpoint_id != endpoint.endpoint_id:
        raise NotFound("No such delivery of this endpoint.", code="delivery_not_found")
    from pynamodb.exceptions import UpdateError

    try:
        done = sending.retry(found, now())
    except UpdateError as exc:
        raise Conflict("An attempt of this delivery is being made now; look again shortly.",
                       code="delivery_in_progress") from exc
    return delivery_view(done)
