"""Every table of the product, bound to this stage's names, created where missing.

Table names and the endpoint come from config; `bind()` applies them (PynamoDB reads `Meta` when a
connection is first made, so binding before first use is enough).
"""
from __future__ import annotations

from pynamodb.models import Model

from chalicelib.core.config import Settings
from chalicelib.storage.models.accounts import AccountModel, LoginFailureModel, UserModel
from chalicelib.storage.models.billing import (
    InvoiceModel,
    PaymentClaimModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.models.catalog import PaymentMethodModel, PlanModel
from chalicelib.storage.models.platform import IdempotencyModel, OutboxModel, ServiceKeyModel
from chalicelib.storage.models.records import (
    AuditEventModel,
    CounterModel,
    CreditLedgerModel,
    FxRateModel,
    MoneyLedgerModel,
)
from chalicelib.storage.models.reports import ReportAggregateModel
from chalicelib.storage.models.sessions import EmailAddressModel, LinkTokenModel, SessionModel
from chalicelib.storage.models.statements import StatementLineModel, StatementModel
from chalicelib.storage.models.webhooks import (
    WebhookDeliveryModel,
    WebhookEndpointModel,
    WebhookEventModel,
)

ALL_MODELS: tuple[type[Model], ...] = (
    UserModel, AccountModel, PlanModel, PaymentMethodModel, SubscriptionModel, InvoiceModel,
    PaymentModel, CreditLedgerModel, AuditEventModel, CounterModel, OutboxModel, IdempotencyModel,
    LoginFailureModel, PaymentClaimModel, ServiceKeyModel, MoneyLedgerModel, FxRateModel,
    StatementModel, StatementLineModel, SessionModel, LinkTokenModel, EmailAddressModel,
    WebhookEndpointModel, WebhookEventModel, WebhookDeliveryModel, ReportAggregateModel,
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
