"""Response schemas of the webhook routes."""
from __future__ import annotations

from typing import Any

from chalicelib.webhooks.fields import EVENT_TYPES

_TIME = {"type": ["string", "null"], "format": "date-time"}
_ENDPOINT_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"},
    "url": {"type": "string", "format": "uri"},
    "events": {"type": "array", "items": {"type": "string", "enum": ["*", *EVENT_TYPES]}},
    "description": {"type": ["string", "null"]},
    "status": {"type": "string", "enum": ["enabled", "disabled"],
               "description": "disabled: its deliveries failed for 3 days (the owners were told)."},
    "created_at": {"type": "string", "format": "date-time"},
    "created_by": {"type": "string"},
    "failing_since": {**_TIME, "description": "The first failed delivery since the last success."},
    "disabled_at": _TIME,
}
_SECRET = {"type": ["string", "null"], "pattern": "^whsec_",
           "description": "The signing secret, shown this once (null in the answer kept for a retry "
                          "with the same Idempotency-Key)."}

SCHEMAS: dict[str, Any] = {
    "WebhookEndpoint": {"type": "object", "required": list(_ENDPOINT_PROPERTIES),
                        "properties": _ENDPOINT_PROPERTIES},
    "NewWebhookEndpoint": {"type": "object", "required": [*_ENDPOINT_PROPERTIES, "secret"],
                           "properties": {**_ENDPOINT_PROPERTIES, "secret": _SECRET}},
    "RotatedWebhookSecret": {
        "type": "object", "required": [*_ENDPOINT_PROPERTIES, "secret", "previous_secret_valid_until"],
        "properties": {**_ENDPOINT_PROPERTIES, "secret": _SECRET,
                       "previous_secret_valid_until": {"type": "string", "format": "date-time"}}},
    "WebhookEndpointList": {
        "type": "object", "required": ["items", "event_types"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookEndpoint"}},
                       "event_types": {"type": "array", "items": {"type": "string"}}}},
    "WebhookDelivery": {
        "type": "object",
        "required": ["id", "endpoint_id", "event_id", "event_type", "account_id", "status",
                     "attempts", "created_at", "last_attempt_at", "last_status", "last_error",
                     "last_response", "next_attempt_at", "delivered_at"],
        "properties": {
            "id": {"type": "string"}, "endpoint_id": {"type": "string"},
            "event_id": {"type": "string"}, "event_type": {"type": "string"},
            "account_id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
            "attempts": {"type": "integer", "minimum": 0},
            "created_at": {"type": "string", "format": "date-time"},
            "last_attempt_at": _TIME,
            "last_status": {"type": ["integer", "null"], "description": "The receiver's HTTP status."},
            "last_error": {"type": ["string", "null"], "description": "Why the last attempt failed "
                                                                      "(a timeout, a refused address, ...)."},
            "last_response": {"type": ["string", "null"], "maxLength": 1024,
                              "description": "At most 1 KB of the receiver's answer."},
            "next_attempt_at": _TIME,
            "delivered_at": _TIME,
        },
    },
    "WebhookDeliveryPage": {
        "type": "object", "required": ["endpoint", "items", "next_cursor"],
        "properties": {"endpoint": {"$ref": "#/components/schemas/WebhookEndpoint"},
                       "items": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookDelivery"}},
                       "next_cursor": {"type": ["string", "null"]}}},
}
