"""The integrity checker: the seed's workflows leave a store that passes every rule; each kind of
corruption is named, with the offending id, and makes `manage.py verify` exit 1."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import manage
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel
from chalicelib.storage.models.records import AuditEventModel, CounterModel, CreditLedgerModel
from ops import integrity
from tests.conftest import Api, MotoStore

SUMMARY_OK = "Data integrity: 100% ({} checks passing)"


@dataclass
class Seeded:
    """What the seed's workflows left: a trial, an approved signup, a rejected-then-approved one,
    and a signup whose confirmation awaits approval."""

    trial_account: str
    paid_account: str
    paid_invoice: str
    paid_payment: str
    retried_invoice: str
    rejected_payment: str
    pending_account: str
    pending_invoice: str
    pending_payment: str


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

    def paid(email: str) -> tuple[str, str, str]:
        reply = api.register(email, plan="starter", payment_method="bank_transfer")
        assert reply.status == 201, reply.body
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
    token, _, retried_invoice = paid("bilal@khan.pk")
    rejected = confirm(token, retried_invoice, "BT-WRONG")
    assert api.reject(admin, rejected).status == 200
    assert api.approve(admin, confirm(token, retried_invoice, "BT-RIGHT")).status == 200
    # A confirmation still awaiting approval
    token, pending_account, pending_invoice = paid("sana@khan.pk")
    pending_payment = confirm(token, pending_invoice, "BT-2025-002")
    return Seeded(trial.body["account"]["id"], paid_account, paid_invoice, paid_payment,
                  retried_invoice, rejected, pending_account, pending_invoice, pending_payment)


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


def _counter_shard() -> CounterModel:
    return next(c for c in CounterModel.scan() if c.counter_id.startswith("status#")
                and (c.accounts_active or 0) > 0)


# (what is corrupted, how, the rule that must name it, the id it must name)
CORRUPTIONS: dict[str, tuple[Callable[[Seeded], None], str, Callable[[Seeded], str]]] = {
    "credits bumped": (
        lambda s: _update(AccountModel, (s.paid_account,), credits=1001),
        "account credits equal the sum of their ledger entries", lambda s: s.paid_account),
    "invoice paid without a payment": (
        lambda s: _update(InvoiceModel, (s.pending_invoice,), status="paid", paid_at="2026-01-01T00:00:00Z"),
        "an invoice is paid iff exactly one of its payments succeeded", lambda s: s.pending_invoice),
    "audit event deleted": (
        lambda s: _delete_audit(s.paid_payment, "approved"),
        "every state change has its audit event", lambda s: s.paid_payment),
    "account activated without payment": (
        lambda s: _update(AccountModel, (s.pending_account,), status="active"),
        "a paid-signup account is active iff its invoice is paid", lambda s: s.pending_account),
    "second pending payment": (
        lambda s: _copy_payment(s.pending_payment, "pay_copy"),
        "no invoice has two payments pending_approval", lambda s: s.pending_invoice),
    "payment granted twice": (
        lambda s: CreditLedgerModel(s.paid_account, "bonus", amount=1000, reason="plan_purchase",
                                    reference=s.paid_payment, actor="x", created_at="2026").save(),
        "every succeeded payment granted its credits exactly once", lambda s: s.paid_payment),
    "grant of a failed payment": (
        lambda s: _update(PaymentModel, (s.paid_payment,), status="failed"),
        "each ledger grant references its cause (trial, or a succeeded payment of the account)",
        lambda s: s.paid_account),
    "counter shard off by one": (
        lambda s: _update(CounterModel, (_counter_shard().counter_id,),
                          accounts_active=_counter_shard().accounts_active + 1),
        "status counters (all shards) equal the actual counts", lambda s: "accounts_active"),
    "trial credits changed with the ledger": (
        lambda s: (_update(AccountModel, (s.trial_account,), credits=5),
                   _update(CreditLedgerModel, (s.trial_account, "trial"), amount=5)),
        "trial accounts hold the free plan's credits and no subscription or invoice",
        lambda s: s.trial_account),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_corruption_is_named_and_fails_verify(seeded, capsys, name):
    corrupt, rule, offender = CORRUPTIONS[name]
    # Given the seed's workflows' store, with one item corrupted behind the app's back
    corrupt(seeded)
    # When the checker runs
    report = integrity.verify()
    # Then the rule that covers it fails and names the offending id
    failures = report.failures_of(rule)
    assert any(offender(seeded) in failure for failure in failures), "\n".join(report.lines())
    # And manage.py verify prints it with ✗ and the failing share, and exits 1
    code, lines = run_verify(capsys)
    assert code == 1
    assert f"✗ {rule}: " in "\n".join(lines)
    assert any(offender(seeded) in line for line in lines)
    assert lines[-1] == (f"Data integrity: {report.summary().split(': ')[1]}")
    assert lines[-1].endswith(f"({report.failing} of {report.total} checks failing)")


def test_the_summary_line_floors_the_passing_share():
    def report(checked: int, failing: int) -> integrity.Report:
        return integrity.Report([integrity.RuleResult("rule", checked, ["x"] * failing)])

    assert report(37, 1).summary() == "Data integrity: 97.2% (1 of 37 checks failing)"
    assert report(2000, 1).summary() == "Data integrity: 99.9% (1 of 2000 checks failing)"
    assert report(4, 0).summary() == "Data integrity: 100% (4 checks passing)"
