"""An endpoint that has failed for 3 days is disabled, and every active owner is told by email, in
one transaction: the emails exist once, and only if this worker is the one that disabled it."""
from __future__ import annotations

from datetime import datetime

from chalicelib.accounts import admin_roles
from chalicelib.accounts.admins import STAFF
from chalicelib.core.clock import public_time, stamp
from chalicelib.core.config import get_settings
from chalicelib.storage import outbox, store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.models.webhooks import WebhookEndpointModel
from chalicelib.storage.store import TransactionCancelled, Tx

TEMPLATE = "webhook_endpoint_disabled"  # notifications.messages.WEBHOOK_ENDPOINT_DISABLED


def owners() -> list[UserModel]:
    """The active owners (the staff index: a handful of items, never a Scan)."""
    with store.guard():
        return [user for user in UserModel.admins.query(STAFF)
                if admin_roles.role_of(user) == admin_roles.OWNER and not user.disabled]


def disable(endpoint: WebhookEndpointModel, moment: datetime, *, enabled: str, disabled: str) -> bool:
    """Disable the endpoint unless another worker did; tell the owners. Whether this did it."""
    at = stamp(moment)
    tx = Tx()
    endpoint.status, endpoint.disabled_at = disabled, at
    tx.update("endpoint", endpoint, [WebhookEndpointModel.status.set(disabled),
                                     WebhookEndpointModel.disabled_at.set(at)],
              condition=WebhookEndpointModel.status == enabled)
    add_audit(tx, entity_type="webhook_endpoint", entity_id=endpoint.endpoint_id, action="disabled",
              from_status=enabled, to_status=disabled, actor="system", at=at,
              notes=f"failing since {endpoint.failing_since}")
    link = f"{get_settings().web_app_url}/admin/webhooks"
    for owner in owners():
        outbox.add_message(tx, message_id=f"{TEMPLATE}:{endpoint.endpoint_id}:{at}:{owner.user_id}",
                           template=TEMPLATE, recipient=owner.email, entity_id=endpoint.endpoint_id,
                           context={"name": owner.name, "url": endpoint.url,
                                    "description": endpoint.description,
                                    "failing_since": public_time(endpoint.failing_since),
                                    "disabled_at": public_time(at), "link": link}, at=at)
    try:
        tx.commit()
    except TransactionCancelled as exc:
        if "endpoint" in exc.failed:
            return False  # another worker disabled it (and told the owners)
        raise
    return True
