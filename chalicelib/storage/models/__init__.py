"""The PynamoDB tables, one module per capability; `tables` lists, binds and creates them all."""
from chalicelib.storage.models.accounts import AccountModel, LoginFailureModel, UserModel
from chalicelib.storage.models.billing import (
    OPEN_INVOICE,
    PAYABLE,
    ApprovalQueueIndex,
    ByAccountIndex,
    ByInvoiceIndex,
    InvoiceModel,
    InvoiceReferenceIndex,
    OpenInvoicesIndex,
    PaymentClaimModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.models.catalog import (
    MethodOrderIndex,
    PaymentMethodModel,
    PlanCatalogIndex,
    PlanModel,
)
from chalicelib.storage.models.platform import (
    IdempotencyModel,
    OutboxDueIndex,
    OutboxModel,
    OutboxParkedIndex,
    ServiceKeyModel,
)
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
from chalicelib.storage.models.tables import ALL_MODELS, bind, create_missing_tables
from chalicelib.storage.models.webhooks import (
    WebhookDeliveryModel,
    WebhookEndpointModel,
    WebhookEventModel,
)

__all__ = [
    "ALL_MODELS", "OPEN_INVOICE", "PAYABLE", "FxRateModel", "MoneyLedgerModel", "AccountModel", "ApprovalQueueIndex", "AuditEventModel",
    "ByAccountIndex", "ByInvoiceIndex", "CounterModel", "CreditLedgerModel", "IdempotencyModel",
    "InvoiceModel", "InvoiceReferenceIndex", "LoginFailureModel", "MethodOrderIndex", "OpenInvoicesIndex",
    "OutboxDueIndex", "OutboxModel", "OutboxParkedIndex", "PaymentClaimModel", "PaymentMethodModel",
    "PaymentModel", "PlanCatalogIndex", "PlanModel", "ReportAggregateModel", "ServiceKeyModel", "SessionModel", "LinkTokenModel", "EmailAddressModel", "StatementLineModel", "StatementModel", "WebhookDeliveryModel", "WebhookEndpointModel", "WebhookEventModel", "SubscriptionModel", "UserModel", "bind",
    "create_missing_tables",
]
