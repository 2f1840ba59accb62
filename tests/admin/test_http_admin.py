"""HTTP contract of the admin routes, the status summary and unknown routes (api.md, "Admin")."""
from __future__ import annotations

import pytest

from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import SubscriptionModel
from tests.conftest import ADMIN_EMAIL
from tests.helpers import (
    TIMESTAMP,
    account,
    assert_error,
    assert_no_floats,
    error_fields,
    invoice,
    ledger_of,
    payments_of,
    store_unchanged,
)

QUEUE = "/api/v1/billing/admin/payments"
STATUS = "/api/v1/billing/admin/status"


def detail_path(payment_id: str) -> str:
    return f"{QUEUE}/{payment_id}"


def signup_and_confirm(api, email: str, account_name: str = "Khan Media", plan: str = "starter",
                       amount: str = "89.00"):
    """A paid signup that confirmed its payment: (token, account id, invoice id, payment id)."""
    reply = api.register(email, plan=plan, payment_method="bank_transfer", account_name=account_name)
    assert reply.status == 201, reply.body
    token, body = reply.body["access_token"], reply.body
    payment = api.confirm(token, body["invoice"]["id"], amount=amount)
    assert payment.status == 201, payment.body
    return token, body["account"]["id"], body["invoice"]["id"], payment.body["id"]


def status_summary(api, admin: str) -> dict:
    reply = api.get(STATUS, token=admin)
    assert reply.status == 200, reply.body
    return reply.body


# Approval queue ---------------------------------------------------------------------------------

def test_queue_lists_pending_payments_oldest_first_with_their_account(api):
    # Given three users who confirmed payments one after another, one already approved and one
    # already rejected
    admin = api.admin_token()
    created = [signup_and_confirm(api, f"user{n}@khan.pk", account_name=f"Account {n}")
               for n in range(3)]
    *_, approved = signup_and_confirm(api, "done@khan.pk")
    assert api.approve(admin, approved).status == 200
    *_, rejected = signup_and_confirm(api, "refused@khan.pk")
    assert api.reject(admin, rejected).status == 200
    # When the admin opens the queue (with or without the explicit status)
    plain = api.get(QUEUE, token=admin)
    explicit = api.get(f"{QUEUE}?status=pending_approval", token=admin)
    # Then it holds the three pending payments, oldest first, each with its account's id, name
    # and owner's email
    assert plain.status == 200, plain.body
    assert plain.body == explicit.body
    items = plain.body["items"]
    assert [i["id"] for i in items] == [payment for *_, payment in created]
    assert [i["account"] for i in items] == [
        {"id": acct, "name": f"Account {n}", "owner_email": f"user{n}@khan.pk"}
        for n, (_, acct, _, _) in enumerate(created)]
    assert all(i["status"] == "pending_approval" and i["amount"] == "89.00" for i in items)
    assert plain.body["next_cursor"] is None
    assert_no_floats(plain.body)


def test_queue_pages_with_limit_and_cursor(api):
    # Given three pending payments
    admin = api.admin_token()
    payments = [signup_and_confirm(api, f"user{n}@khan.pk")[3] for n in range(3)]
    # When the admin reads the queue two at a time
    first = api.get(f"{QUEUE}?limit=2", token=admin)
    second = api.get(f"{QUEUE}?limit=2&cursor={first.body['next_cursor']}", token=admin)
    # Then the first page has the two oldest and a cursor, the second the third and no cursor
    assert first.status == 200 and second.status == 200, (first.body, second.body)
    assert [i["id"] for i in first.body["items"]] == payments[:2]
    assert isinstance(first.body["next_cursor"], str) and first.body["next_cursor"]
    assert [i["id"] for i in second.body["items"]] == payments[2:]
    assert second.body["next_cursor"] is None


@pytest.mark.parametrize("query", ["status=succeeded", "status=failed", "status=all", "limit=0",
                                   "limit=101", "limit=two", "cursor=not-a-cursor"])
def test_queue_with_an_unsupported_query_value_is_400(api, query):
    reply = api.get(f"{QUEUE}?{query}", token=api.admin_token())
    assert_error(reply, 400)


