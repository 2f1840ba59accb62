"""Response schemas of notifications, next to the view that builds them (notifications.views)."""
from __future__ import annotations

from typing import Any

SCHEMAS: dict[str, Any] = {
    "Notification": {
        "type": "object",
        "required": [
            "id",
            "template",
            "recipient",
            "entity_id",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "last_attempt_at",
            "parked_at",
            "sent_at",
        ],
        "properties": {
            "id": {"type": "string"},
            "template": {"type": "string", "examples": ["payment_approved"]},
            "recipient": {"type": "string"},
            "entity_id": {"type": "string", "description": "The account or payment it is about."},
            "status": {"type": "string", "enum": ["pending", "sent", "failed"]},
            "attempts": {"type": "integer", "minimum": 0},
            "last_error": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "last_attempt_at": {"type": ["string", "null"], "format": "date-time"},
            "parked_at": {"type": ["string", "null"], "format": "date-time"},
            "sent_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "description": "An outbox email and how its delivery went.",
    },
    "NotificationPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `?cursor=` for the next page; null on the last page.",
            },
        },
    },
}
