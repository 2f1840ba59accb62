"""Two approvers above SECOND_APPROVAL_ABOVE (500.00): the first approval is recorded (202) and
shown, the second by another admin approves in the normal transaction; the same admin twice is
409; two admins at once complete it once; no admin decides a payment of their own account."""
from __future__ import annotations

import base64

from chalicelib.accounts.auth import hash_password
from chalicelib.catalog.reference_data import PLANS
from chalicelib.core.clock import new_id, stamp
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.models.statements import StatementLineModel
from ops import integrity
from tests.conftest import ADMIN_EMAIL, PASSWORD, Api
from tests.helpers import (account, assert_error, audit_of, competing_commit, invoice, labels,
                           ledger_of, payments_of)

APPROVE = "/api/v1/billing/admin/payments/{}/approve"
SCALE_CREDITS = next(p["credits"] for p in PLANS if p["slug"] == "scale")


def _admin(email: str, role: str = "approver", account_id: str | None = None) -> None:
    UserModel(email, user_id=new_id("usr"), account_id=account_id or new_id("acc"), name="Second",
              password_hash=hash_password(PASSWORD), role="admin", created_at=stamp(),
              staff="admin", admin_role=role).save()


def _scale_signup(api: Api, email: str = "big@khan.pk") -> dict:
    reply = api.register(email, plan="scale", payment_method="bank_transfer")
    assert reply.status == 201, reply.body
    assert reply.body["invoice"]["amount"] == "699.00"
    return reply.body


def _confirmed_scale(api: Api) -> tuple[dict, dict]:
    """A scale signup (699.00) and its confirmed payment: one that needs two approvers."""
    signup = _scale_signup(api)
    payment = api.confirm(signup["access_token"], signup["invoice"]["id"], amount="699.00").body
    return signup, payment


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


def test_a_large_payment_needs_a_second_admin_and_both_are_in_the_history(api: Api) -> None:
    owner = api.admin_token()
    _admin("second@example.com")
    second = api.login("second@example.com")
    signup, payment = _confirmed_scale(api)
    assert payment["approvals_required"] == 2 and payment["approvals"] == []
    # The first approval is recorded and shown; nothing else changes
    first = api.post(APPROVE.format(payment["id"]), {"admin_notes": "Seen on the statement"},
                     token=owner)
    assert first.status == 202, first.body
    assert [a["by"] for a in first.body["approvals"]] == [ADMIN_EMAIL]
    [stored] = payments_of(signup["invoice"]["id"])
    assert (stored.status, stored.first_approved_by) == ("pending_approval", ADMIN_EMAIL)
    assert invoice(signup["invoice"]["id"]).status == "pending"
    assert account(signup["account"]["id"]).status == "pending_payment"
    queue = api.get("/api/v1/billing/admin/payments", token=owner).body["items"]
    assert [(q["id"], len(q["approvals"]), q["approvals_required"]) for q in queue] == [
        (payment["id"], 1, 2)]
    # The same admin again: 409, nothing changes
    again = api.post(APPROVE.format(payment["id"]), {}, token=owner)
    assert_error(again, 409, "second_approver_required")
    assert payments_of(signup["invoice"]["id"])[0].status == "pending_approval"
    # Another admin approves: the normal approval
    done = api.post(APPROVE.format(payment["id"]), {}, token=second)
    assert done.status == 200, done.body
    assert [a["by"] for a in done.body["payment"]["approvals"]] == [ADMIN_EMAIL, "second@example.com"]
    assert account(signup["account"]["id"]).status == "active"
    trail = [(action, actor) for action, _, _, actor in audit_of(payment["id"])]
    assert [action for action, _ in trail] == ["submitted", "first_approval", "approved"]
    assert trail[1:] == [("first_approval", ADMIN_EMAIL), ("approved", "second@example.com")]
    _consistent()


def test_a_payment_at_or_under_the_threshold_needs_one_admin(api: Api, paid_signup) -> None:
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body
    assert payment["approvals_required"] == 1
    assert api.approve(api.admin_token(), payment["id"]).status == 200