ADMIN_ROUTES = [
    ("GET", QUEUE),
    ("GET", detail_path("pay_x")),
    ("POST", detail_path("pay_x") + "/approve/"),
    ("POST", detail_path("pay_x") + "/reject/"),
    ("GET", STATUS),
    ("GET", "/api/v1/billing/admin/invoices/inv_x/pdf"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_refuse_a_user_token_with_403(api, method, path):
    # Given a user (not an admin) with a pending payment
    token, _, _, payment = signup_and_confirm(api, "user@khan.pk")
    path = path.replace("pay_x", payment)
    # When the user calls an admin route
    with store_unchanged():
        reply = api.request(method, path, token=token,
                            body={"admin_notes": "I approve myself"} if method == "POST" else None)
    # Then 403 and nothing changes
    assert_error(reply, 403)


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_without_a_token_are_401(api, method, path):
    with store_unchanged():
        reply = api.request(method, path, body={"admin_notes": "x"} if method == "POST" else None)
    assert_error(reply, 401)


# Payment detail ---------------------------------------------------------------------------------

def test_payment_detail_shows_invoice_account_and_history_of_an_approval(api):
    # Given a payment the admin approved
    admin = api.admin_token()
    token, acct, inv, payment = signup_and_confirm(api, "user@khan.pk")
    user_id = api.get("/api/v1/auth/me", token=token).body["user"]["id"]
    assert api.approve(admin, payment, notes="Seen in statement").status == 200
    # When the admin opens it
    reply = api.get(detail_path(payment), token=admin)
    # Then it carries the payment, its invoice and account, and every state change in order
    assert reply.status == 200, reply.body
    assert {"payment", "invoice", "account", "history"} <= set(reply.body)
    assert (reply.body["payment"]["id"], reply.body["payment"]["status"]) == (payment, "succeeded")
    assert (reply.body["invoice"]["id"], reply.body["invoice"]["status"]) == (inv, "paid")
    assert (reply.body["account"]["id"], reply.body["account"]["status"]) == (acct, "active")
    history = reply.body["history"]
    assert [(h["action"], h["from_status"], h["to_status"], h["actor"], h["notes"]) for h in history] == [
        ("submitted", None, "pending_approval", user_id, None),
        ("approved", "pending_approval", "succeeded", ADMIN_EMAIL, "Seen in statement"),
    ]
    assert all(TIMESTAMP.match(h["at"]) for h in history)
    assert history[0]["at"] <= history[1]["at"]
    assert_no_floats(reply.body)


def test_payment_detail_shows_the_history_of_a_rejection(api):
    # Given a payment the admin rejected
    admin = api.admin_token()
    _, _, inv, payment = signup_and_confirm(api, "user@khan.pk")
    assert api.reject(admin, payment, notes="Reference not found").status == 200
    # When the admin opens it
    reply = api.get(detail_path(payment), token=admin)
    # Then the last entry records who rejected it, from which state, and why
    assert reply.status == 200, reply.body
    assert reply.body["invoice"]["status"] == "pending"
    assert [(h["action"], h["from_status"], h["to_status"]) for h in reply.body["history"]] == [
        ("submitted", None, "pending_approval"), ("rejected", "pending_approval", "failed")]
    last = reply.body["history"][-1]
    assert (last["actor"], last["notes"]) == (ADMIN_EMAIL, "Reference not found")


def test_payment_detail_of_an_unknown_payment_is_404(api):
    assert_error(api.get(detail_path("pay_does_not_exist"), token=api.admin_token()), 404)


# Approve ----------------------------------------------------------------------------------------

def test_approve_activates_everything_in_one_step(api, paid_signup):
    # Given a confirmed payment
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    # When the admin approves it
    reply = api.approve(api.admin_token(), payment, notes="Verified in bank statement")
    # Then the body has the payment, invoice, subscription and account in their new states
    assert reply.status == 200, reply.body
    assert set(reply.body) == {"payment", "invoice", "subscription", "account"}
    paid, inv = reply.body["payment"], reply.body["invoice"]
    sub, acct = reply.body["subscription"], reply.body["account"]
    assert (paid["id"], paid["status"], paid["decided_by"], paid["admin_notes"]) == (
        payment, "succeeded", ADMIN_EMAIL, "Verified in bank statement")
    assert TIMESTAMP.match(paid["decided_at"])
    assert (inv["id"], inv["status"], inv["paid_at"]) == (paid_signup.invoice_id, "paid", paid["decided_at"])
    assert (sub["id"], sub["status"], sub["current_period_start"]) == (
        paid_signup.subscription_id, "active", paid["decided_at"])
    assert sub["current_period_end"] > sub["current_period_start"]
    assert (acct["id"], acct["status"], acct["credits"], acct["plan"]) == (
        paid_signup.account_id, "active", 1000, "starter")
    assert_no_floats(reply.body)
    # And the store holds the same
    assert (invoice(paid_signup.invoice_id).status, invoice(paid_signup.invoice_id).pending_payment_id) == (
        "paid", None)
    assert SubscriptionModel.get(paid_signup.subscription_id).status == "active"
    stored = account(paid_signup.account_id)
    assert (stored.status, stored.credits, stored.pending_invoice_id) == ("active", 1000, None)
    assert [(e.amount, e.reason) for e in ledger_of(paid_signup.account_id)] == [(1000, "plan_purchase")]


def test_approve_without_notes_is_allowed(api, paid_signup):
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    reply = api.post(f"{detail_path(payment)}/approve/", None, token=api.admin_token())
    assert reply.status == 200, reply.body
    assert (reply.body["payment"]["status"], reply.body["payment"]["admin_notes"]) == ("succeeded", None)


def test_second_approve_is_409_and_grants_nothing_more(api, paid_signup):
    # Given an approved payment
    admin = api.admin_token()
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert api.approve(admin, payment).status == 200
    # When it is approved again
    with store_unchanged():
        reply = api.approve(admin, payment, notes="again")
    # Then 409 payment_not_pending, and still 1000 credits from one ledger entry
    assert_error(reply, 409, "payment_not_pending")
    assert account(paid_signup.account_id).credits == 1000
    assert len(ledger_of(paid_signup.account_id)) == 1


def test_approve_unknown_payment_is_404(api, paid_signup):
    with store_unchanged():
        reply = api.approve(api.admin_token(), "pay_does_not_exist")
    assert_error(reply, 404)


def test_approve_by_a_user_token_is_403_and_changes_nothing(api, paid_signup):
    # Given the user's own pending payment
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    # When the user tries to approve it
    with store_unchanged():
        reply = api.approve(paid_signup.token, payment)
    # Then 403 and everything still waits
    assert_error(reply, 403)
    assert [p.status for p in payments_of(paid_signup.invoice_id)] == ["pending_approval"]
    assert invoice(paid_signup.invoice_id).status == "pending"
    assert (account(paid_signup.account_id).status, account(paid_signup.account_id).credits) == (
        "pending_payment", 0)


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"admin_notes": 5}', b'{"approve": true}'])
def test_approve_with_a_malformed_body_is_400(api, paid_signup, raw):
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    with store_unchanged():
        reply = api.request("POST", f"{detail_path(payment)}/approve/", raw=raw,
                            token=api.admin_token())
    assert_error(reply, 400)


# Reject -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("sent", [None, {}, {"admin_notes": ""}, {"admin_notes": "   "},
                                  {"admin_notes": None}])
