"""Tables of the platform: the outbox of messages, kept idempotent responses."""
from __future__ import annotations

from pynamodb.attributes import (
    MapAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import STREAM_KEYS_ONLY
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    KeysOnlyProjection,
)
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta


class OutboxDueIndex(GlobalSecondaryIndex["OutboxModel"]):
    """Sparse: only undelivered messages carry `queue`, by when they are due (keys only)."""

    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    queue = UnicodeAttribute(hash_key=True)
    next_attempt_at = UnicodeAttribute(range_key=True)


class OutboxParkedIndex(GlobalSecondaryIndex["OutboxModel"]):
    """Sparse: only messages parked after too many failures carry `parked`, oldest first."""

    class Meta:
        index_name = "parked"
        projection = AllProjection()

    parked = UnicodeAttribute(hash_key=True)
    parked_at = UnicodeAttribute(range_key=True)


class OutboxModel(Model):
    """An email to send, written in the transaction of the change it tells about.

    `context` is a snapshot of what the template shows (strings), so delivery needs no reads.
    The table has a stream (keys only) whose INSERTs trigger delivery when deployed.
    """

    class Meta(TableMeta):
        entity = "outbox"
        stream_view_type = STREAM_KEYS_ONLY

    message_id = UnicodeAttribute(hash_key=True)
    template = UnicodeAttribute()
    recipient = UnicodeAttribute()
    context = MapAttribute(default=dict)
    entity_id = UnicodeAttribute()
    status = UnicodeAttribute()
    attempts = IntegerAttribute(default=0)
    created_at = UnicodeAttribute()
    next_attempt_at = UnicodeAttribute()
    queue = UnicodeAttribute(null=True)
    claim = UnicodeAttribute(null=True)
    last_attempt_at = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    ses_message_id = UnicodeAttribute(null=True)
    parked = UnicodeAttribute(null=True)
    parked_at = UnicodeAttribute(null=True)
    # An email to an address not yet verified: `held` until it is, then `released` as a new
    # message (`released_as`) that is delivered as any other.
    held_at = UnicodeAttribute(null=True)
    released_as = UnicodeAttribute(null=True)
    due = OutboxDueIndex()
    failed = OutboxParkedIndex()


class IdempotencyModel(Model):
    """A request made with an Idempotency-Key: claimed while it runs, then its response.

    `record_id` is `<scope>#<key>` (the scope is the caller), `fingerprint` an HMAC of the route
    and body. The response is written in the same transaction as the change it reports, so a
    completed record and its effect exist together or not at all. DynamoDB's TTL removes a
    record after `expires_at`.
    """

    class Meta(TableMeta):
        entity = "idempotency"

    record_id = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    status = UnicodeAttribute()
    claim_id = UnicodeAttribute()
    locked_until = IntegerAttribute()
    expires_at = TTLAttribute()
    status_code = IntegerAttribute(null=True)
    response = UnicodeAttribute(null=True)


class ServiceKeyListIndex(GlobalSecondaryIndex["ServiceKeyModel"]):
    """Every service key, newest first (a handful: one partition is plenty)."""

    class Meta:
        index_name = "listing"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ServiceKeyModel(Model):
    """A key of the SaaS's own backend (`sk_<key_id>_<secret>`): only a keyed hash of the secret
    is stored."""

    class Meta(TableMeta):
        entity = "service_keys"

    key_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    last_used_at = UnicodeAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)
    listing = UnicodeAttribute(default="keys")
    by_listing = ServiceKeyListIndex()
