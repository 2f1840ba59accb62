"""The SaaS's webhook endpoints (owners manage them): made with a secret shown once, listed,
deleted, their secret rotated (the old one keeps signing, as a second `v1`, for 24 hours); an
endpoint that has failed for 3 days is disabled (chalicelib.webhooks.failing)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.accounts.auth import Principal
from chalicelib.core.clock import new_id, now, parse_stamp, public_time, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Invalid, NotFound
from chalicelib.core.validation import validate
from chalicelib.storage import store
from chalicelib.storage.models.webhooks import WebhookEndpointModel
from chalicelib.webhooks import signing
from chalicelib.webhooks.fields import CREATE, EVENT_TYPES

ENABLED, DISABLED = "enabled", "disabled"
ROTATION_OVERLAP = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=3)
ALL = "*"
def create(admin: Principal, body: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.webhooks import targets

    data = validate(body, CREATE)
    url = targets.check_url(data["url"], allow_local=get_settings().webhook_allow_local)
    unknown = [e for e in data["events"] if e != ALL and e not in EVENT_TYPES]
    if unknown:
        raise Invalid(f"Unknown event types: {', '.join(unknown)}.", code="validation_failed",
                      details={"fields": {"events": f"unknown: {', '.join(unknown)}"},
                               "event_types": list(EVENT_TYPES)})
    events = [ALL] if ALL in data["events"] else data["events"]
    endpoint = WebhookEndpointModel(new_id("whe"), url=url, events=events,
                                    description=data["description"], secret_salt=signing.new_salt(),
                                    status=ENABLED, created_at=stamp(), created_by=admin.email)
    with store.guard():
        endpoint.save(condition=WebhookEndpointModel.endpoint_id.does_not_exist())
    return {**view(endpoint), "secret": signing.secret_of(endpoint.endpoint_id, endpoint.secret_salt)}


def listing() -> list[WebhookEndpointModel]:
    with store.guard():
        return list(WebhookEndpointModel.by_listing.query("endpoint"))


def list_view() -> dict[str, Any]:
    return {"items": [view(e) for e in listing()], "event_types": list(EVENT_TYPES)}


def enabled() -> list[WebhookEndpointModel]:
    return [e for e in listing() if e.status == ENABLED]


def wants(endpoint: WebhookEndpointModel, event_type: str) -> bool:
    return ALL in endpoint.events or event_type in endpoint.events


def get(endpoint_id: str) -> WebhookEndpointModel:
    endpoint = store.get(WebhookEndpointModel, endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", code="webhook_not_found")
    return endpoint


def delete(endpoint_id: str) -> None:
    endpoint = get(endpoint_id)
    with store.guard():
        endpoint.delete()


def rotate(endpoint_id: str) -> dict[str, Any]:
    """A new secret; the previous one keeps signing for 24 hours."""
    endpoint = get(endpoint_id)
    until = stamp(now() + ROTATION_OVERLAP)
    salt = signing.new_salt()
    with store.guard():
        endpoint.update(actions=[WebhookEndpointModel.previous_salt.set(endpoint.secret_salt),
                                 WebhookEndpointModel.previous_until.set(until),
                                 WebhookEndpointModel.secret_salt.set(salt)],
                        condition=WebhookEndpointModel.secret_salt == endpoint.secret_salt)
    return {**view(endpoint), "secret": signing.secret_of(endpoint.endpoint_id, salt),
            "previous_secret_valid_until": public_time(until)}


def signing_secrets(endpoint: WebhookEndpointModel, moment: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one within its 24 hours."""
    found = [signing.secret_of(endpoint.endpoint_id, endpoint.secret_salt)]
    if endpoint.previous_salt and endpoint.previous_until and parse_stamp(endpoint.previous_until) > moment:
        found.append(signing.secret_of(endpoint.endpoint_id, endpoint.previous_salt))
    return found


def sends_to(endpoint: WebhookEndpointModel, delivery: Any) -> bool:
    """Whether a delivery's attempt goes out: to an enabled endpoint, or to a disabled one when an
    owner retried it since it was disabled (a receiver fixed is tried before it is enabled again)."""
    if endpoint.status == ENABLED:
        return True
    return bool(delivery.retried_at and endpoint.disabled_at and delivery.retried_at >= endpoint.disabled_at)


def note_outcome(endpoint: WebhookEndpointModel, delivered: bool, moment: datetime) -> None:
    """Keep when the endpoint began failing; disable it once it has failed for 3 days (and enable it
    again when an owner's retry to it is delivered)."""
    try:
        with store.guard():
            if delivered and endpoint.status == DISABLED:  # an owner's retry worked: back on
                endpoint.update(actions=[WebhookEndpointModel.status.set(ENABLED),
                                         WebhookEndpointModel.failing_since.remove(),
                                         WebhookEndpointModel.disabled_at.remove()])
            elif delivered and endpoint.failing_since:
                endpoint.update(actions=[WebhookEndpointModel.failing_since.remove()])
            elif not delivered and not endpoint.failing_since:
                endpoint.update(actions=[WebhookEndpointModel.failing_since.set(stamp(moment))],
                                condition=WebhookEndpointModel.failing_since.does_not_exist())
            elif (not delivered and endpoint.status == ENABLED
                  and parse_stamp(endpoint.failing_since) <= moment - DISABLE_AFTER):
                from chalicelib.webhooks import failing

                failing.disable(endpoint, moment, enabled=ENABLED, disabled=DISABLED)
    except UpdateError:
        pass  # another worker noted it first


def view(endpoint: WebhookEndpointModel) -> dict[str, Any]:
    return {"id": endpoint.endpoint_id, "url": endpoint.url, "events": list(endpoint.events),
            "description": endpoint.description, "status": endpoint.status,
            "created_at": public_time(endpoint.created_at), "created_by": endpoint.created_by,
            "failing_since": public_time(endpoint.failing_since),
            "disabled_at": public_time(endpoint.disabled_at)}
