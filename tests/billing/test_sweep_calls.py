"""What one run of the billing jobs asks DynamoDB for when renewals fall due: per renewal one
UpdateItem (the invoice number's counter) and one TransactWriteItems, one Query per shard of the
subscriptions' due index, and the other jobs' fixed queries (one per shard of their indexes, the
plan catalog once); never a Scan, never a read of an item the index already returned.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.billing import jobs
from chalicelib.billing.payments import PENDING
from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp
from chalicelib.core.config import get_settings
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import (
    OPEN_INVOICE,
    SWEEP,
    InvoiceModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.webhooks import WebhookEventModel
from chalicelib.storage.models.reports import ReportAggregateModel
from chalicelib.storage.models.records import AuditEventModel, CounterModel, FxRateModel
from tests.conftest import Api, aws_spy

UTC = timezone.utc
ANCHOR = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PLANS = [("starter", "89.00"), ("growth", "249.00"), ("scale", "699.00"), ("starter", "89.00"),
         ("growth", "249.00")]  # K = 5 subscriptions: more than INDEX_SHARDS, so a shard has two


def _active_subscriptions(api: Api) -> list[SubscriptionModel]:
    """One paid signup per entry of PLANS, confirmed and approved a minute apart (so that their
    due times differ and the index returns them in a known order)."""
    admin = api.admin_token()
    ids = []
    for n, (plan, amount) in enumerate(PLANS):
        at = ANCHOR + n * timedelta(minutes=1)
        with clock.travel(at):
            signup = api.register(f"owner{n}@khan.pk", plan=plan,
                                  payment_method="bank_transfer").body
            payment = api.confirm(signup["access_token"], signup["invoice"]["id"], amount=amount,
                                  reference=f"BT-SWEEP-{n:03d}")
            assert payment.status == 201, payment.body
        with clock.travel(at + HOUR):
            approved = api.approve(admin, payment.body["id"])
            assert approved.status == 200, approved.body
        ids.append(signup["subscription"]["id"])
    subs = [SubscriptionModel.get(i, consistent_read=True) for i in ids]
    assert all(s.status == "active" and s.sweep and not s.renewal_invoice_id for s in subs)
    return subs


def _call(operation: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """A call as (operation, table, index, partition key queried) or, for a transaction, the
    tables of its items and what it does to each."""
    if operation == "TransactWriteItems":
        items = [next(iter(entry.items())) for entry in params["TransactItems"]]
        return (operation, tuple(sorted((kind, item["TableName"]) for kind, item in items)),
                [item["Key"] for kind, item in items
                 if item["TableName"] == SubscriptionModel.Meta.table_name])
    if operation == "Query":
        return (operation, params["TableName"], params.get("IndexName"),
                params["ExpressionAttributeValues"][":0"]["S"])
    return (operation, params.get("TableName"), params.get("Key"))


def _fixed_queries_after_subscriptions() -> list[tuple[Any, ...]]:
    """The queries of the jobs that follow the subscriptions' sweep, whatever is due: the trials'
    due index, the open invoices (reminders, then voids), the approval queue; a shard each."""
    return ([("Query", AccountModel.Meta.table_name, "due_by_time", shard)
             for shard in store.spreads(SWEEP)]
            + [("Query", InvoiceModel.Meta.table_name, "open_by_due_date", shard)
               for shard in store.spreads(OPEN_INVOICE)] * 2
            + [("Query", PaymentModel.Meta.table_name, "approval_queue", shard)
               for shard in store.spreads(PENDING)])


def test_renewals_cost_one_counter_update_and_one_transaction_each(api: Api) -> None:
    # Given K active subscriptions whose renewal falls due within the hour before the run
    subs = _active_subscriptions(api)
    moment = max(parse_stamp(s.current_period_end) for s in subs) - timedelta(days=7) + HOUR
    assert all(parse_stamp(s.sweep_at) <= moment for s in subs)
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(service: str, operation: str, params: dict[str, Any]) -> None:
        if service == "dynamodb":
            calls.append((operation, params))

    # When the jobs run once at that time
    with clock.travel(moment), aws_spy(record):
        report = jobs.run(moment)

    # Then each subscription got its renewal invoice
    assert report.finished and report.counts() == {
        "renewal_issued": len(subs), "reminded": 0, "voided": 0, "overdue_alerts": 0}
    assert sorted(report.steps["renewal_issued"]) == sorted(s.subscription_id for s in subs)
    # And the calls were exactly: the plan catalog once; the exchange rates once, before the first
    # renewal (every invoice of the run is quoted from one reading); per shard of the due index one Query, then
    # for each subscription it returned (by due time) the counter's UpdateItem and one transaction
    # (the invoice, the audit event, the email and the webhook event put; the subscription,
    # account and the month's report figures updated);
    # then the other jobs' queries
    shards = store.spreads(SWEEP)
    assert len(shards) == get_settings().index_shards
    counter = ("UpdateItem", CounterModel.Meta.table_name, {"counter_id": {"S": "invoice_number#2027"}})
    written = tuple(sorted([
        ("Put", InvoiceModel.Meta.table_name), ("Put", AuditEventModel.Meta.table_name),
        ("Put", OutboxModel.Meta.table_name), ("Put", WebhookEventModel.Meta.table_name),
        ("Update", SubscriptionModel.Meta.table_name), ("Update", AccountModel.Meta.table_name),
        ("Update", ReportAggregateModel.Meta.table_name)]))
    expected: list[tuple[Any, ...]] = [("Query", PlanModel.Meta.table_name, "catalog", "self_serve")]
    rates = ("Query", FxRateModel.Meta.table_name, None, "current")
    for shard in shards:
        expected.append(("Query", SubscriptionModel.Meta.table_name, "due_by_time", shard))
        for sub in sorted((s for s in subs if s.sweep == shard), key=lambda s: s.sweep_at):
            expected += [counter, *([] if rates in expected else [rates]), ("TransactWriteItems", written,
                                   [{"subscription_id": {"S": sub.subscription_id}}])]
    expected += _fixed_queries_after_subscriptions()
    assert [_call(operation, params) for operation, params in calls] == expected
    # That is, per renewal 2 calls, and 2 + 5 x INDEX_SHARDS queries per run; no Scan, no GetItem
    assert Counter(operation for operation, _ in calls) == {
        "UpdateItem": len(subs), "TransactWriteItems": len(subs), "Query": 2 + 5 * len(shards)}
    # And the due index's queries read it a page at a time, up to the due time
    for operation, params in calls:
        if operation == "Query" and params.get("IndexName") == "due_by_time":
            assert params["Limit"] == jobs.PAGE_SIZE
            assert params["ExpressionAttributeValues"][":1"]["S"] == clock.stamp(moment)

    # And a second run at the same time finds nothing due: only its fixed queries
    calls.clear()
    with clock.travel(moment), aws_spy(record):
        again = jobs.run(moment)
    assert not any(again.counts().values()), again.counts()
    assert [_call(operation, params) for operation, params in calls] == [
        ("Query", PlanModel.Meta.table_name, "catalog", "self_serve"),
        *[("Query", SubscriptionModel.Meta.table_name, "due_by_time", shard) for shard in shards],
        *_fixed_queries_after_subscriptions()]