def test_two_admins_giving_the_second_approval_at_once_complete_it_once(api: Api) -> None:
    owner = api.admin_token()
    _admin("b@example.com")
    _admin("c@example.com")
    b, c = api.login("b@example.com"), api.login("c@example.com")
    signup, payment = _confirmed_scale(api)
    assert api.post(APPROVE.format(payment["id"]), {}, token=owner).status == 202
    with competing_commit(lambda: api.post(APPROVE.format(payment["id"]), {}, token=c),
                          when=lambda tx: "payment" in labels(tx)) as race:
        loser = api.post(APPROVE.format(payment["id"]), {}, token=b)
    assert race.result.status == 200
    assert_error(loser, 409, "payment_not_pending")
    approved = account(signup["account"]["id"])
    assert (approved.status, approved.credits) == ("active", SCALE_CREDITS)
    assert len(ledger_of(signup["account"]["id"])) == 1  # granted once
    assert [p.status for p in payments_of(signup["invoice"]["id"])] == ["succeeded"]
    _consistent()


def test_two_admins_giving_the_first_approval_at_once_record_one(api: Api) -> None:
    owner = api.admin_token()
    _admin("b@example.com")
    b = api.login("b@example.com")
    signup, payment = _confirmed_scale(api)
    with competing_commit(lambda: api.post(APPROVE.format(payment["id"]), {}, token=b),
                          when=lambda tx: "payment" in labels(tx)) as race:
        loser = api.post(APPROVE.format(payment["id"]), {}, token=owner)
    assert race.result.status == 202
    assert_error(loser, 409, "state_conflict")
    [stored] = payments_of(signup["invoice"]["id"])
    assert (stored.status, stored.first_approved_by) == ("pending_approval", "b@example.com")
    # and the owner's next click is the second approval
    assert api.post(APPROVE.format(payment["id"]), {}, token=owner).status == 200


def test_no_admin_decides_a_payment_of_their_own_account(api: Api, paid_signup) -> None:
    _admin("insider@example.com", account_id=paid_signup.account_id)
    insider = api.login("insider@example.com")
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body
    assert_error(api.post(APPROVE.format(payment["id"]), {}, token=insider), 403, "own_account")
    assert payments_of(paid_signup.invoice_id)[0].status == "pending_approval"


def test_a_large_statement_line_waits_for_a_second_admin_who_applies_it(api: Api) -> None:
    owner = api.admin_token()
    _admin("second@example.com")
    second = api.login("second@example.com")
    signup = _scale_signup(api)
    csv = (f"Date,Amount,Currency,Description\n2026-12-01,699.00,USD,"
           f"Invoice {signup['invoice']['payment_reference']}\n").encode()
    report = api.post("/api/v1/billing/admin/statements",
                      {"filename": "s.csv", "content_base64": base64.b64encode(csv).decode()},
                      token=owner).body
    clicked = api.post(f"/api/v1/billing/admin/statements/{report['id']}/apply-exact", token=owner).body
    assert (clicked["applied"], len(clicked["awaiting_second_approval"])) == (0, 1)
    [line_id] = clicked["awaiting_second_approval"]
    [payment] = payments_of(signup["invoice"]["id"])
    assert (payment.status, payment.source, payment.first_approved_by, payment.statement_line_id) == (
        "pending_approval", "statement", ADMIN_EMAIL, line_id)
    line = StatementLineModel.get(line_id)
    assert (line.status, line.payment_id) == ("matched", payment.payment_id)
    _consistent()
    # The same owner clicking again changes nothing; the second admin approves in the queue
    again = api.post(f"/api/v1/billing/admin/statements/{report['id']}/apply-exact", token=owner).body
    assert again["awaiting_second_approval"] == [line_id] and again["applied"] == 0
    done = api.post(APPROVE.format(payment.payment_id), {}, token=second)
    assert done.status == 200, done.body
    assert StatementLineModel.get(line_id).status == "applied"
    assert account(signup["account"]["id"]).status == "active"
    _consistent()
