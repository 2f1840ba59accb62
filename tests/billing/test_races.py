"""Races decided at commit time, made deterministic in-process: a request reads, a competing request
commits (`competing_commit`), then the first one commits, and its transaction's conditions, not
its earlier reads, decide. The loser gets a 409 and changes nothing; the store stays consistent.

tests/stack/test_live_races.py shows the same over real HTTP with many threads at once, as a smoke test.
"""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.accounts.admins import create_admin
from chalicelib.storage.models.accounts import AccountModel, UserModel
from chalicelib.storage.models.billing import (
    InvoiceModel,
    PaymentClaimModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.records import AuditEventModel
from ops import integrity
from tests.conftest import ADMIN_PASSWORD, Api, PaidSignup
from tests.helpers import (
    account,
    assert_error,
    audit_of,
    competing_commit,
    invoice,
    labels,
    ledger_of,
    payments_of,
)


OTHER_ADMIN = "second-admin@example.com"


def _mail(template: str) -> list[OutboxModel]:
    return [m for m in OutboxModel.scan() if m.template == template]


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


def _decisions(payment_id: str) -> list[str]:
    return [action for action, *_ in audit_of(payment_id) if action in ("approved", "rejected")]


def _claimed(reference: str) -> bool:
    try:
        PaymentClaimModel.get(f"bank_transfer#{reference}", consistent_read=True)
    except PaymentClaimModel.DoesNotExist:
        return False
    return True


# Confirm ------------------------------------------------------------------------------------

def test_a_confirmation_losing_to_another_of_the_same_invoice_is_409_and_one_payment_waits(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given the invoice read as pending with no payment, when another confirmation commits first
    first = lambda: api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-FIRST")  # noqa: E731
    with competing_commit(first) as race:
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-SECOND")
    # Then the first one is waiting, the second is 409 invoice_not_pending
    assert race.result.status == 201, race.result.body
    assert_error(reply, 409, "invoice_not_pending")
    winner = race.result.body["id"]
    assert [(p.payment_id, p.status) for p in payments_of(paid_signup.invoice_id)] == [
        (winner, "pending_approval")]
    assert invoice(paid_signup.invoice_id).pending_payment_id == winner
    # And the loser left nothing: no claim on its bank reference, no audit event, no email
    assert (_claimed("BTFIRST"), _claimed("BTSECOND")) == (True, False)
    assert len(_mail("payment_submitted")) == 1
    assert len([e for e in AuditEventModel.scan() if e.action == "submitted"]) == 1
    _consistent()


def test_a_confirmation_losing_to_one_that_got_approved_is_409_and_the_invoice_stays_paid(
        api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()

    def paid_meanwhile() -> Any:
        payment = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-FIRST").body
        return api.approve(admin, payment["id"])

    # Given the invoice read as pending, when it is paid (confirmed and approved) before the commit
    with competing_commit(paid_meanwhile) as race:
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-SECOND")
    # Then 409 invoice_not_pending; the invoice is paid by the one payment, credits granted once
    assert race.result.status == 200, race.result.body
    assert_error(reply, 409, "invoice_not_pending")
    assert [p.status for p in payments_of(paid_signup.invoice_id)] == ["succeeded"]
    assert (invoice(paid_signup.invoice_id).status, account(paid_signup.account_id).credits) == ("paid", 1000)
    assert len(ledger_of(paid_signup.account_id)) == 1
    assert not _claimed("BTSECOND")
    _consistent()


# Approve and reject -------------------------------------------------------------------------

@pytest.fixture
def pending(api: Api, paid_signup: PaidSignup) -> str:
    """The id of the signup's payment awaiting approval."""
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-RACE")
    assert reply.status == 201, reply.body
    return reply.body["id"]


def _decide(api: Api, admin: str, payment_id: str, verb: str) -> Any:
    return api.approve(admin, payment_id) if verb == "approve" else api.reject(admin, payment_id)


DECISIONS = [(first, second) for first in ("approve", "reject") for second in ("approve", "reject")]


@pytest.mark.parametrize("first, second", DECISIONS, ids=[f"{a}-then-{b}" for a, b in DECISIONS])
def test_a_decision_losing_to_another_admins_is_409_and_the_first_one_stands(
        api: Api, paid_signup: PaidSignup, pending: str, first: str, second: str) -> None:
    assert create_admin(OTHER_ADMIN, ADMIN_PASSWORD) == "created"
    admin, other_admin = api.admin_token(), api.login(OTHER_ADMIN, ADMIN_PASSWORD)
    # Given the payment read as pending, when another admin's decision commits first
    with competing_commit(lambda: _decide(api, other_admin, pending, first)) as race:
        reply = _decide(api, admin, pending, second)
    # Then the later decision is 409 payment_not_pending and changed nothing
    assert race.result.status == 200, race.result.body
    assert_error(reply, 409, "payment_not_pending")
    assert _decisions(pending) == ["approved" if first == "approve" else "rejected"]
    payment, stored = PaymentModel.get(pending, consistent_read=True), invoice(paid_signup.invoice_id)
    owner = account(paid_signup.account_id)
    assert payment.decided_by == OTHER_ADMIN
    if first == "approve":
        # credits granted exactly once, the reference kept by the succeeded payment
        assert (payment.status, stored.status, owner.status, owner.credits) == (
            "succeeded", "paid", "active", 1000)
        assert [(e.reason, e.reference) for e in ledger_of(paid_signup.account_id)] == [
            ("plan_purchase", pending)]
        assert len(_mail("payment_approved")) == 1 and _mail("payment_rejected") == []
        assert PaymentClaimModel.get("bank_transfer#BTRACE").released is False
    else:
        # nothing granted, the invoice payable again, the reference freed
        assert (payment.status, stored.status, stored.pending_payment_id) == ("failed", "pending", None)
        assert (owner.status, owner.credits) == ("pending_payment", 0)
        assert ledger_of(paid_signup.account_id) == []
        assert len(_mail("payment_rejected")) == 1 and _mail("payment_approved") == []
        assert PaymentClaimModel.get("bank_transfer#BTRACE").released is True
    _consistent()


def _suspend_account(s: PaidSignup) -> None:
    AccountModel(s.account_id).update(actions=[AccountModel.status.set("suspended")])


def _cancel_subscription(s: PaidSignup) -> None:
    SubscriptionModel(s.subscription_id).update(actions=[SubscriptionModel.status.set("cancelled")])


def _void_invoice(s: PaidSignup) -> None:
    InvoiceModel(s.invoice_id).update(actions=[InvoiceModel.status.set("void")])


@pytest.mark.parametrize("change, failed", [(_suspend_account, "account"),
                                            (_cancel_subscription, "subscription"),
                                            (_void_invoice, "invoice")],
                         ids=["account", "subscription", "invoice"])
def test_an_approval_whose_invoice_subscription_or_account_changed_meanwhile_is_409(
        api: Api, paid_signup: PaidSignup, pending: str, change: Any, failed: str) -> None:
    admin = api.admin_token()
    # Given the payment and its records read, when one of them changes before the commit (an
    # operator's fix behind the app's back: no route changes them while a payment waits)
    with competing_commit(lambda: change(paid_signup)):
        reply = api.approve(admin, pending)
    # Then 409 state_conflict naming the record, and the payment still waits, nothing granted
    error = assert_error(reply, 409, "state_conflict")
    assert error["details"] == {"failed": [failed]}
    assert PaymentModel.get(pending, consistent_read=True).status == "pending_approval"
    assert invoice(paid_signup.invoice_id).pending_payment_id == pending
    assert (account(paid_signup.account_id).credits, ledger_of(paid_signup.account_id)) == (0, [])
    assert _decisions(pending) == [] and _mail("payment_approved") == []


def test_a_rejection_whose_invoice_changed_meanwhile_is_409_and_the_payment_still_waits(
        api: Api, paid_signup: PaidSignup, pending: str) -> None:
    admin = api.admin_token()
    clear = lambda: InvoiceModel(paid_signup.invoice_id).update(  # noqa: E731
        actions=[InvoiceModel.pending_payment_id.remove()])
    with competing_commit(clear):
        reply = api.reject(admin, pending)
    error = assert_error(reply, 409, "state_conflict")
    assert error["details"] == {"failed": ["invoice"]}
    assert PaymentModel.get(pending, consistent_read=True).status == "pending_approval"
    assert PaymentClaimModel.get("bank_transfer#BTRACE").released is False
    assert _decisions(pending) == [] and _mail("payment_rejected") == []


# Signup -------------------------------------------------------------------------------------

@pytest.mark.parametrize("plans", [("free", "free"), ("starter", "free"), ("free", "starter"),
                                   ("starter", "starter")], ids="-then-".join)
def test_a_signup_losing_to_one_with_the_same_email_is_409_and_leaves_nothing(
        api: Api, plans: tuple[str, str]) -> None:
    first, second = plans
    extra = lambda plan: {"payment_method": "bank_transfer"} if plan != "free" else {}  # noqa: E731
    # Given no user with this email when read, when the same email (in another case) signs up first
    winner = lambda: api.register("Ayesha@Khan.pk", plan=first, **extra(first))  # noqa: E731
    with competing_commit(winner, when=lambda tx: "user" in labels(tx)) as race:
        reply = api.register("ayesha@khan.pk", plan=second, **extra(second))
    # Then the later signup is 409 email_taken and left nothing behind
    assert race.result.status == 201, race.result.body
    assert_error(reply, 409, "email_taken")
    user = UserModel.get("ayesha@khan.pk", consistent_read=True)
    assert user.account_id == race.result.body["account"]["id"]
    assert sorted(a.plan for a in AccountModel.scan()) == sorted(["internal", first])
    assert len(list(SubscriptionModel.scan())) == len(list(InvoiceModel.scan())) == (first != "free")
    assert len(_mail("welcome_trial") + _mail("signup_invoice")) == 1
    # And the winner logs in with the account it was given; the store is consistent
    assert api.get("/api/v1/auth/me", token=race.result.body["access_token"]).status == 200
    _consistent()

