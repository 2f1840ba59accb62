"""The billing clock: subscriptions' renewals and dunning, trials' ends, reminders before the due
date, voiding unpaid first invoices, overdue reviews.

`run(moment)` runs the jobs; AWS runs it on a schedule (`app.py`), `make jobs` by hand. Each
change is a conditional transaction that also queues its email, and the condition is what makes
it happen once: running the jobs twice (or two at once) sends nothing twice.

- A subscription or trial whose `sweep_at` is due takes its steps (`sweep`, `accounts.trials`).
  They are found through a sparse index sharded over INDEX_SHARDS keys, never a Scan, so a run
  costs what is due; a run that reaches its time limit stops between items, and the next run
  takes what is still due (each step's condition keeps it from happening twice).
- An unpaid invoice due within REMINDER_DAYS_BEFORE days gets one reminder (`reminded_at`).
- A first (signup) invoice still unpaid INVOICE_GRACE_DAYS after its due date, with no payment awaiting
  approval, is voided: invoice `void`, subscription `cancelled`, account `suspended` (it never
  had paid credits; an admin or a new signup brings it back). A payment under review holds
  the invoice open: the admins decide it first.
- A payment awaiting approval longer than APPROVAL_SLA_HOURS alerts the admins once
  (`sla_alerted_at`).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.accounts import trials
from chalicelib.billing import balance, fx, sweep
from chalicelib.billing.payments import PENDING
from chalicelib.core.clock import now as clock_now
from chalicelib.core.clock import stamp
from chalicelib.core.config import get_settings
from chalicelib.notifications import messages
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import (
    PAYABLE,
    OPEN_INVOICE,
    SWEEP,
    InvoiceModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.store import Tx, commit_or_skip

log = logging.getLogger(__name__)
SYSTEM = "system:billing-jobs"
PAGE_SIZE = 100  # due items read per Query page


@dataclass
class Report:
    """What one run did, by job: the ids changed (a subscription's or trial's steps by name)."""

    steps: dict[str, list[str]] = field(default_factory=dict)
    reminded: list[str] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    overdue_alerts: list[str] = field(default_factory=list)
    finished: bool = True  # False: the time limit came first; the next run continues

    def took(self, entity_id: str, steps: list[str]) -> None:
        for step in steps:
            self.steps.setdefault(step, []).append(entity_id)

    def counts(self) -> dict[str, int]:
        steps = {name: len(ids) for name, ids in sorted(self.steps.items())
                 if name not in ("rescheduled", "paused", "untracked")}
        return {**steps, "reminded": len(self.reminded), "voided": len(self.voided),
                "overdue_alerts": len(self.overdue_alerts)}


def run(moment: datetime | None = None, time_limit: float | None = None) -> Report:
    """Run every job as of `moment` (now by default), stopping between items after `time_limit`
    seconds (JOB_TIME_LIMIT_SECONDS)."""
    moment = moment or clock_now()
    limit = get_settings().job_time_limit_seconds if time_limit is None else time_limit
    deadline = time.monotonic() + limit
    report = Report()
    with fx.one_reading():  # every renewal of this run is quoted from one reading of the rates
        sweep_subscriptions(moment, report, deadline)
    sweep_trials(moment, report, deadline)
    report.reminded = send_reminders(moment)
    report.voided = void_unpaid(moment)
    report.overdue_alerts = alert_overdue_reviews(moment)
    return report


def _due(model: Any, moment: datetime) -> Iterator[Any]:
    """The items of `model`'s sharded due index whose time has come, shard after shard, lazily
    (a page at a time)."""
    for shard in store.spreads(SWEEP):
        with store.guard():
            yield from model.due_by_time.query(shard, model.sweep_at <= stamp(moment),
                                               page_size=PAGE_SIZE)


def sweep_subscriptions(moment: datetime, report: Report, deadline: float) -> None:
    """Every subscription step due by `moment` (renewal invoices, period ends, dunning)."""
    with store.guard():
        plans = _plans()
    mail_at = _mail_time(moment)
    for sub in _due(SubscriptionModel, moment):
        if time.monotonic() > deadline:
            report.finished = False
            return
        report.took(sub.subscription_id, sweep.advance(sub, moment, plans, mail_at))


def sweep_trials(moment: datetime, report: Report, deadline: float) -> None:
    """Every trial step due by `moment` (the ending email, the end)."""
    mail_at = _mail_time(moment)
    for account in _due(AccountModel, moment):
        if time.monotonic() > deadline:
            report.finished = False
            return
        report.took(account.account_id, trials.advance(account, moment, mail_at))


def _plans() -> dict[str, PlanModel]:
    """The self-serve plans (the only ones a subscription can have), one query per run."""
    with store.guard():
        return {plan.slug: plan for plan in PlanModel.catalog.query("self_serve")}


def send_reminders(moment: datetime) -> list[str]:
    """One reminder for each unpaid invoice falling due within the next few days."""
    today = moment.date()
    last_day = (today + timedelta(days=get_settings().reminder_days_before)).isoformat()
    done = []
    for invoice in _open_invoices(InvoiceModel.due_date.between(today.isoformat(), last_day),
                                  InvoiceModel.reminded_at.does_not_exist()):
        at = stamp(moment)
        tx = Tx()
        tx.update("invoice", invoice, [InvoiceModel.reminded_at.set(at)],
                  condition=InvoiceModel.status.is_in(*PAYABLE)
                  & InvoiceModel.reminded_at.does_not_exist())
        messages.queue_invoice_reminder(tx, invoice=invoice, at=_mail_time(moment))
        if commit_or_skip(tx, invoice.invoice_id):
            done.append(invoice.invoice_id)
    return done


def void_unpaid(moment: datetime) -> list[str]:
    """Void the first invoices still unpaid a grace period after their due date (renewal and
    upgrade invoices follow their subscription's period instead: `sweep`)."""
    cutoff = (moment.date() - timedelta(days=get_settings().invoice_grace_days)).isoformat()
    done = []
    for invoice in _open_invoices(InvoiceModel.due_date < cutoff,
                                  InvoiceModel.pending_payment_id.does_not_exist()
                                  & (InvoiceModel.kind.does_not_exist()
                                     | InvoiceModel.kind.is_in("signup", "topup"))):
        subscription, account = store.transact_get((SubscriptionModel, invoice.subscription_id),
                                                   (AccountModel, invoice.account_id))
        if subscription is None or account is None:
            log.warning("invoice %s: subscription or account missing; not voided", invoice.invoice_id)
            continue
        if _void(invoice, subscription, account, stamp(moment), _mail_time(moment)):
            done.append(invoice.invoice_id)
    return done


def _void(invoice: InvoiceModel, subscription: SubscriptionModel, account: AccountModel,
          at: str, mail_at: str | None = None) -> bool:
    tx = Tx()
    tx.update("invoice", invoice, [InvoiceModel.status.set("void"), InvoiceModel.voided_at.set(at),
                                   InvoiceModel.open.remove()],
              condition=(InvoiceModel.status == invoice.status) & InvoiceModel.status.is_in(*PAYABLE)
              & InvoiceModel.pending_payment_id.does_not_exist())
    add_audit(tx, entity_type="invoice", entity_id=invoice.invoice_id, action="voided_unpaid",
              from_status=invoice.status, to_status="void", actor=SYSTEM, at=at)
    balance.refund_voided(tx, invoice, SYSTEM, at)
    if subscription.status == "pending_payment":
        tx.update("subscription", subscription,
                  [SubscriptionModel.status.set("cancelled"), SubscriptionModel.updated_at.set(at)],
                  condition=SubscriptionModel.status == "pending_payment")
        add_audit(tx, entity_type="subscription", entity_id=subscription.subscription_id,
                  action="cancelled_unpaid", from_status="pending_payment", to_status="cancelled",
                  actor=SYSTEM, at=at)
    if account.status != "pending_payment" and account.pending_invoice_id == invoice.invoice_id:
        # A trial that subscribed stays a trial; only the pointer to the voided invoice goes.
        tx.update("account", account, [AccountModel.pending_invoice_id.remove()],
                  condition=AccountModel.pending_invoice_id == invoice.invoice_id)
    if account.status == "pending_payment" and account.pending_invoice_id == invoice.invoice_id:
        tx.update("account", account,
                  [AccountModel.status.set("suspended"), AccountModel.pending_invoice_id.remove(),
                   AccountModel.updated_at.set(at)],
                  condition=(AccountModel.status == "pending_payment")
                  & (AccountModel.pending_invoice_id == invoice.invoice_id))
        add_audit(tx, entity_type="account", entity_id=account.account_id, action="suspended_unpaid",
                  from_status="pending_payment", to_status="suspended", actor=SYSTEM, at=at)
        tx.count("accounts_pending_payment", -1)
        tx.count("accounts_suspended", 1)
    messages.queue_invoice_voided(tx, invoice=invoice, at=mail_at or at)
    return commit_or_skip(tx, invoice.invoice_id)


def alert_overdue_reviews(moment: datetime) -> list[str]:
    """Alert the admins, once per payment, about payments awaiting approval for too long."""
    cutoff = stamp(moment - timedelta(hours=get_settings().approval_sla_hours))
    overdue = []
    for shard in store.spreads(PENDING):
        with store.guard():
            overdue += PaymentModel.approval_queue.query(
                shard, PaymentModel.created_at < cutoff,
                filter_condition=PaymentModel.sla_alerted_at.does_not_exist())
    done = []
    for payment in overdue:
        at = stamp(moment)
        invoice = store.get(InvoiceModel, payment.invoice_id)
        tx = Tx()
        tx.update("payment", payment, [PaymentModel.sla_alerted_at.set(at)],
                  condition=(PaymentModel.status == PENDING)
                  & PaymentModel.sla_alerted_at.does_not_exist())
        messages.queue_approval_overdue(tx, payment=payment, invoice=invoice,
                                             at=_mail_time(moment))
        if commit_or_skip(tx, payment.payment_id):
            done.append(payment.payment_id)
    return done


def _mail_time(moment: datetime) -> str:
    """When a job's email is due: now, even when the jobs run as of a later time (`make jobs AT=`),
    so the outbox sends it at once rather than on that date."""
    return stamp(min(moment, clock_now()))


def _open_invoices(range_condition: Any, filter_condition: Any) -> list[InvoiceModel]:
    found: list[InvoiceModel] = []
    for shard in store.spreads(OPEN_INVOICE):
        with store.guard():
            found += InvoiceModel.open_by_due_date.query(shard, range_condition,
                                                         filter_condition=filter_condition)
    return found

