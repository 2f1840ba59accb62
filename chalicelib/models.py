"""PynamoDB models: the tables, their keys and their indexes.

Table names and the endpoint come from config; `bind()` applies them (PynamoDB reads `Meta` when a
connection is first made, so binding before first use is enough).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import STREAM_KEYS_ONLY
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    KeysOnlyProjection,
    LocalSecondaryIndex,
)
from pynamodb.models import Model

from chalicelib.config import Settings


class IntegerAttribute(NumberAttribute):
    """A number that is always a Python int: money in minor units, credits, counters."""

    def serialize(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"IntegerAttribute takes an int, not {type(value).__name__}")
        return str(value)

    def deserialize(self, value: str) -> int:
        number = Decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"IntegerAttribute holds a fraction: {value}")
        return int(number)


class _Meta:
    """Common Meta: bound to real values by `bind()`."""

    table_name = "unbound"
    region = "us-east-1"
    host = None


class UserModel(Model):
    """A login. Keyed by email so that uniqueness is a conditional put."""

    class Meta(_Meta):
        entity = "users"

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    name = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    role = UnicodeAttribute()
    created_at = UnicodeAttribute()


class AccountModel(Model):
    """A customer account: status, credits and what it is waiting for."""

    class Meta(_Meta):
        entity = "accounts"

    account_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    credits = IntegerAttribute()
    plan = UnicodeAttribute()
    owner_user_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute(null=True)
    pending_invoice_id = UnicodeAttribute(null=True)
    billing_country = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class PlanCatalogIndex(GlobalSecondaryIndex["PlanModel"]):
    """Sparse: only self-serve plans carry `listing`, in display order."""

    class Meta:
        index_name = "catalog"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    display_order = IntegerAttribute(range_key=True)


class PlanModel(Model):
    """A plan of the catalog."""

    class Meta(_Meta):
        entity = "plans"

    slug = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    price_minor = IntegerAttribute()
    currency = UnicodeAttribute()
    billing_cycle = UnicodeAttribute()
    credits = IntegerAttribute()
    features = ListAttribute(of=UnicodeAttribute, default=list)
    self_serve = BooleanAttribute()
    display_order = IntegerAttribute()
    listing = UnicodeAttribute(null=True)
    catalog = PlanCatalogIndex()


class MethodOrderIndex(LocalSecondaryIndex["PaymentMethodModel"]):
    """A country's methods in display order."""

    class Meta:
        index_name = "display_order"
        projection = AllProjection()

    country = UnicodeAttribute(hash_key=True)
    display_order = IntegerAttribute(range_key=True)


class PaymentMethodModel(Model):
    """A way to pay: `country` is an ISO code or GLOBAL."""

    class Meta(_Meta):
        entity = "payment_methods"

    country = UnicodeAttribute(hash_key=True)
    payment_method = UnicodeAttribute(range_key=True)
    method_id = UnicodeAttribute()
    display_name = UnicodeAttribute()
    instructions = UnicodeAttribute()
    details = MapAttribute(default=dict)
    enabled = BooleanAttribute()
    display_order = IntegerAttribute()
    by_display_order = MethodOrderIndex()


class SubscriptionModel(Model):
    """An account's subscription to a paid plan."""

    class Meta(_Meta):
        entity = "subscriptions"

    subscription_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    plan = UnicodeAttribute()
    status = UnicodeAttribute()
    current_period_start = UnicodeAttribute(null=True)
    current_period_end = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class ByAccountIndex(GlobalSecondaryIndex[Any]):
    """An account's items, by creation time."""

    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class InvoiceReferenceIndex(GlobalSecondaryIndex["InvoiceModel"]):
    """An invoice by its payment reference (what the payer writes in the transfer)."""

    class Meta:
        index_name = "by_reference"
        projection = AllProjection()

    payment_reference = UnicodeAttribute(hash_key=True)


class OpenInvoicesIndex(GlobalSecondaryIndex["InvoiceModel"]):
    """Sparse: only unpaid invoices carry `open`, by due date (the reminder and expiry job)."""

    class Meta:
        index_name = "open_by_due_date"
        projection = AllProjection()

    open = UnicodeAttribute(hash_key=True)
    due_date = UnicodeAttribute(range_key=True)


OPEN_INVOICE = "open"  # the `open` value of an unpaid invoice (OpenInvoicesIndex)


class InvoiceModel(Model):
    """An invoice; `pending_payment_id` is set while a payment awaits approval."""

    class Meta(_Meta):
        entity = "invoices"

    invoice_id = UnicodeAttribute(hash_key=True)
    invoice_number = UnicodeAttribute()
    account_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    status = UnicodeAttribute()
    amount_minor = IntegerAttribute()
    currency = UnicodeAttribute()
    plan = UnicodeAttribute()
    plan_credits = IntegerAttribute()
    billing_snapshot = MapAttribute(default=dict)
    billing_country = UnicodeAttribute()
    preferred_payment_method = UnicodeAttribute(null=True)
    due_date = UnicodeAttribute()
    created_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    pending_payment_id = UnicodeAttribute(null=True)
    payment_reference = UnicodeAttribute(null=True)
    open = UnicodeAttribute(null=True)
    reminded_at = UnicodeAttribute(null=True)
    voided_at = UnicodeAttribute(null=True)
    by_account = ByAccountIndex()
    by_reference = InvoiceReferenceIndex()
    open_by_due_date = OpenInvoicesIndex()


