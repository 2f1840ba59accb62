"""How an email in the outbox looks to an admin."""
from __future__ import annotations

from typing import Any

from chalicelib.core.clock import public_time
from chalicelib.storage.models.platform import OutboxModel


def notification_view(message: OutboxModel) -> dict[str, Any]:
    """An outbox email as admins see it: what, to whom, about what, and how delivery went."""
    return {"id": message.message_id, "template": message.template, "recipient": message.recipient,
            "entity_id": message.entity_id, "status": message.status, "attempts": message.attempts,
            "last_error": message.last_error, "created_at": public_time(message.created_at),
            "last_attempt_at": public_time(message.last_attempt_at),
            "parked_at": public_time(message.parked_at), "sent_at": public_time(message.sent_at)}
