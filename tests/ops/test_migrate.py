"""`manage.py migrate` brings a store written before the lifecycle up to date: sparse keys moved
to their shards (found by Query), buckets, trial ends and anchors set; running it twice changes
nothing more, and the migrated subscription renews."""
from __future__ import annotations

from datetime import timedelta

import manage
from chalicelib.billing import jobs
from chalicelib.core.clock import parse_stamp
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.records import CreditLedgerModel, MoneyLedgerModel
from chalicelib.storage.models.reports import ReportAggregateModel
from ops import integrity, migrate
from tests.conftest import Api, PaidSignup


def _as_before_the_lifecycle(paid_signup: PaidSignup, trial_id: str) -> None:
    """What the previous version wrote: one-value sparse keys, no buckets, no anchor or trial end."""
    for model, attribute, value in ((InvoiceModel, "open", "open"), (PaymentModel, "queue", "pending_approval"),
                                    (OutboxModel, "queue", "pending")):
        for item in model.scan():
            if getattr(item, attribute):
                setattr(item, attribute, value)
                item.save()
    for account in AccountModel.scan():
        account.allowance = account.extra = account.trial_ends_at = account.sweep = account.sweep_at = None
        account.current_period_end = account.allowance_granted = None
        account.save()
    for entry in CreditLedgerModel.scan():
        entry.ordered_at = entry.balance_after = None
        entry.save()
    for sub in SubscriptionModel.scan():
        sub.anchor = sub.period = sub.paid_through = sub.sweep = sub.sweep_at = None
        sub.billing_snapshot = {}
        sub.save()


def test_migrate_shards_keys_sets_buckets_and_anchors_once(api: Api, paid_signup: PaidSignup, capsys) -> None:
    trial = api.register("trial@khan.pk").body["account"]["id"]
    admin = api.admin_token()
    first = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert api.approve(admin, first).status == 200
    other = api.register("sana@khan.pk", plan="starter").body
    api.confirm(other["access_token"], other["invoice"]["id"], reference="BT-SANA")
    _as_before_the_lifecycle(paid_signup, trial)
    # When the migration runs (twice)
    assert manage.main(["migrate"]) == 0
    printed = capsys.readouterr().out
    assert "subscriptions anchored: 1" in printed and "accounts given buckets" in printed
    assert migrate.migrate().counts == {}
    # Then every sparse key is a shard, every account has buckets, the trial an end
    assert all(i.open is None or i.open == store.spread("open", i.invoice_id) for i in InvoiceModel.scan())
    assert [p.queue for p in PaymentModel.scan() if p.queue] == [
        store.spread("pending_approval", p.payment_id) for p in PaymentModel.scan() if p.queue]
    assert all(m.queue is None or m.queue.startswith("pending#") for m in OutboxModel.scan())
    assert AccountModel.get(trial).trial_ends_at and AccountModel.get(trial).sweep
    paid = AccountModel.get(paid_signup.account_id)
    assert (paid.allowance, paid.allowance_granted) == (1000, 1000)
    assert paid.current_period_end == SubscriptionModel.get(paid_signup.subscription_id).current_period_end
    statement = api.get("/api/v1/billing/credits", token=paid_signup.token).body
    assert [(e["reason"], e["balance_after"]) for e in statement["items"]] == [("plan_purchase", 1000)]
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())
    # And the migrated subscription renews: its invoice is issued 7 days before the period ends
    sub = SubscriptionModel.get(paid_signup.subscription_id)
    assert sub.anchor == sub.current_period_start and sub.billing_snapshot
    moment = parse_stamp(sub.current_period_end) - timedelta(days=7) + timedelta(hours=1)
    assert jobs.run(moment).steps["renewal_issued"] == [paid_signup.subscription_id]
    # And the queue of the admins and the approval still find the pending payment
    assert [p["id"] for p in api.get("/api/v1/billing/admin/payments", token=admin).body["items"]]


def test_migrate_recounts_the_reports_of_a_store_kept_from_before_them(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given a store whose payments were approved and rejected before the reports kept figures
    admin = api.admin_token()
    rejected = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-WRONG").body["id"]
    assert api.reject(admin, rejected).status == 200
    approved = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-RIGHT").body["id"]
    assert api.approve(admin, approved).status == 200
    before = api.get("/api/v1/billing/admin/reports/summary", token=admin).body["months"][-1]
    for item in ReportAggregateModel.scan():
        item.delete()
    sub = SubscriptionModel.get(paid_signup.subscription_id)
    sub.mrr_minor = None
    sub.save()
    assert not integrity.verify().ok
    # When the migration runs (twice)
    counts = migrate.migrate().counts
    assert (counts["report aggregates recounted"], counts["subscriptions counted in MRR"]) == (4, 1)
    assert migrate.migrate().counts == {}
    # Then the summary says what it said, and verify passes
    after = api.get("/api/v1/billing/admin/reports/summary", token=admin).body["months"][-1]
    assert after == before and (after["collected"], after["mrr"], after["rejections"]) == (
        "89.00", "89.00", 1)
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


def test_migrate_gives_items_written_before_the_month_index_their_month(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given invoices, payments and ledger entries (credits, and money from an overpayment)
    admin = api.admin_token()
    paid = api.confirm(paid_signup.token, paid_signup.invoice_id, amount="100.00", overpayment=True)
    assert paid.status == 201, paid.body
    assert api.approve(admin, paid.body["id"]).status == 200
    tables = {InvoiceModel: lambda i: i.invoice_id, PaymentModel: lambda p: p.payment_id,
              CreditLedgerModel: lambda e: f"{e.account_id}#{e.entry_id}",
              MoneyLedgerModel: lambda e: f"{e.account_id}#{e.entry_id}"}
    written = {model: {name(item): item.created_month for item in model.scan()}
               for model, name in tables.items()}
    assert all(written.values()) and all(all(months.values()) for months in written.values())
    # as the previous version wrote them: without it
    for model in tables:
        for item in model.scan():
            item.update(actions=[model.created_month.remove()])
    # When the migration runs (twice)
    counts = {step: n for step, n in migrate.migrate().counts.items() if "month" in step}
    assert counts == {f"{model.Meta.entity} given their month": len(written[model]) for model in tables}
    assert migrate.migrate().counts == {}
    # Then each has the month a new item gets, and the month index finds it
    for model, name in tables.items():
        assert {name(item): item.created_month for item in model.scan()} == written[model]
        for item in model.scan():
            assert item.created_month == store.spread(item.created_at[:7], name(item))
            found = model.by_created_month.query(item.created_month,
                                                 model.created_at == item.created_at)
            assert name(item) in {name(other) for other in found}
