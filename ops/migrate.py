"""Bring items written before the subscription lifecycle up to date (`manage.py migrate`; `make dev`
runs it at start). Idempotent: every write is conditional on the old shape, so running it again,
or while the app serves, changes nothing twice.

1. Sparse index keys that held one value for every item (`open`, `pending_approval`, `pending`)
   move to their shards (`store.spread`), found by querying the old value: no Scan.
2. Accounts get their credit buckets (all of the balance is allowance); trials get their end
   (TRIAL_DAYS after signup) and their place in the due index; active subscriptions get their
   anchor (the start of their current period), period 0 paid, and their place in the due index,
   so that they renew; ledger entries get their order and balance after; accounts get their place
   in the by-name index (the admin's search). These scan the accounts, subscriptions and ledger
   once (an operator tool).
3. Paid accounts get their subscription's `current_period_end` (entitlements read it from the
   account) and the size their allowance started at (`allowance_granted`, the plan's credits or
   what is left if more; `credits.low` measures from it).
4. Invoices, payments and both ledgers' entries get their place in the month index
   (`created_month`, what the admin's exports read a date range from). This scans those tables
   once (an operator tool).
5. A store without the reports' aggregates (kept from before them) gets them, recounted from the
   items as `make verify` recounts them (`ops.report_rules.backfill`), each counted subscription's
   MRR dated at its first activation; run it right after deploying, as every step here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.accounts import trials
from chalicelib.billing import lifecycle
from chalicelib.billing.payments import PENDING
from chalicelib.storage import outbox, store
from chalicelib.storage.models.accounts import AccountModel, name_attributes
from chalicelib.storage.models.billing import (
    OPEN_INVOICE,
    InvoiceModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.reports.aggregates import COUNTED, monthly_price
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.records import CreditLedgerModel, MoneyLedgerModel
from chalicelib.storage.models.reports import ReportAggregateModel


@dataclass
class Migrated:
    """How many items each step changed."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def lines(self) -> list[str]:
        return [f"{name}: {count}" for name, count in sorted(self.counts.items())] or ["nothing to do"]


def _update(item: Any, actions: list[Any], condition: Any) -> bool:
    try:
        with store.guard():
            item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if store.aws_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


_SPARSE = (
    (InvoiceModel, InvoiceModel.open_by_due_date, "open", OPEN_INVOICE, "invoice_id"),
    (PaymentModel, PaymentModel.approval_queue, "queue", PENDING, "payment_id"),
    (OutboxModel, OutboxModel.due, "queue", outbox.QUEUE, "message_id"),
)


def _reshard(done: Migrated) -> None:
    for model, index, attribute, old, key in _SPARSE:
        with store.guard():
            found = [getattr(item, key) for item in index.query(old)]
        for item_id in found:
            column = getattr(model, attribute)
            if _update(model(item_id), [column.set(store.spread(old, item_id))], column == old):
                done.add(f"{model.Meta.entity}.{attribute} sharded")


def _accounts(done: Migrated) -> None:
    with store.guard():
        every = list(AccountModel.scan())
    for account in every:
        if account.name_shard is None and account.name:  # the admin's search by name
            names = name_attributes(account.account_id, account.name)
            if _update(account, [AccountModel.name_shard.set(names["name_shard"]),
                                 AccountModel.name_sort.set(names["name_sort"])],
                       AccountModel.name_shard.does_not_exist()):
                done.add("accounts indexed by name")
    accounts = [a for a in every if a.allowance is None]
    for account in accounts:
        actions = [AccountModel.allowance.set(account.credits - (account.extra or 0)),
                   AccountModel.extra.set(account.extra or 0)]
        if account.status == "trial" and not account.trial_ends_at:
            trials.start(account, account.created_at)
            actions += [AccountModel.trial_ends_at.set(account.trial_ends_at),
                        AccountModel.sweep.set(account.sweep),
                        AccountModel.sweep_at.set(account.sweep_at)]
        if _update(account, actions, AccountModel.allowance.does_not_exist()
                   & (AccountModel.credits == account.credits)):
            done.add("accounts given buckets")


def _subscriptions(done: Migrated) -> None:
    with store.guard():
        subs = [s for s in SubscriptionModel.scan()
                if s.status == "active" and not s.anchor and s.current_period_start]
    for sub in subs:
        sub.anchor, sub.period, sub.paid_through = sub.current_period_start, 0, 0
        actions = [SubscriptionModel.anchor.set(sub.anchor), SubscriptionModel.period.set(0),
                   SubscriptionModel.paid_through.set(0), *lifecycle.sweep_actions(sub)]
        first = _first_invoice(sub)
        if first is not None and not sub.billing_snapshot:
            actions += [SubscriptionModel.billing_snapshot.set(first.billing_snapshot),
                        SubscriptionModel.billing_country.set(first.billing_country),
                        SubscriptionModel.preferred_payment_method.set(first.preferred_payment_method)]
        if _update(sub, actions, SubscriptionModel.anchor.does_not_exist()
                   & (SubscriptionModel.status == "active")):
            done.add("subscriptions anchored")


