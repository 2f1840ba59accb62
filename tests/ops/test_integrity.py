"""The integrity checker: the seed's workflows leave a store that passes every rule; each kind of
corruption is named, with the offending id, and makes `manage.py verify` exit 1.

Every rule has at least one corruption that breaks it and no other rule (`CORRUPTIONS`, checked by
`test_every_rule_has_a_corruption_only_it_catches`), so a rule that stopped catching anything
would be noticed."""
from __future__ import annotations

import base64

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

import manage
from chalicelib.storage.models.reports import ReportAggregateModel
from chalicelib.storage.models.statements import StatementLineModel
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.records import (
    AuditEventModel,
    CounterModel,
    CreditLedgerModel,
    MoneyLedgerModel,
)
from chalicelib.billing import sweep
from chalicelib.core.clock import parse_stamp, stamp
from ops import integrity
from tests.conftest import Api, MotoStore

SUMMARY_OK = "Data integrity: 100% ({} checks passing)"


@dataclass
class Seeded:
    """What the seed's workflows left: a trial, an approved signup, a rejected-then-approved one,
    and a signup whose confirmation awaits approval."""

    trial_account: str
    paid_account: str
    paid_subscription: str
    paid_invoice: str
    paid_payment: str
    retried_invoice: str
    rejected_payment: str
    pending_account: str
    pending_invoice: str
    pending_payment: str
    renewal: str  # the paid account's period-1 renewal: paid, the period rolled
    next_renewal: str  # its period-2 renewal: issued, unpaid
    released: str  # a consumption of the paid account's credits, released
    retried_account: str = ""  # the rejected-then-approved one, overpaid by 11.00: its balance
    statement_line: str = ""  # a bank statement line applied: a payment recorded from it, approved


@pytest.fixture(scope="module")
def built(moto_module: MotoStore) -> tuple[Seeded, Any]:
    """The seed's workflows, run once for the module, and the store as they left it."""
    moto_module.restore()
    return _run_seed_workflows(Api()), moto_module.checkpoint()


@pytest.fixture
def seeded(built: tuple[Seeded, Any], moto_module: MotoStore) -> Seeded:
    """The store as the seed's workflows left it (restored for each test: a test corrupts it)."""
    result, checkpoint = built
    moto_module.restore(checkpoint)
    return result


def _run_seed_workflows(api: Api) -> Seeded:
    admin = api.admin_token()
    trial = api.register("trial@khan.pk")
    assert trial.status == 201, trial.body

    subscriptions = []

    def paid(email: str) -> tuple[str, str, str]:
        reply = api.register(email, plan="starter", payment_method="bank_transfer")
        assert reply.status == 201, reply.body
        subscriptions.append(reply.body["subscription"]["id"])
        return reply.body["access_token"], reply.body["account"]["id"], reply.body["invoice"]["id"]

    def confirm(token: str, invoice_id: str, reference: str) -> str:
        reply = api.confirm(token, invoice_id, reference=reference)
        assert reply.status == 201, reply.body
        return reply.body["id"]

    # Paid signup + confirm + approve
    token, paid_account, paid_invoice = paid("ayesha@khan.pk")
    paid_payment = confirm(token, paid_invoice, "BT-2025-001")
    assert api.approve(admin, paid_payment).status == 200
    # Rejection + resubmit + approve
    token, retried_account, retried_invoice = paid("bilal@khan.pk")
    rejected = confirm(token, retried_invoice, "BT-WRONG")
    assert api.reject(admin, rejected).status == 200
    overpaid = api.confirm(token, retried_invoice, amount="100.00", reference="BT-RIGHT", overpayment=True)
    assert overpaid.status == 201, overpaid.body
    assert api.approve(admin, overpaid.body["id"]).status == 200  # 11.00 into the balance
    # A confirmation still awaiting approval
    token, pending_account, pending_invoice = paid("sana@khan.pk")
    pending_payment = confirm(token, pending_invoice, "BT-2025-002")
    # The first subscription renews once (paid early, rolled at its end) and is invoiced again
    renewal, next_renewal = _renew(api, admin, subscriptions[0], paid_account)
    # Its credits used twice by the SaaS's backend, one use given back
    key = api.post("/api/v1/billing/admin/service-keys", {"name": "backend"}, token=admin).body["key"]
    used = [api.post("/api/v1/credits/consume", {"account_id": paid_account, "amount": 10,
                                                 "reason": "render"},
                     token=key, headers={"idempotency-key": f"use-{n}"}).body for n in range(2)]
    assert api.post("/api/v1/credits/release", {"entry_id": used[0]["entry_id"]}, token=key,
                    headers={"idempotency-key": "undo"}).status == 200
    # A signup paid by a bank statement line, applied by the admin (no one confirmed it)
    reply = api.register("dana@khan.pk", plan="starter", payment_method="bank_transfer")
    reference = reply.body["invoice"]["payment_reference"]
    csv = f"Date,Amount,Currency,Description\n2026-12-01,89.00,USD,Invoice {reference}\n".encode()
    statement = api.post("/api/v1/billing/admin/statements", {
        "filename": "s.csv", "content_base64": base64.b64encode(csv).decode()}, token=admin).body
    applied = api.post(f"/api/v1/billing/admin/statements/{statement['id']}/apply-exact", token=admin)
    assert applied.status == 200 and applied.body["applied"] == 1, applied.body
    return Seeded(trial.body["account"]["id"], paid_account, subscriptions[0], paid_invoice,
                  paid_payment, retried_invoice, rejected, pending_account, pending_invoice,
                  pending_payment, renewal, next_renewal, used[0]["entry_id"], retried_account,
                  applied.body["items"][0]["line_id"])


