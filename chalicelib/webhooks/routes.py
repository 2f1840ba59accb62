"""Routes of webhooks (admins): endpoints, their secrets, the delivery log and retries."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import BY_CALLER, OWNER, VIEWER, Body, Idempotent, Routes, query
from chalicelib.core.validation import query_limit
from chalicelib.webhooks import fields

routes = Routes(__name__, "Webhooks", "Events pushed to the SaaS's backend, signed (owners).")
WEBHOOKS = "/api/v1/billing/admin/webhooks"
# A new secret is shown once: the kept response (for a retry) holds no secret.
_SECRET_KEPT_OUT = Idempotent(BY_CALLER.scope, redact=lambda body: {**body, "secret": None})


@routes.post(WEBHOOKS, status=201, auth=OWNER, idempotent=_SECRET_KEPT_OUT,
             body=Body("WebhookEndpointRequest", fields.CREATE, "Where, and which events."),
             response=("NewWebhookEndpoint", "The endpoint, with its signing secret: shown this once."),
             errors={422: "`webhook_url_not_allowed` (not https, or an address that is not public, "
                          "also after DNS resolution), `validation_failed` (an unknown event type: "
                          "`details.event_types` lists them)."})
def create_webhook(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Add a webhook endpoint

    Every event of the types chosen (`["*"]`: all) is POSTed to `url`, signed with the
    `secret` (shown once; the server keeps no copy of it, only what derives it).
    """
    from chalicelib.webhooks import endpoints

    return endpoints.create(caller, body)


@routes.get(WEBHOOKS, auth=VIEWER, response=("WebhookEndpointList", "Every endpoint, oldest first."))
def list_webhooks(caller: Principal) -> dict[str, Any]:
    """The webhook endpoints

    With their events and status (a failing endpoint is disabled after 3 days); never a secret.
    """
    from chalicelib.webhooks import endpoints

    return endpoints.list_view()


@routes.delete(WEBHOOKS + "/{endpoint_id}", status=204, auth=OWNER,
               response=("WebhookEndpointList", "Deleted."),
               errors={404: "`webhook_not_found`."})
def delete_webhook(caller: Principal, endpoint_id: str) -> None:
    """Delete a webhook endpoint

    Nothing more is sent to it; deliveries still due fail.
    """
    from chalicelib.webhooks import endpoints

    endpoints.delete(endpoint_id)


@routes.post(WEBHOOKS + "/{endpoint_id}/rotate-secret", auth=OWNER, idempotent=_SECRET_KEPT_OUT,
             response=("RotatedWebhookSecret", "The new secret: shown this once."),
             errors={404: "`webhook_not_found`.", 409: "`transaction_conflict`: rotated meanwhile."})
def rotate_webhook_secret(caller: Principal, endpoint_id: str) -> dict[str, Any]:
    """Rotate an endpoint's secret

    Events are signed with the new secret, and for 24 hours with the old one too (two `v1`
    values in `Billing-Signature`), so a receiver can switch without missing one.
    """
    from chalicelib.webhooks import endpoints

    return endpoints.rotate(endpoint_id)


@routes.get(WEBHOOKS + "/{endpoint_id}/deliveries", auth=VIEWER,
            query=("DeliveryStatus", "Limit", "Cursor"),
            response=("WebhookDeliveryPage", "A page of the endpoint's deliveries, newest first."),
            errors={400: "`invalid_query` or `invalid_cursor`.", 404: "`webhook_not_found`."})
def list_webhook_deliveries(caller: Principal, endpoint_id: str) -> dict[str, Any]:
    """An endpoint's delivery log

    Each event sent to it: status (`pending`, `delivered`, `failed`), attempts, the last
    response's status and time, at most 1 KB of its body, and the next attempt.
    """
    from chalicelib.webhooks import views

    return views.deliveries(endpoint_id, query("status"), query_limit(query("limit")), query("cursor"))


@routes.post(WEBHOOKS + "/{endpoint_id}/deliveries/{delivery_id}/retry", status=202, auth=OWNER,
             response=("WebhookDelivery", "Due again: the next run of the delivery worker sends it."),
             errors={404: "`webhook_not_found` or `delivery_not_found`.",
                     409: "`delivery_in_progress`: an attempt is being made now."})
def retry_webhook_delivery(caller: Principal, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    """Send a delivery again

    A failed (or delivered) event is sent again, with the same id and body.
    """
    from chalicelib.webhooks import views

    return views.retry(endpoint_id, delivery_id)