class ByInvoiceIndex(GlobalSecondaryIndex["PaymentModel"]):
    """An invoice's payments, by creation time."""

    class Meta:
        index_name = "by_invoice"
        projection = AllProjection()

    invoice_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ApprovalQueueIndex(GlobalSecondaryIndex["PaymentModel"]):
    """Sparse: only payments awaiting approval carry `queue`; oldest first."""

    class Meta:
        index_name = "approval_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PaymentModel(Model):
    """A payment confirmation submitted by a user and decided by an admin."""

    class Meta(_Meta):
        entity = "payments"

    payment_id = UnicodeAttribute(hash_key=True)
    invoice_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    status = UnicodeAttribute()
    payment_method = UnicodeAttribute()
    amount_minor = IntegerAttribute()
    currency = UnicodeAttribute()
    manual_reference = UnicodeAttribute()
    manual_notes = UnicodeAttribute(null=True)
    admin_notes = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    payer_email = UnicodeAttribute(null=True)
    method_name = UnicodeAttribute(null=True)
    invoice_reference = UnicodeAttribute(null=True)
    near_duplicate_of = ListAttribute(of=UnicodeAttribute, null=True)
    sla_alerted_at = UnicodeAttribute(null=True)
    proof_upload_key = UnicodeAttribute(null=True)
    proof_key = UnicodeAttribute(null=True)
    proof_content_type = UnicodeAttribute(null=True)
    proof_size = IntegerAttribute(null=True)
    proof_uploaded_at = UnicodeAttribute(null=True)
    by_account = ByAccountIndex()
    by_invoice = ByInvoiceIndex()
    approval_queue = ApprovalQueueIndex()


class PaymentClaimModel(Model):
    """A (method, bank reference) pair in use by a payment that has not failed: a second payment
    cannot claim it. `claim_id` is `<method>#<reference, upper case, no spaces or dashes>`."""

    class Meta(_Meta):
        entity = "payment_claims"

    claim_id = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    released = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()


class CreditLedgerModel(Model):
    """Append-only credit entries; `entry_id` is derived from the cause, so a grant exists once."""

    class Meta(_Meta):
        entity = "credit_ledger"

    account_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    amount = IntegerAttribute()
    reason = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    actor = UnicodeAttribute()
    created_at = UnicodeAttribute()


class AuditEventModel(Model):
    """One state change of one entity: who, when, from → to, notes."""

    class Meta(_Meta):
        entity = "audit_events"

    entity_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    entity_type = UnicodeAttribute()
    action = UnicodeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    actor = UnicodeAttribute()
    notes = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


class CounterModel(Model):
    """Counters: invoice number sequences and the sharded status summary."""

    class Meta(_Meta):
        entity = "counters"

    counter_id = UnicodeAttribute(hash_key=True)
    value = IntegerAttribute(null=True)
    accounts_trial = IntegerAttribute(null=True)
    accounts_pending_payment = IntegerAttribute(null=True)
    accounts_active = IntegerAttribute(null=True)
    accounts_suspended = IntegerAttribute(null=True)
    payments_pending_approval = IntegerAttribute(null=True)
    plans_configured = IntegerAttribute(null=True)
    payment_methods_enabled = IntegerAttribute(null=True)


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

    class Meta(_Meta):
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
    due = OutboxDueIndex()
    failed = OutboxParkedIndex()


class IdempotencyModel(Model):
    """A request made with an Idempotency-Key: claimed while it runs, then its response.

    `record_id` is `<scope>#<key>` (the scope is the caller), `fingerprint` an HMAC of the route
    and body. The response is written in the same transaction as the change it reports, so a
    completed record and its effect exist together or not at all. DynamoDB's TTL removes a
    record after `expires_at`.
    """

    class Meta(_Meta):
        entity = "idempotency"

    record_id = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    status = UnicodeAttribute()
    claim_id = UnicodeAttribute()
    locked_until = IntegerAttribute()
    expires_at = TTLAttribute()
    status_code = IntegerAttribute(null=True)
    response = UnicodeAttribute(null=True)


class LoginFailureModel(Model):
    """Failed logins of one email (keyed by its HMAC, never the address) in one time window."""

    class Meta(_Meta):
        entity = "login_failures"

    bucket_id = UnicodeAttribute(hash_key=True)
    failures = IntegerAttribute(default=0)
    expires_at = TTLAttribute()


ALL_MODELS: tuple[type[Model], ...] = (
    UserModel, AccountModel, PlanModel, PaymentMethodModel, SubscriptionModel, InvoiceModel,
    PaymentModel, CreditLedgerModel, AuditEventModel, CounterModel, OutboxModel, IdempotencyModel,
    LoginFailureModel, PaymentClaimModel,
)


def bind(settings: Settings) -> None:
    """Point every model at this stage's tables and endpoint (drops cached connections)."""
    for model in ALL_MODELS:
        model.Meta.table_name = settings.table_name(model.Meta.entity)
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint_url
        model._connection = None


def create_missing_tables() -> list[str]:
    """Create the tables that do not exist yet (on-demand billing) and the global indexes that a
    kept table lacks (a store made by an older version); return what was created."""
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            created.append(model.Meta.table_name)
        else:
            created += _add_missing_indexes(model)
    return created


def _add_missing_indexes(model: type[Model]) -> list[str]:
    connection = model._get_connection().connection
    table = model.Meta.table_name
    have = {index["IndexName"] for index in
            connection.describe_table(table).get("GlobalSecondaryIndexes", [])}
    schema = model._get_schema()
    added = []
    for index in schema.get("global_secondary_indexes", []):
        if index["index_name"] in have:
            continue
        keys = {part["AttributeName"] for part in index["key_schema"]}
        connection.client.update_table(
            TableName=table,
            AttributeDefinitions=[d for d in schema["attribute_definitions"]
                                  if d["AttributeName"] in keys],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": index["index_name"], "KeySchema": index["key_schema"],
                "Projection": index["projection"]}}])
        added.append(f"{table}.{index['index_name']}")
    return added
