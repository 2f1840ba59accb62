"""Data integrity checks over a whole store: the rules that every committed state must satisfy.

`load_snapshot()` scans the tables (an operator tool, never a request path); `check()` is pure and
evaluates each rule once per entity it covers, so a report says how many individual checks ran and
which ids broke which rule. `manage.py verify` prints the report; tests call `check()` directly.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.errors import AppError
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel, UserModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.catalog import PaymentMethodModel, PlanModel
from chalicelib.storage.models.reports import ReportAggregateModel
from chalicelib.storage.models.statements import StatementLineModel
from chalicelib.storage.models.records import (
    AuditEventModel,
    CounterModel,
    CreditLedgerModel,
    MoneyLedgerModel,
)

PENDING_APPROVAL = "pending_approval"
FREE_PLAN = "free"
ACCOUNT_STATUSES = ("trial", "pending_payment", "active", "past_due", "suspended", "expired",
                    "cancelled")
_SHARD_PREFIX = "status#"
_SHOWN_IDS = 20


@dataclass
class Snapshot:
    """Every item of the tables the rules read."""

    accounts: list[AccountModel] = field(default_factory=list)
    subscriptions: list[SubscriptionModel] = field(default_factory=list)
    invoices: list[InvoiceModel] = field(default_factory=list)
    payments: list[PaymentModel] = field(default_factory=list)
    ledger: list[CreditLedgerModel] = field(default_factory=list)
    audit: list[AuditEventModel] = field(default_factory=list)
    counters: list[CounterModel] = field(default_factory=list)
    plans: list[PlanModel] = field(default_factory=list)
    methods: list[PaymentMethodModel] = field(default_factory=list)
    money: list[MoneyLedgerModel] = field(default_factory=list)
    lines: list[StatementLineModel] = field(default_factory=list)
    users: list[UserModel] = field(default_factory=list)
    reports: list[ReportAggregateModel] = field(default_factory=list)


def load_snapshot() -> Snapshot:
    """Scan every table the rules read (consistent reads)."""
    tables: dict[str, Any] = {
        "accounts": AccountModel, "subscriptions": SubscriptionModel, "invoices": InvoiceModel,
        "payments": PaymentModel, "ledger": CreditLedgerModel, "audit": AuditEventModel,
        "counters": CounterModel, "plans": PlanModel, "methods": PaymentMethodModel,
        "money": MoneyLedgerModel, "lines": StatementLineModel,
        "users": UserModel, "reports": ReportAggregateModel,
    }
    items: dict[str, list[Any]] = {}
    for name, model in tables.items():
        try:
            with store.guard():
                items[name] = list(model.scan(consistent_read=True))
        except AppError:
            raise
        except Exception as exc:  # a missing table or a refused scan: say which, not a traceback
            raise AppError(f"Could not read table {model.Meta.table_name}: "
                           f"{store.aws_code(exc) or type(exc).__name__}",
                           code="table_unreadable") from exc
    return Snapshot(**items)


@dataclass
class RuleResult:
    """One rule: how many entities it checked and the ones that broke it (id: why)."""

    name: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Report:
    """Every rule's result."""

    rules: list[RuleResult]

    @property
    def total(self) -> int:
        return sum(rule.checked for rule in self.rules)

    @property
    def failing(self) -> int:
        return sum(len(rule.failures) for rule in self.rules)

    @property
    def ok(self) -> bool:
        return self.failing == 0

    def failures_of(self, name: str) -> list[str]:
        """The failures of the rule with this name (KeyError if there is none)."""
        return next(rule.failures for rule in self.rules if rule.name == name)

    def summary(self) -> str:
        """The last line: `Data integrity: 100% (N checks passing)` or the failing share."""
        if self.ok:
            return f"Data integrity: 100% ({self.total} checks passing)"
        passing = math.floor(1000 * (self.total - self.failing) / self.total) / 10
        return f"Data integrity: {passing:.1f}% ({self.failing} of {self.total} checks failing)"

    def lines(self) -> list[str]:
        """One line per rule (✓/✗, count, offending ids), then the summary."""
        out = []
        for rule in self.rules:
            if rule.ok:
                out.append(f"✓ {rule.name}: {rule.checked} checked")
                continue
            out.append(f"✗ {rule.name}: {len(rule.failures)} of {rule.checked} failing")
            out += [f"    {failure}" for failure in rule.failures[:_SHOWN_IDS]]
            if len(rule.failures) > _SHOWN_IDS:
                out.append(f"    ... and {len(rule.failures) - _SHOWN_IDS} more")
        out.append(self.summary())
        return out


# Rules ---------------------------------------------------------------------------------------

RULES: list[Callable[["_Index"], RuleResult]] = []


