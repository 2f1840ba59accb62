"""Webhooks: the SaaS's endpoints, the events of committed changes, and each event's delivery to
each endpoint (chalicelib.webhooks)."""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta


class EndpointListingIndex(GlobalSecondaryIndex["WebhookEndpointModel"]):
    """Every endpoint under one key (`listing`), oldest first: a handful, never a Scan."""

    class Meta:
        index_name = "listing"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class WebhookEndpointModel(Model):
    """A URL the SaaS receives events at. Its signing secret is not stored: it is derived from the
    server's key and `secret_salt` (chalicelib.webhooks.signing); a rotation keeps the previous
    salt signing until `previous_until`."""

    class Meta(TableMeta):
        entity = "webhook_endpoints"

    endpoint_id = UnicodeAttribute(hash_key=True)
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)
    description = UnicodeAttribute(null=True)
    secret_salt = UnicodeAttribute()
    previous_salt = UnicodeAttribute(null=True)
    previous_until = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # enabled | disabled
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    failing_since = UnicodeAttribute(null=True)  # the first failed delivery since the last success
    disabled_at = UnicodeAttribute(null=True)
    listing = UnicodeAttribute(default="endpoint")
    by_listing = EndpointListingIndex()


class PendingFanoutIndex(GlobalSecondaryIndex["WebhookEventModel"]):
    """Sparse and sharded: events not yet handed to the endpoints carry `fanout`."""

    class Meta:
        index_name = "pending_fanout"
        projection = AllProjection()

    fanout = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class WebhookEventModel(Model):
    """One event of a committed change, written in that change's transaction (so it exists once,
    and only if the change did). Keyed by account, so the table's stream hands one account's
    events over in the order they were written; `sequence` is numbered then, per account."""

    class Meta(TableMeta):
        entity = "webhook_events"

    account_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    type = UnicodeAttribute()
    created_at = UnicodeAttribute()
    data = UnicodeAttribute()  # the event's `data` as JSON
    sequence = IntegerAttribute(null=True)
    fanout = UnicodeAttribute(null=True)
    pending_fanout = PendingFanoutIndex()


class DeliveriesByEndpointIndex(GlobalSecondaryIndex["WebhookDeliveryModel"]):
    """An endpoint's deliveries, newest first (the delivery log)."""

    class Meta:
        index_name = "by_endpoint"
        projection = AllProjection()

    endpoint_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DueDeliveriesIndex(GlobalSecondaryIndex["WebhookDeliveryModel"]):
    """Sparse and sharded: deliveries still to attempt carry `queue`, by their next attempt."""

    class Meta:
        index_name = "due"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    next_attempt_at = UnicodeAttribute(range_key=True)


class WebhookDeliveryModel(Model):
    """One event for one endpoint: `pending` until a 2xx (`delivered`) or the last retry
    (`failed`); each attempt is claimed with a conditional write, so no two workers make one
    attempt twice. `delivery_id` is `<endpoint_id>#<event_id>`."""

    class Meta(TableMeta):
        entity = "webhook_deliveries"

    delivery_id = UnicodeAttribute(hash_key=True)
    endpoint_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    type = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | delivered | failed
    attempts = IntegerAttribute(default=0)
    created_at = UnicodeAttribute()
    next_attempt_at = UnicodeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    claim = UnicodeAttribute(null=True)
    claimed_until = UnicodeAttribute(null=True)
    last_attempt_at = UnicodeAttribute(null=True)
    last_status = IntegerAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    retried_at = UnicodeAttribute(null=True)  # an owner's last manual retry
    last_response = UnicodeAttribute(null=True)  # at most 1 KB of the receiver's answer
    delivered_at = UnicodeAttribute(null=True)
    by_endpoint = DeliveriesByEndpointIndex()
    due = DueDeliveriesIndex()