def test_reject_without_admin_notes_is_422(api, paid_signup, sent):
    # Given a pending payment
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    # When the admin rejects it without saying why
    with store_unchanged():
        reply = api.post(f"{detail_path(payment)}/reject/", sent, token=api.admin_token())
    # Then 422 blaming admin_notes, and the payment still waits
    assert_error(reply, 422)
    assert error_fields(reply) == {"admin_notes"}
    assert invoice(paid_signup.invoice_id).pending_payment_id == payment


def test_reject_fails_the_payment_and_leaves_the_invoice_payable(api, paid_signup):
    # Given a pending payment
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    # When the admin rejects it
    reply = api.reject(api.admin_token(), payment, notes="Reference not found")
    # Then the payment failed with the reason, and the invoice is still pending
    assert reply.status == 200, reply.body
    assert set(reply.body) == {"payment", "invoice"}
    failed = reply.body["payment"]
    assert (failed["status"], failed["admin_notes"], failed["decided_by"]) == (
        "failed", "Reference not found", ADMIN_EMAIL)
    assert reply.body["invoice"]["status"] == "pending" and reply.body["invoice"]["paid_at"] is None
    # And the store agrees: nothing pending, nothing granted
    stored = invoice(paid_signup.invoice_id)
    assert (stored.status, stored.pending_payment_id) == ("pending", None)
    assert [p.status for p in payments_of(paid_signup.invoice_id)] == ["failed"]
    acct = AccountModel.get(paid_signup.account_id)
    assert (acct.status, acct.credits) == ("pending_payment", 0)
    assert SubscriptionModel.get(paid_signup.subscription_id).status == "pending_payment"
    assert ledger_of(paid_signup.account_id) == []


def test_reject_after_approve_is_409(api, paid_signup):
    admin = api.admin_token()
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert api.approve(admin, payment).status == 200
    with store_unchanged():
        reply = api.reject(admin, payment)
    assert_error(reply, 409, "payment_not_pending")
    assert invoice(paid_signup.invoice_id).status == "paid"