def _rule(name: str) -> Callable[[Callable[["_Index", RuleResult], None]],
                                 Callable[["_Index"], RuleResult]]:
    def register(body: Callable[["_Index", RuleResult], None]) -> Callable[["_Index"], RuleResult]:
        def run(index: "_Index") -> RuleResult:
            result = RuleResult(name)
            body(index, result)
            return result
        run.__name__ = body.__name__
        RULES.append(run)
        return run
    return register


def _group(items: Iterable[Any], key: Callable[[Any], str | None]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        value = key(item)
        if value:
            groups[value].append(item)
    return dict(groups)  # a plain dict: looking up a missing key must not add it


class _Index:
    """The snapshot grouped the ways the rules look things up."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.accounts = {a.account_id: a for a in snap.accounts}
        self.subscriptions = {s.subscription_id: s for s in snap.subscriptions}
        self.invoices = {i.invoice_id: i for i in snap.invoices}
        self.payments = {p.payment_id: p for p in snap.payments}
        self.plans = {p.slug: p for p in snap.plans}
        self.counters = {c.counter_id: c for c in snap.counters}
        self.ledger_of = _group(snap.ledger, lambda e: e.account_id)
        self.ledger_entries = {(e.account_id, e.entry_id): e for e in snap.ledger}
        self.grants_of_payment = _group(snap.ledger, lambda e: e.reference)
        self.payments_of = _group(snap.payments, lambda p: p.invoice_id)
        self.invoices_of_account = _group(snap.invoices, lambda i: i.account_id)
        self.invoices_of_subscription = _group(snap.invoices, lambda i: i.subscription_id)
        self.audit_of = _group(snap.audit, lambda e: e.entity_id)
        self.lines = {line.line_id: line for line in snap.lines if line.statement_id}
        self.users = {user.user_id: user for user in snap.users}

    @staticmethod
    def statuses(payments: Iterable[PaymentModel]) -> Counter[str]:
        return Counter(p.status for p in payments)


@_rule("no invoice has two payments pending_approval")
def _one_pending_per_invoice(ix: _Index, result: RuleResult) -> None:
    for invoice in ix.snap.invoices:
        result.checked += 1
        pending = ix.statuses(ix.payments_of.get(invoice.invoice_id, []))[PENDING_APPROVAL]
        if pending > 1:
            result.failures.append(f"{invoice.invoice_id}: {pending} payments pending_approval")


@_rule("an invoice's pending_payment_id names its payment awaiting approval")
def _pending_pointer(ix: _Index, result: RuleResult) -> None:
    for invoice in ix.snap.invoices:
        result.checked += 1
        pending = [p.payment_id for p in ix.payments_of.get(invoice.invoice_id, [])
                   if p.status == PENDING_APPROVAL]
        expected = pending[0] if len(pending) == 1 else None
        if invoice.pending_payment_id != expected or len(pending) > 1:
            result.failures.append(f"{invoice.invoice_id}: pending_payment_id "
                                   f"{invoice.pending_payment_id}, awaiting approval {pending}")


@_rule("a payment matches its invoice and is queued iff pending_approval")
def _payment_matches_invoice(ix: _Index, result: RuleResult) -> None:
    for payment in ix.snap.payments:
        result.checked += 1
        invoice = ix.invoices.get(payment.invoice_id)
        problems = []
        if invoice is None:
            problems.append(f"invoice {payment.invoice_id} is missing")
        else:
            mine = (payment.account_id, payment.subscription_id)
            theirs = (invoice.account_id, invoice.subscription_id)
            if mine != theirs:
                problems.append(f"account/subscription {mine} differ from invoice's {theirs}")
            quote = next((q for q in invoice.quotes or [] if q.currency == payment.currency), None)
            if payment.settles is None and (payment.amount_minor, payment.currency) != (
                    invoice.amount_minor, invoice.currency):  # before partial payments: exact
                problems.append(f"amount {payment.amount_minor} {payment.currency} differs from "
                                f"the invoice's {invoice.amount_minor} {invoice.currency}")
            elif payment.currency != invoice.currency and (quote is None or quote.rate != payment.rate):
                problems.append(f"paid in {payment.currency} at {payment.rate}: not a quote of the invoice")
        if payment.status not in (PENDING_APPROVAL, "succeeded", "failed", "reversed"):
            problems.append(f"unknown status {payment.status}")
        if (payment.queue is not None) != (payment.status == PENDING_APPROVAL):
            problems.append(f"{payment.status} with approval queue {payment.queue}")
        if payment.status != PENDING_APPROVAL and not (payment.decided_at and payment.decided_by):
            problems.append(f"{payment.status} without decided_at/decided_by")
        if problems:
            result.failures.append(f"{payment.payment_id}: {'; '.join(problems)}")


def _trail_problem(events: list[AuditEventModel], current: str) -> str | None:
    """Why the audit events do not replay creation → ... → `current`, or None if they do. An
    event that keeps the status (a period starting: active → active) is replayed as soon as its
    status is reached, so the order of the events of one moment (a job run catching up takes
    several steps at once, their ids in random order) does not matter."""
    remaining = sorted(events, key=lambda e: (e.at, e.event_id))
    state: str | None = None
    while remaining:
        matching = [e for e in remaining if e.from_status == state]
        if not matching:
            return (f"no audit event from {state or 'creation'} (left: "
                    f"{', '.join(f'{e.from_status}->{e.to_status}' for e in remaining)})")
        step = min(matching, key=lambda e: (e.from_status != e.to_status, e.at, e.event_id))
        remaining.remove(step)
        state = step.to_status
    if state != current:
        return f"status {current} but the audit trail ends at {state or 'nothing'}"
    return None


@_rule("every state change has its audit event")
def _audit_trails(ix: _Index, result: RuleResult) -> None:
    entities: list[tuple[str, str, str]] = (
        [("account", a.account_id, a.status) for a in ix.snap.accounts]
        + [("subscription", s.subscription_id, s.status) for s in ix.snap.subscriptions]
        + [("invoice", i.invoice_id, i.status) for i in ix.snap.invoices]
        + [("payment", p.payment_id, p.status) for p in ix.snap.payments])
    for entity_type, entity_id, status in entities:
        result.checked += 1
        events = ix.audit_of.get(entity_id, [])
        problem = _trail_problem(events, status)
        if problem is None and any(e.entity_type != entity_type for e in events):
            problem = f"events of another entity type than {entity_type}"
        if problem:
            result.failures.append(f"{entity_type} {entity_id}: {problem}")


@_rule("every audit trail belongs to an existing entity")
def _no_orphan_audit(ix: _Index, result: RuleResult) -> None:
    known = {"account": ix.accounts, "subscription": ix.subscriptions, "invoice": ix.invoices,
             "payment": ix.payments, "statement_line": ix.lines, "admin": ix.users}
    for entity_id, events in ix.audit_of.items():
        result.checked += 1
        kind = events[0].entity_type
        if entity_id not in known.get(kind, {}):
            result.failures.append(f"{kind} {entity_id}: {len(events)} audit events, no such {kind}")


@_rule("invoice numbers are unique and issued by their year's sequence")
def _invoice_numbers(ix: _Index, result: RuleResult) -> None:
    seen = Counter(invoice.invoice_number for invoice in ix.snap.invoices)
    for invoice in ix.snap.invoices:
        result.checked += 1
        number = invoice.invoice_number
        parts = number.split("-")
        sequence = ix.counters.get(f"invoice_number#{parts[1]}") if len(parts) == 3 else None
        if seen[number] > 1:
            result.failures.append(f"{invoice.invoice_id}: {number} is used {seen[number]} times")
        elif sequence is None or not parts[2].isdigit() or int(parts[2]) > (sequence.value or 0):
            result.failures.append(f"{invoice.invoice_id}: {number} is beyond its year's sequence")


@_rule("status counters (all shards) equal the actual counts")
def _status_counters(ix: _Index, result: RuleResult) -> None:
    shards = [c for c in ix.snap.counters if c.counter_id.startswith(_SHARD_PREFIX)]
    actual = Counter(f"accounts_{a.status}" for a in ix.snap.accounts)
    actual["payments_pending_approval"] = sum(1 for p in ix.snap.payments
                                              if p.status == PENDING_APPROVAL)
    names = [f"accounts_{status}" for status in ACCOUNT_STATUSES] + ["payments_pending_approval"]
    for name in names + sorted(set(actual) - set(names)):
        result.checked += 1
        counted = sum(getattr(shard, name, None) or 0 for shard in shards)
        if counted != actual[name]:
            result.failures.append(f"{name}: counters say {counted}, the tables hold {actual[name]}")
    reference = ix.counters.get("reference")
    for name, real in (("plans_configured", len(ix.snap.plans)),
                       ("payment_methods_enabled", sum(1 for m in ix.snap.methods if m.enabled))):
        result.checked += 1
        counted = getattr(reference, name, None) if reference else None
        if counted != real:
            result.failures.append(f"reference.{name}: counter says {counted}, the tables hold {real}")


from ops import balance_rules, money_rules, report_rules, statement_rules  # noqa: E402,F401 - registers the rules of money, periods, statements and reports

def check(snapshot: Snapshot) -> Report:
    """Evaluate every rule over the snapshot."""
    index = _Index(snapshot)
    return Report([rule(index) for rule in RULES])


def verify() -> Report:
    """Scan the store and check it."""
    return check(load_snapshot())