def _renew(api: Api, admin: str, subscription_id: str, account_id: str) -> tuple[str, str]:
    """Take the subscription's own time-driven steps (only its: the other seeded accounts keep
    their states) through one paid renewal to the next renewal invoice."""
    def step(at: datetime) -> None:
        sub = SubscriptionModel.get(subscription_id, consistent_read=True)
        sweep.advance(sub, at, {}, stamp(at))

    end = parse_stamp(SubscriptionModel.get(subscription_id).current_period_end)
    step(end - timedelta(days=7) + timedelta(hours=1))
    renewal = SubscriptionModel.get(subscription_id).renewal_invoice_id
    token = api.login("ayesha@khan.pk")
    payment = api.confirm(token, renewal, reference="BT-RENEWAL-1")
    assert payment.status == 201 and api.approve(admin, payment.body["id"]).status == 200
    step(end + timedelta(hours=1))
    following = parse_stamp(SubscriptionModel.get(subscription_id).current_period_end)
    step(following - timedelta(days=7) + timedelta(hours=1))
    next_renewal = SubscriptionModel.get(subscription_id).renewal_invoice_id
    assert AccountModel.get(account_id).pending_invoice_id == next_renewal
    return renewal, next_renewal


def run_verify(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """`manage.py verify` in this process (against the test's moto): exit code and printed lines."""
    code = manage.main(["verify"])
    return code, capsys.readouterr().out.splitlines()


def test_the_seed_workflows_pass_every_check(seeded, capsys):
    # Given the store after the seed's workflows
    # When the checker runs
    report = integrity.verify()
    # Then every rule passes, and each ran at least once
    assert report.ok, "\n".join(report.lines())
    assert all(rule.checked > 0 for rule in report.rules), [(r.name, r.checked) for r in report.rules]
    # And manage.py verify prints one ✓ line per rule and the 100% line, and exits 0
    code, lines = run_verify(capsys)
    assert code == 0, lines
    assert lines[-1] == SUMMARY_OK.format(report.total)
    assert len(lines) == len(report.rules) + 1
    assert all(line.startswith("✓ ") for line in lines[:-1]), lines


def test_an_empty_store_passes(aws):
    # Given only the reference data and the admin
    report = integrity.verify()
    # Then the counters and the admin's account are consistent
    assert report.ok, "\n".join(report.lines())
    assert report.summary() == SUMMARY_OK.format(report.total)


def _update(model: type, key: tuple, **values: object) -> None:
    item = model.get(*key, consistent_read=True)
    for name, value in values.items():
        setattr(item, name, value)
    item.save()


def _delete_audit(entity_id: str, action: str) -> None:
    for event in AuditEventModel.query(entity_id):
        if event.action == action:
            event.delete()


def _copy_payment(payment_id: str, new_id: str) -> None:
    payment = PaymentModel.get(payment_id, consistent_read=True)
    payment.payment_id = new_id
    payment.save()


def _counter_shard(field: str = "accounts_active") -> CounterModel:
    return next(c for c in CounterModel.scan() if c.counter_id.startswith("status#")
                and (getattr(c, field) or 0) > 0)


def _second_pending_payment_with_its_trail(s: Seeded) -> None:
    """A second payment awaiting approval, with the audit event and counter a real one has."""
    _copy_payment(s.pending_payment, "pay_copy")
    AuditEventModel("pay_copy", "2026-01-01T00:00:00.000000Z#0", entity_type="payment",
                    action="submitted", from_status=None, to_status="pending_approval",
                    actor="x", at="2026-01-01T00:00:00.000000Z").save()
    shard = _counter_shard("payments_pending_approval")
    _update(CounterModel, (shard.counter_id,),
            payments_pending_approval=shard.payments_pending_approval + 1)


def _shift_balance(account_id: str, delta: int) -> None:
    account = AccountModel.get(account_id, consistent_read=True)
    _update(AccountModel, (account_id,), credits=account.credits + delta,
            allowance=account.allowance + delta)


def _grant_changed_with_the_balance(s: Seeded) -> None:
    _update(CreditLedgerModel, (s.paid_account, f"payment#{s.paid_payment}"), amount=999)
    _shift_balance(s.paid_account, -1)


def _retried_payment(s: Seeded) -> PaymentModel:
    return next(p for p in PaymentModel.scan() if p.invoice_id == s.retried_invoice
                and p.status == "succeeded")


def _grant_deleted_with_the_balance(s: Seeded) -> None:
    """The retried signup's grant deleted (its account has used nothing), the balance in step."""
    payment = _retried_payment(s)
    CreditLedgerModel.get(payment.account_id, f"payment#{payment.payment_id}").delete()
    _shift_balance(payment.account_id, -1000)


def _renewal_grant_doubled_with_the_balance(s: Seeded) -> None:
    granted = next(e for e in CreditLedgerModel.query(s.paid_account) if e.reason == "allowance_granted")
    _update(CreditLedgerModel, (s.paid_account, granted.entry_id), amount=2000)
    _shift_balance(s.paid_account, 1000)


def _second_live_renewal_with_its_trail(s: Seeded) -> None:
    """A second issued renewal for the period that already has one (a unique number, an audit
    event: all a real one has)."""
    copy = InvoiceModel.get(s.next_renewal, consistent_read=True)
    copy.invoice_id = "inv_copy"
    copy.invoice_number = copy.invoice_number[:9] + "000000"
    copy.save()
    AuditEventModel("inv_copy", "2026-01-01T00:00:00.000000Z#0", entity_type="invoice",
                    action="renewal_issued", from_status=None, to_status="pending",
                    actor="x", at="2026-01-01T00:00:00.000000Z").save()


def _released_twice_with_the_balance(s: Seeded) -> None:
    """A second release of one consumption, the account's buckets raised to match."""
    release = CreditLedgerModel.get(s.paid_account, f"release#{s.released}", consistent_read=True)
    release.entry_id = f"release#{s.released}#again"
    release.save()
    _shift_balance(s.paid_account, 10)


def _consumption_shrunk_with_the_balance(s: Seeded) -> None:
    """A consumption that says it took 10 of the allowance but counts 1, balance in step."""
    used = next(e for e in CreditLedgerModel.query(s.paid_account)
                if e.reason == "consumed" and e.entry_id != s.released)
    _update(CreditLedgerModel, (s.paid_account, used.entry_id), amount=-1)
    account = AccountModel.get(s.paid_account, consistent_read=True)
    _update(AccountModel, (s.paid_account,), credits=account.credits + 9)


def _money_without_cause(s: Seeded) -> None:
    """A money entry no payment or invoice explains, the balance raised to match."""
    MoneyLedgerModel(s.retried_account, "gift#1", amount_minor=500, currency="USD", reason="gift",
                     reference="x", actor="x", created_at="2026-01-01T00:00:00Z").save()
    account = AccountModel.get(s.retried_account, consistent_read=True)
    _update(AccountModel, (s.retried_account,), balance_minor=(account.balance_minor or 0) + 500)


def _anchor_moved(s: Seeded) -> None:
    sub = SubscriptionModel.get(s.paid_subscription, consistent_read=True)
    _update(SubscriptionModel, (s.paid_subscription,),
            anchor=stamp(parse_stamp(sub.anchor) + timedelta(days=1)))


def _number_of(invoice_id: str) -> str:
    return InvoiceModel.get(invoice_id, consistent_read=True).invoice_number


CREDITS = "account credits equal the sum of their ledger entries, bucket by bucket"
TRIAL = "a trial was granted the free plan's credits once and holds no more, with no paid plan"
PAID_IFF_ONE = ("an invoice's amount = amount_paid + written_off + balance_applied + amount_due, "
                "as its payments and status say")
BALANCE = "an account's balance is the sum of its money-ledger entries, never negative"
MONEY_CAUSES = "every money-ledger entry names its cause, once"
ONE_PENDING = "no invoice has two payments pending_approval"
POINTER = "an invoice's pending_payment_id names its payment awaiting approval"
PAYMENT_MATCHES = "a payment matches its invoice and is queued iff pending_approval"
ACCOUNT_ACTIVE = "an account's status agrees with its subscription's, and its pending invoice is pending"
SUBSCRIPTION_ACTIVE = "a subscription's periods are paid once each, contiguous from its anchor"
AUDIT = "every state change has its audit event"
ORPHAN_AUDIT = "every audit trail belongs to an existing entity"
LEDGER_CAUSES = "each ledger entry references its cause (a trial, a paid invoice, a period's end)"
GRANTED_ONCE = "every succeeded payment granted its credits exactly once"
NUMBERS = "invoice numbers are unique and issued by their year's sequence"
COUNTERS = "status counters (all shards) equal the actual counts"
STATEMENT_LINES = "an applied statement line paid once, with a succeeded payment that names it"
REPORT_MONTHS = "the reports' monthly aggregates equal what the invoices, payments and audit trail say"
REPORT_MRR = ("MRR: each subscription counts its plan's price while active or past due, and the running "
              "totals and every month's changes add up to what they count")

# Two pending payments on one invoice also leave its pending_payment_id naming neither of them:
# no store breaks the first rule without the second.
INSEPARABLE = {ONE_PENDING: {POINTER}}


@dataclass
class Corruption:
    """What is corrupted behind the app's back, the rule that must name it with the offending
    id, and the other rules the same corruption breaks (none, for the ones isolating a rule)."""

    corrupt: Callable[[Seeded], object]
    rule: str
    offender: Callable[[Seeded], str]
    also: frozenset[str] = frozenset()


def _report_month(s: Seeded) -> str:
    return next(iter(ReportAggregateModel.query(stamp()[:7]))).month


def _bump_report(s: Seeded, figure: str) -> None:
    item = next(i for i in ReportAggregateModel.query(stamp()[:7]) if i.slot.startswith("totals#")
                and getattr(i, figure))
    setattr(item, figure, getattr(item, figure) + 1)
    item.save()


CORRUPTIONS: dict[str, Corruption] = {
    "credits bumped": Corruption(
        lambda s: _update(AccountModel, (s.paid_account,), credits=1001),
        CREDITS, lambda s: s.paid_account),
    "invoice paid without a payment": Corruption(
        lambda s: _update(InvoiceModel, (s.pending_invoice,), status="paid", paid_at="2026-01-01T00:00:00Z"),
        PAID_IFF_ONE, lambda s: s.pending_invoice,
        also=frozenset({ACCOUNT_ACTIVE, SUBSCRIPTION_ACTIVE, AUDIT})),
    "invoice written before partial payments, paid without a payment": Corruption(
        lambda s: _update(InvoiceModel, (s.pending_invoice,), status="paid", paid_at="2026-01-01T00:00:00Z",
                          amount_due_minor=None, amount_paid_minor=None, written_off_minor=None,
                          balance_applied_minor=None),
        PAID_IFF_ONE, lambda s: s.pending_invoice,
        also=frozenset({ACCOUNT_ACTIVE, SUBSCRIPTION_ACTIVE, AUDIT})),
    "invoice paid in part more than its payments": Corruption(
        lambda s: _update(InvoiceModel, (s.pending_invoice,), amount_paid_minor=100, amount_due_minor=8800),
        PAID_IFF_ONE, lambda s: s.pending_invoice),
    "balance bumped": Corruption(
        lambda s: _update(AccountModel, (s.retried_account,), balance_minor=1200),
        BALANCE, lambda s: s.retried_account),
    "money entry without a cause, balance in step": Corruption(
        _money_without_cause, MONEY_CAUSES, lambda s: s.retried_account),
    "invoice paid without paid_at": Corruption(
        lambda s: _update(InvoiceModel, (s.paid_invoice,), paid_at=None),
        PAID_IFF_ONE, lambda s: s.paid_invoice),
    "audit event deleted": Corruption(
        lambda s: _delete_audit(s.paid_payment, "approved"),
        AUDIT, lambda s: s.paid_payment),
    "account activated without payment": Corruption(
        lambda s: _update(AccountModel, (s.pending_account,), status="active"),
        ACCOUNT_ACTIVE, lambda s: s.pending_account, also=frozenset({AUDIT, COUNTERS})),
    "pending account pointing at a paid invoice": Corruption(
        lambda s: _update(AccountModel, (s.pending_account,), pending_invoice_id=s.paid_invoice),
        ACCOUNT_ACTIVE, lambda s: s.pending_account),
    "second pending payment": Corruption(
        lambda s: _copy_payment(s.pending_payment, "pay_copy"),
        ONE_PENDING, lambda s: s.pending_invoice, also=frozenset({POINTER, AUDIT, COUNTERS})),
    "second pending payment with its audit event and counter": Corruption(
        _second_pending_payment_with_its_trail, ONE_PENDING, lambda s: s.pending_invoice,
        also=frozenset(INSEPARABLE[ONE_PENDING])),
    "pending payment not on its invoice": Corruption(
        lambda s: _update(InvoiceModel, (s.pending_invoice,), pending_payment_id=None),
        POINTER, lambda s: s.pending_invoice),
    "payment in a currency the invoice has no quote for": Corruption(
        lambda s: _update(PaymentModel, (s.pending_payment,), currency="INR", rate="83.25"),
        PAYMENT_MATCHES, lambda s: s.pending_payment),
    "active subscription without a period": Corruption(
        lambda s: _update(SubscriptionModel, (s.paid_subscription,), current_period_end=None),
        SUBSCRIPTION_ACTIVE, lambda s: s.paid_subscription),
    "audit trail of a missing invoice": Corruption(
        lambda s: AuditEventModel("inv_ghost", "2026-01-01T00:00:00.000000Z#0", entity_type="invoice",
                                  action="created", from_status=None, to_status="pending",
                                  actor="x", at="2026-01-01T00:00:00.000000Z").save(),
        ORPHAN_AUDIT, lambda s: "inv_ghost"),
    "payment granted twice": Corruption(
        lambda s: CreditLedgerModel(s.paid_account, "bonus", amount=1000, reason="plan_purchase",
                                    reference=s.paid_payment, actor="x", created_at="2026").save(),
        GRANTED_ONCE, lambda s: s.paid_payment, also=frozenset({CREDITS, LEDGER_CAUSES})),
    "grant of a succeeded payment deleted with the balance": Corruption(
        _grant_deleted_with_the_balance, GRANTED_ONCE, lambda s: _retried_payment(s).payment_id),
    "grant of a failed payment": Corruption(
        lambda s: _update(PaymentModel, (s.paid_payment,), status="failed"),
        LEDGER_CAUSES, lambda s: s.paid_account, also=frozenset({PAID_IFF_ONE, AUDIT, REPORT_MONTHS})),
    "grant not the plan's credits, balance in step": Corruption(
        _grant_changed_with_the_balance, LEDGER_CAUSES, lambda s: s.paid_account),
    "invoice number used twice": Corruption(
        lambda s: _update(InvoiceModel, (s.pending_invoice,), invoice_number=_number_of(s.paid_invoice)),
        NUMBERS, lambda s: s.pending_invoice),
    "invoice number beyond its year's sequence": Corruption(
        lambda s: _update(InvoiceModel, (s.pending_invoice,),
                          invoice_number=_number_of(s.pending_invoice)[:9] + "999999"),
        NUMBERS, lambda s: s.pending_invoice),
    "counter shard off by one": Corruption(
        lambda s: _update(CounterModel, (_counter_shard().counter_id,),
                          accounts_active=_counter_shard().accounts_active + 1),
        COUNTERS, lambda s: "accounts_active"),
    "trial credits changed with the ledger": Corruption(
        lambda s: (_update(AccountModel, (s.trial_account,), credits=5, allowance=5),
                   _update(CreditLedgerModel, (s.trial_account, "trial"), amount=5)),
        TRIAL, lambda s: s.trial_account),
    "trial pointing at a running subscription": Corruption(
        lambda s: _update(AccountModel, (s.trial_account,), subscription_id=s.paid_subscription),
        TRIAL, lambda s: s.trial_account, also=frozenset({ACCOUNT_ACTIVE})),
    "credits moved between buckets": Corruption(
        lambda s: _update(AccountModel, (s.paid_account,), allowance=0, extra=1000),
        CREDITS, lambda s: s.paid_account),
    "renewal grant doubled, balance in step": Corruption(
        _renewal_grant_doubled_with_the_balance, LEDGER_CAUSES, lambda s: s.paid_account),
    "renewal approved without rolling its period": Corruption(
        lambda s: _update(SubscriptionModel, (s.paid_subscription,), paid_through=3),
        SUBSCRIPTION_ACTIVE, lambda s: s.paid_subscription),
    "anchor moved": Corruption(_anchor_moved, SUBSCRIPTION_ACTIVE, lambda s: s.paid_subscription),
    "consumption released twice, balance in step": Corruption(
        _released_twice_with_the_balance, LEDGER_CAUSES, lambda s: s.paid_account),
    "consumption amount not what it took": Corruption(
        _consumption_shrunk_with_the_balance, LEDGER_CAUSES, lambda s: s.paid_account,
        also=frozenset({CREDITS})),
    "second live renewal for one period": Corruption(
        _second_live_renewal_with_its_trail, SUBSCRIPTION_ACTIVE, lambda s: s.paid_subscription,
        also=frozenset({REPORT_MONTHS})),  # an invoice the aggregates never saw
    "statement line applied, its payment not naming it": Corruption(
        lambda s: _update(PaymentModel, (StatementLineModel.get(s.statement_line).payment_id,),
                          statement_line_id=None),
        STATEMENT_LINES, lambda s: s.statement_line),
    "an approval counted twice in its month": Corruption(
        lambda s: _bump_report(s, "approvals"), REPORT_MONTHS, _report_month),
    "a subscription counting another plan's price": Corruption(
        lambda s: _update(SubscriptionModel, (s.paid_subscription,), mrr_minor=24900),
        REPORT_MRR, lambda s: s.paid_subscription),
    "active account of a past-due subscription": Corruption(
        lambda s: _update(SubscriptionModel, (s.paid_subscription,), status="past_due"),
        ACCOUNT_ACTIVE, lambda s: s.paid_account, also=frozenset({AUDIT})),
}


def test_every_rule_has_a_corruption_only_it_catches():
    rules = [rule.name for rule in integrity.check(integrity.Snapshot()).rules]
    assert len(rules) == len(set(rules)) == 19
    isolating = {c.rule for c in CORRUPTIONS.values() if c.also <= INSEPARABLE.get(c.rule, set())}
    assert isolating == set(rules), set(rules) - isolating


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_corruption_is_named_and_fails_verify(seeded, capsys, name):
    corruption = CORRUPTIONS[name]
    rule, offender = corruption.rule, corruption.offender(seeded)
    # Given the seed's workflows' store, with one item corrupted behind the app's back
    corruption.corrupt(seeded)
    # When the checker runs
    report = integrity.verify()
    # Then the rule that covers it fails and names the offending id
    failures = report.failures_of(rule)
    assert any(offender in failure for failure in failures), "\n".join(report.lines())
    # And no rule fails but that one and those the same corruption must break too
    failing = {result.name for result in report.rules if not result.ok}
    assert failing == {rule} | corruption.also, "\n".join(report.lines())
    # And manage.py verify prints it with ✗ and the failing share, and exits 1
    code, lines = run_verify(capsys)
    assert code == 1
    assert f"✗ {rule}: " in "\n".join(lines)
    assert any(offender in line for line in lines)
    assert sum(line.startswith("✗ ") for line in lines) == len(failing)
    assert lines[-1] == (f"Data integrity: {report.summary().split(': ')[1]}")
    assert lines[-1].endswith(f"({report.failing} of {report.total} checks failing)")

def test_the_summary_line_floors_the_passing_share():
    def report(checked: int, failing: int) -> integrity.Report:
        return integrity.Report([integrity.RuleResult("rule", checked, ["x"] * failing)])

    assert report(37, 1).summary() == "Data integrity: 97.2% (1 of 37 checks failing)"
    assert report(2000, 1).summary() == "Data integrity: 99.9% (1 of 2000 checks failing)"
    assert report(4, 0).summary() == "Data integrity: 100% (4 checks passing)"