def test_approve_after_reject_is_409(api, paid_signup):
    admin = api.admin_token()
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert api.reject(admin, payment).status == 200
    with store_unchanged():
        reply = api.approve(admin, payment)
    assert_error(reply, 409, "payment_not_pending")
    assert account(paid_signup.account_id).credits == 0


def test_reject_unknown_payment_is_404(api):
    with store_unchanged():
        reply = api.reject(api.admin_token(), "pay_does_not_exist")
    assert_error(reply, 404)


# Status summary ---------------------------------------------------------------------------------

def test_status_summary_counts_what_happened(api):
    # Given a fresh store: the reference data and the admin's active internal account
    admin = api.admin_token()
    fresh = status_summary(api, admin)
    assert fresh == {"plans_configured": 5, "payment_methods_enabled": 14,
                     "accounts": {"trial": 0, "pending_payment": 0, "active": 1, "suspended": 0, "past_due": 0, "expired": 0, "cancelled": 0,
                                  "total": 1},
                     "payments_pending_approval": 0}
    # When two free trials and two paid signups register
    for n in range(2):
        assert api.register(f"trial{n}@khan.pk").status == 201
    paid = [api.register(f"paid{n}@khan.pk", plan="starter") for n in range(2)]
    # Then the accounts are counted by status
    assert status_summary(api, admin)["accounts"] == {
        "trial": 2, "pending_payment": 2, "active": 1, "suspended": 0, "past_due": 0, "expired": 0,
        "cancelled": 0, "total": 5}
    # When one confirms a payment, it awaits approval
    payment = api.confirm(paid[0].body["access_token"], paid[0].body["invoice"]["id"])
    assert status_summary(api, admin)["payments_pending_approval"] == 1
    # When the admin approves it, nothing awaits and one account moved to active
    assert api.approve(admin, payment.body["id"]).status == 200
    after = status_summary(api, admin)
    assert after["payments_pending_approval"] == 0
    assert after["accounts"] == {"trial": 2, "pending_payment": 1, "active": 2, "suspended": 0, "past_due": 0, "expired": 0, "cancelled": 0,
                                 "total": 5}
    assert_no_floats(after)


def test_status_summary_counts_a_rejection_and_a_refused_approval(api, paid_signup):
    # Given a payment that was rejected, and a second one that was approved twice
    admin = api.admin_token()
    first = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-1").body["id"]
    assert api.reject(admin, first).status == 200
    assert status_summary(api, admin)["payments_pending_approval"] == 0
    second = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2").body["id"]
    assert status_summary(api, admin)["payments_pending_approval"] == 1
    assert api.approve(admin, second).status == 200
    assert api.approve(admin, second).status == 409
    # Then the counters moved once for each real change
    summary = status_summary(api, admin)
    assert summary["payments_pending_approval"] == 0
    assert summary["accounts"] == {"trial": 0, "pending_payment": 0, "active": 2, "suspended": 0, "past_due": 0, "expired": 0, "cancelled": 0,
                                   "total": 2}


# Unknown routes and methods ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/billing/plans", "/", "/api/v1/billing",
                                  "/api/v1/billing/invoices/inv_1/pay"])
def test_unknown_route_is_404_in_the_error_shape(api, path):
    assert_error(api.get(path), 404, "route_not_found")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/api/v1/billing/plans", "GET"),
    ("DELETE", "/api/v1/billing/plans", "GET"),
    ("POST", "/api/v1/billing/plans", "GET"),
    ("GET", "/api/v1/auth/register", "POST"),
    ("DELETE", "/api/v1/billing/admin/payments/pay_x", "GET"),
])
def test_wrong_method_is_405_in_the_error_shape_with_allow(api, method, path, allowed):
    with store_unchanged():
        reply = api.request(method, path, body={} if method != "GET" else None)
    assert_error(reply, 405)
    assert allowed in reply.headers.get("allow", "")


def test_approve_retried_with_the_same_idempotency_key_returns_the_first_response(api, paid_signup):
    # Given an approval sent with an Idempotency-Key
    admin = api.admin_token()
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    key = {"idempotency-key": "approve-55d1"}
    path = f"{detail_path(payment)}/approve/"
    first = api.post(path, {"admin_notes": "ok"}, token=admin, headers=key)
    assert first.status == 200, first.body
    # When the admin's client retries it with the same key and body
    again = api.post(path, {"admin_notes": "ok"}, token=admin, headers=key)
    # Then the first response comes back and the credits were granted once
    assert (again.status, again.body) == (200, first.body)
    assert account(paid_signup.account_id).credits == 1000
    assert len(ledger_of(paid_signup.account_id)) == 1