def _periods(done: Migrated) -> None:
    with store.guard():
        subs = [s for s in SubscriptionModel.scan() if s.current_period_end]
    for sub in subs:
        account = store.get(AccountModel, sub.account_id)
        if account is None or account.subscription_id not in (None, sub.subscription_id):
            continue
        if not account.current_period_end and _update(
                account, [AccountModel.current_period_end.set(sub.current_period_end)],
                AccountModel.current_period_end.does_not_exist()):
            done.add("accounts given their period end")
        if account.allowance_granted is None and account.status != "trial":
            plan = store.get(PlanModel, account.plan)
            granted = max(plan.credits if plan else 0, account.allowance or 0)
            if _update(account, [AccountModel.allowance_granted.set(granted)],
                       AccountModel.allowance_granted.does_not_exist()):
                done.add("accounts given their allowance's size")


def _reports(done: Migrated) -> None:
    from ops import integrity, report_rules

    with store.guard():
        if list(ReportAggregateModel.scan(limit=1)):
            return  # kept by the transactions already
    index = integrity._Index(integrity.load_snapshot())
    if not index.snap.invoices:
        return
    for sub in index.snap.subscriptions:
        if sub.status in COUNTED and sub.mrr_minor is None and _update(
                sub, [SubscriptionModel.mrr_minor.set(monthly_price(sub.plan))],
                SubscriptionModel.mrr_minor.does_not_exist() & (SubscriptionModel.status == sub.status)):
            done.add("subscriptions counted in MRR")
    for (month, key), figures in report_rules.backfill(index).items():
        actions = [getattr(ReportAggregateModel, name).add(value) for name, value in figures.items() if value]
        if actions:
            with store.guard():
                ReportAggregateModel(month, f"{key}#0").update(actions=actions)
            done.add("report aggregates recounted")


def _first_invoice(sub: SubscriptionModel) -> InvoiceModel | None:
    with store.guard():
        return next(iter(InvoiceModel.by_account.query(
            sub.account_id, filter_condition=InvoiceModel.subscription_id == sub.subscription_id)),
            None)


def _ledger(done: Migrated) -> None:
    """Entries without their place in the account's order or their balance after: set both, the
    balance as the running sum in the order they were written."""
    with store.guard():
        accounts = sorted({e.account_id for e in CreditLedgerModel.scan(
            filter_condition=CreditLedgerModel.ordered_at.does_not_exist())})
    for account_id in accounts:
        with store.guard():
            entries = sorted(CreditLedgerModel.query(account_id),
                             key=lambda e: (e.ordered_at or f"{e.created_at}#00", e.entry_id))
        balance = 0
        for entry in entries:
            balance += entry.amount
            if entry.ordered_at:
                continue
            if _update(entry, [CreditLedgerModel.ordered_at.set(f"{entry.created_at}#00"),
                               CreditLedgerModel.balance_after.set(balance)],
                       CreditLedgerModel.ordered_at.does_not_exist()):
                done.add("ledger entries ordered")


# The month index's shard names the item: an invoice or payment by its id, a ledger entry by its
# account and entry (as the code that writes them spreads them).
_MONTHS = (
    (InvoiceModel, lambda item: item.invoice_id),
    (PaymentModel, lambda item: item.payment_id),
    (CreditLedgerModel, lambda item: f"{item.account_id}#{item.entry_id}"),
    (MoneyLedgerModel, lambda item: f"{item.account_id}#{item.entry_id}"),
)


def _months(done: Migrated) -> None:
    """Items written before the month index: their `created_month`, as new items get it."""
    for model, name in _MONTHS:
        with store.guard():
            missing = list(model.scan(filter_condition=model.created_month.does_not_exist()))
        for item in missing:
            month = store.spread(item.created_at[:7], name(item))
            if _update(item, [model.created_month.set(month)],
                       model.created_month.does_not_exist() & model.created_at.exists()):
                done.add(f"{model.Meta.entity} given their month")


def migrate() -> Migrated:
    """Every step, in order; what each changed."""
    done = Migrated()
    _reshard(done)
    _accounts(done)
    _subscriptions(done)
    _periods(done)
    _ledger(done)
    _months(done)
    _reports(done)
    return done
