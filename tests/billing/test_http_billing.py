"""HTTP contract of the catalog and the user's billing routes (api.md, "Catalog" and "Billing")."""
from __future__ import annotations

import json

import pytest

from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, SubscriptionModel
from tests.conftest import BILLING_PK
from tests.helpers import (
    AMOUNT,
    TIMESTAMP,
    assert_error,
    assert_no_floats,
    error_fields,
    invoice,
    payments_of,
    store_unchanged,
)
from tests.helpers import confirm_body

PLANS = "/api/v1/billing/plans"
METHODS = "/api/v1/billing/admin/payment-methods"
INVOICES = "/api/v1/billing/invoices"
PAYMENTS = "/api/v1/billing/payments"
CONFIRM = "/api/v1/billing/admin/payments/confirm/"

PLAN_KEYS = {"slug", "name", "price", "currency", "billing_cycle", "credits", "features"}
METHOD_KEYS = {"id", "payment_method", "display_name", "instructions", "country", "details"}
INVOICE_KEYS = {"id", "invoice_number", "status", "amount", "currency", "plan", "billing_snapshot",
                "due_date", "created_at", "paid_at"}
PAYMENT_KEYS = {"id", "invoice_id", "account_id", "status", "payment_method", "method_name",
                "amount", "currency", "manual_reference", "manual_notes", "admin_notes",
                "created_at", "decided_at", "decided_by", "proof", "settles", "applied",
                "written_off", "excess", "rate", "invoice_currency", "source",
                "statement_line_id", "approvals", "approvals_required", "reversal"}
GLOBAL_METHODS = ["bank_transfer", "wise", "payoneer", "paypal"]
PK_METHODS = ["bank_transfer", "jazzcash", "easypaisa", "raast"]


def signup(api, email: str, plan: str = "starter"):
    """A paid signup from Pakistan: (token, invoice id)."""
    reply = api.register(email, plan=plan, payment_method="bank_transfer")
    assert reply.status == 201, reply.body
    return reply.body["access_token"], reply.body["invoice"]["id"]


def assert_invoice_untouched(invoice_id: str, payments: int = 0) -> None:
    """The invoice is still pending with no payment awaiting approval, and has `payments` payments."""
    stored = invoice(invoice_id)
    assert (stored.status, stored.pending_payment_id, stored.paid_at) == ("pending", None, None)
    assert len(payments_of(invoice_id)) == payments


# Plans ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [PLANS, PLANS + "/"])
def test_plans_lists_the_four_self_serve_plans_in_order_without_a_token(api, path):
    # When anyone asks for the plans (with or without a trailing slash)
    reply = api.get(path)
    # Then the four self-serve plans come in display order, never the internal one
    assert reply.status == 200, reply.body
    assert set(reply.body) == {"items", "packs"}
    items = reply.body["items"]
    assert [p["slug"] for p in items] == ["free", "starter", "growth", "scale"]
    assert all(set(p) == PLAN_KEYS for p in items)
    # And money is a two-decimal string with a currency, credits are integers, features a list
    assert [(p["price"], p["currency"]) for p in items] == [
        ("0.00", "USD"), ("89.00", "USD"), ("249.00", "USD"), ("699.00", "USD")]
    assert [p["credits"] for p in items] == [1000, 1000, 5000, 20000]
    assert all(isinstance(p["features"], list) and p["features"] for p in items)
    assert "internal" not in json.dumps(reply.body).lower()
    assert_no_floats(reply.body)


# Payment methods -------------------------------------------------------------------------------

def _methods(reply):
    assert reply.status == 200, reply.body
    assert isinstance(reply.body, list)
    assert all(set(m) == METHOD_KEYS for m in reply.body), reply.body
    assert all(isinstance(m["details"], dict) and m["details"] for m in reply.body)
    assert_no_floats(reply.body)
    return [(m["payment_method"], m["country"]) for m in reply.body]


@pytest.mark.parametrize("path", [METHODS, METHODS + "/", METHODS + "/?country="])
def test_payment_methods_without_country_are_the_global_ones(api, path):
    # When the methods are asked for without a country
    methods = _methods(api.get(path))
    # Then only the global methods come, each with country null, in display order
    assert methods == [(name, None) for name in GLOBAL_METHODS]


@pytest.mark.parametrize("country", ["PK", "pk", " pk "])
def test_payment_methods_for_pakistan_are_global_then_local(api, country):
    # When the methods for Pakistan are asked for, as the seed does (trailing slash, any case)
    reply = api.get(f"{METHODS}/?country={country.replace(' ', '%20')}")
    # Then the global methods come first, then Pakistan's, each in display order
    methods = _methods(reply)
    assert methods == [(m, None) for m in GLOBAL_METHODS] + [(m, "PK") for m in PK_METHODS]
    # And the wallets carry what a payer needs
    by_name = {(m["payment_method"], m["country"]): m for m in reply.body}
    assert by_name[("jazzcash", "PK")]["details"]["wallet_number"]
    assert by_name[("easypaisa", "PK")]["details"]["wallet_number"]
    assert by_name[("bank_transfer", "PK")]["details"]["iban"].startswith("PK")
    assert by_name[("jazzcash", "PK")]["display_name"] and by_name[("jazzcash", "PK")]["instructions"]
    # And no other country's methods leak in
    assert ("upi", "IN") not in methods and ("bkash", "BD") not in methods


def test_payment_methods_for_a_country_without_own_methods_are_the_global_ones(api):
    assert _methods(api.get(METHODS + "?country=US")) == [(m, None) for m in GLOBAL_METHODS]


@pytest.mark.parametrize("country", ["XX", "PAK", "P", "12", "Pakistan"])
def test_payment_methods_for_a_country_that_is_not_an_iso_code_is_400(api, country):
    reply = api.get(f"{METHODS}/?country={country}")
    assert_error(reply, 400)
    assert error_fields(reply) == {"country"}


# Invoices ---------------------------------------------------------------------------------------

def test_invoices_lists_only_the_callers_own_invoice(api, paid_signup):
    # Given two paid signups
    other_token, other_invoice = signup(api, "other@khan.pk", plan="growth")
    # When each lists their invoices
    mine = api.get(INVOICES, token=paid_signup.token)
    theirs = api.get(INVOICES, token=other_token)
    # Then each sees only their own, with the contract's fields
    assert mine.status == 200 and theirs.status == 200
    assert [i["id"] for i in mine.body["items"]] == [paid_signup.invoice_id]
    assert [i["id"] for i in theirs.body["items"]] == [other_invoice]
    assert mine.body["next_cursor"] is None
    item = mine.body["items"][0]
    assert INVOICE_KEYS <= set(item)
    assert (item["status"], item["amount"], item["currency"], item["plan"]) == ("pending", "89.00",
                                                                              "USD", "starter")
    assert theirs.body["items"][0]["amount"] == "249.00"
    assert_no_floats(mine.body)


def test_invoices_of_a_free_trial_are_empty(api):
    token = api.register("trial@khan.pk").body["access_token"]
    reply = api.get(INVOICES, token=token)
    assert reply.status == 200
    assert reply.body == {"items": [], "next_cursor": None}


def test_invoice_by_id_returns_the_callers_invoice(api, paid_signup):
    # When the user opens their invoice
    reply = api.get(f"{INVOICES}/{paid_signup.invoice_id}", token=paid_signup.token)
    # Then it has the contract's fields, the billing snapshot and the plan price
    assert reply.status == 200, reply.body
    assert INVOICE_KEYS <= set(reply.body)
    assert reply.body["id"] == paid_signup.invoice_id
    assert reply.body["billing_snapshot"] == BILLING_PK
    assert reply.body["amount"] == "89.00" and reply.body["paid_at"] is None
    assert TIMESTAMP.match(reply.body["created_at"])
    assert_no_floats(reply.body)


def test_invoice_of_another_account_is_404(api, paid_signup):
    # Given another account's invoice
    _, other_invoice = signup(api, "other@khan.pk")
    # When the first user asks for it, or for an invoice that does not exist
    foreign = api.get(f"{INVOICES}/{other_invoice}", token=paid_signup.token)
    unknown = api.get(f"{INVOICES}/inv_does_not_exist", token=paid_signup.token)
    # Then both are the same 404, and nothing of the other invoice shows
    assert_error(foreign, 404)
    assert_error(unknown, 404)
    assert foreign.body["error"]["code"] == unknown.body["error"]["code"]
    assert other_invoice not in json.dumps(foreign.body)


@pytest.mark.parametrize("path", [INVOICES, PAYMENTS])
@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", ""])
def test_list_limit_outside_1_to_100_is_400(api, paid_signup, path, limit):
    reply = api.get(f"{path}?limit={limit}", token=paid_signup.token)
    assert_error(reply, 400)
    assert error_fields(reply) == {"limit"}


def three_of_each(api, signup) -> dict[str, list[str]]:
    """The signup's account with three invoices and three payments; their ids, newest first.

    A signup makes one invoice, and no route makes another for the same account yet, so the two
    older ones are written to the store as earlier invoices of that account (paid ones). The
    payments are made through the routes: confirm, reject, confirm, reject, confirm."""
    current = invoice(signup.invoice_id)
    older = []
    for month in (1, 2):
        earlier = InvoiceModel(
            f"inv_earlier_{month}", **{name: getattr(current, name) for name in (
                "account_id", "subscription_id", "amount_minor", "currency", "plan", "plan_credits",
                "billing_snapshot", "billing_country", "due_date")},
            invoice_number=f"INV-2024-00000{month}", status="paid",
            created_at=f"2024-0{month}-01T00:00:00Z", paid_at=f"2024-0{month}-02T00:00:00Z")
        earlier.save()
        older.insert(0, earlier.invoice_id)
    admin = api.admin_token()
    payments = []
    for n in range(3):
        reply = api.confirm(signup.token, signup.invoice_id, reference=f"BT-PAGE-{n}")
        assert reply.status == 201, reply.body
        payments.insert(0, reply.body["id"])
        if n < 2:
            assert api.reject(admin, reply.body["id"]).status == 200
    return {INVOICES: [signup.invoice_id, *older], PAYMENTS: payments}


@pytest.mark.parametrize("path", [INVOICES, PAYMENTS])
@pytest.mark.parametrize("limit", ["1", "2", "100"])
def test_list_limit_cuts_pages_and_the_cursor_continues_them(api, paid_signup, path, limit):
    # Given three invoices and three payments of the caller, and another account's
    newest_first = three_of_each(api, paid_signup)[path]
    signup(api, "other@khan.pk")
    # When the caller pages through with the limit, following each cursor
    pages, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = api.get(path + query, token=paid_signup.token)
        assert reply.status == 200, reply.body
        assert set(reply.body) == {"items", "next_cursor"}
        pages.append([item["id"] for item in reply.body["items"]])
        cursor = reply.body["next_cursor"]
        if cursor is None or len(pages) > 3:
            break
    # Then each page holds `limit` items, newest first, the last page no cursor, none repeated
    size = int(limit)
    assert pages == [newest_first[i:i + size] for i in range(0, len(newest_first), size)]


@pytest.mark.parametrize("path", [INVOICES, PAYMENTS])
@pytest.mark.parametrize("cursor", ["abc", "not-a-cursor!", "e30", "W10"])
def test_list_with_an_invalid_cursor_is_400(api, paid_signup, path, cursor):
    assert_error(api.get(f"{path}?cursor={cursor}", token=paid_signup.token), 400)


@pytest.mark.parametrize("path", [INVOICES, PAYMENTS, f"{INVOICES}/inv_x"])
def test_billing_routes_without_a_token_are_401(api, path):
    assert_error(api.get(path), 401)


# Payments ---------------------------------------------------------------------------------------

def test_payments_are_the_callers_own_newest_first_and_paginate(api, paid_signup):
    # Given a user whose first payment was rejected and who paid again
    admin = api.admin_token()
    first = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-1")
    assert api.reject(admin, first.body["id"]).status == 200
    second = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2")
    assert second.status == 201, second.body
    # And another user with a payment of their own
    other_token, other_invoice = signup(api, "other@khan.pk")
    assert api.confirm(other_token, other_invoice).status == 201
    # When the user lists their payments
    reply = api.get(PAYMENTS, token=paid_signup.token)
    # Then they see only theirs, newest first
    assert reply.status == 200, reply.body
    assert [(p["id"], p["status"]) for p in reply.body["items"]] == [
        (second.body["id"], "pending_approval"), (first.body["id"], "failed")]
    assert reply.body["next_cursor"] is None
    assert all(set(p) == PAYMENT_KEYS for p in reply.body["items"])
    assert_no_floats(reply.body)
    # When they page through with limit=1
    page1 = api.get(f"{PAYMENTS}?limit=1", token=paid_signup.token)
    page2 = api.get(f"{PAYMENTS}?limit=1&cursor={page1.body['next_cursor']}", token=paid_signup.token)
    # Then the pages hold one payment each, in the same order, and the last has no cursor
    assert [p["id"] for p in page1.body["items"]] == [second.body["id"]]
    assert page1.body["next_cursor"]
    assert [p["id"] for p in page2.body["items"]] == [first.body["id"]]
    assert page2.body["next_cursor"] is None


def test_a_cursor_of_another_account_is_rejected(api, paid_signup):
    # Given a cursor from another user's payment list
    admin = api.admin_token()
    other_token, other_invoice = signup(api, "other@khan.pk")
    rejected = api.confirm(other_token, other_invoice, reference="BT-1")
    api.reject(admin, rejected.body["id"])
    api.confirm(other_token, other_invoice, reference="BT-2")
    cursor = api.get(f"{PAYMENTS}?limit=1", token=other_token).body["next_cursor"]
    assert cursor
    # When the first user passes it
    reply = api.get(f"{PAYMENTS}?limit=1&cursor={cursor}", token=paid_signup.token)
    # Then it is refused rather than showing the other account's payments
    assert_error(reply, 400)


# Confirm ----------------------------------------------------------------------------------------

def test_confirm_creates_a_payment_awaiting_approval(api, paid_signup):
    # Given a paid signup with a pending invoice
    # When the user confirms they paid it
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id, manual_notes="Paid from Meezan")
    # Then 201 with a payment awaiting approval, as sent
    assert reply.status == 201, reply.body
    payment = reply.body
    assert set(payment) == PAYMENT_KEYS
    assert (payment["status"], payment["invoice_id"], payment["account_id"]) == (
        "pending_approval", paid_signup.invoice_id, paid_signup.account_id)
    assert (payment["payment_method"], payment["amount"], payment["currency"]) == (
        "bank_transfer", "89.00", "USD")
    assert (payment["manual_reference"], payment["manual_notes"]) == ("BT-2025-001", "Paid from Meezan")
    assert payment["admin_notes"] is None and payment["decided_at"] is None
    assert payment["decided_by"] is None and TIMESTAMP.match(payment["created_at"])
    assert AMOUNT.match(payment["amount"])
    assert_no_floats(payment)
    # And the invoice stays pending but now points at that payment
    stored = invoice(paid_signup.invoice_id)
    assert (stored.status, stored.pending_payment_id) == ("pending", payment["id"])
    assert [p.payment_id for p in payments_of(paid_signup.invoice_id)] == [payment["id"]]
    # And nothing is granted before an admin decides
    account = AccountModel.get(paid_signup.account_id)
    assert (account.status, account.credits) == ("pending_payment", 0)
    assert SubscriptionModel.get(paid_signup.subscription_id).status == "pending_payment"


@pytest.mark.parametrize("method", ["wise", "jazzcash", "easypaisa"])
def test_confirm_accepts_global_and_local_methods(api, paid_signup, method):
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id, method=method)
    assert reply.status == 201, reply.body
    assert reply.body["payment_method"] == method


def test_confirm_an_unknown_invoice_is_404(api, paid_signup):
    with store_unchanged():
        reply = api.confirm(paid_signup.token, "inv_does_not_exist")
    assert_error(reply, 404)
    assert_invoice_untouched(paid_signup.invoice_id)


def test_confirm_another_accounts_invoice_is_404_and_changes_nothing(api, paid_signup):
    # Given another account's pending invoice
    _, other_invoice = signup(api, "other@khan.pk")
    # When the first user confirms a payment for it
    with store_unchanged():
        reply = api.confirm(paid_signup.token, other_invoice)
    # Then 404 and the other invoice has no payment
    assert_error(reply, 404)
    assert_invoice_untouched(other_invoice)


def test_confirm_a_second_time_while_one_is_pending_is_409(api, paid_signup):
    # Given a payment awaiting approval
    first = api.confirm(paid_signup.token, paid_signup.invoice_id)
    assert first.status == 201
    # When the user confirms again
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2025-002")
    # Then 409 and still one payment, the first
    assert_error(reply, 409, "payment_already_pending")
    assert invoice(paid_signup.invoice_id).pending_payment_id == first.body["id"]
    assert len(payments_of(paid_signup.invoice_id)) == 1


def test_confirm_a_paid_invoice_is_409(api, paid_signup):
    # Given an invoice that is already paid
    first = api.confirm(paid_signup.token, paid_signup.invoice_id)
    assert api.approve(api.admin_token(), first.body["id"]).status == 200
    # When the user confirms another payment for it
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2025-002")
    # Then 409 and the invoice keeps its one successful payment
    assert_error(reply, 409, "invoice_not_pending")
    stored = invoice(paid_signup.invoice_id)
    assert (stored.status, stored.pending_payment_id) == ("paid", None)
    assert [p.status for p in payments_of(paid_signup.invoice_id)] == ["succeeded"]


# 89.00 due, 1% tolerance: 88.11 to 89.00 count as full (see tests/billing/test_currencies.py)
@pytest.mark.parametrize("amount", ["90.00", "89.01", "88.10", "0.00", "8900.00"])
def test_confirm_an_amount_other_than_the_invoice_amount_is_422(api, paid_signup, amount):
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount=amount)
    assert_error(reply, 422, "amount_mismatch")
    assert error_fields(reply) == {"amount"}
    assert_invoice_untouched(paid_signup.invoice_id)


@pytest.mark.parametrize("amount", ["89", "89.0", "89.000", "-89.00", "+89.00", "89,00", "1e2",
                                    "89.00 USD", "$89.00", "", "089.00", "99999999999.00"])
def test_confirm_an_amount_not_written_as_two_decimals_is_422(api, paid_signup, amount):
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount=amount)
    assert_error(reply, 422)
    assert error_fields(reply) == {"amount"}
    assert_invoice_untouched(paid_signup.invoice_id)


@pytest.mark.parametrize("amount", [89.0, 89, None, ["89.00"]])
def test_confirm_an_amount_that_is_not_a_string_is_400_or_missing_422(api, paid_signup, amount):
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount=amount)
    # A number (even 89.0) is the wrong type: 400; a missing amount is invalid: 422
    assert_error(reply, 422 if amount is None else 400)
    assert error_fields(reply) == {"amount"}
    assert_invoice_untouched(paid_signup.invoice_id)


@pytest.mark.parametrize("method", ["upi", "bkash", "nagad", "no_such_method"])
def test_confirm_a_method_not_offered_in_the_billing_country_is_422(api, paid_signup, method):
    # Given an invoice billed to Pakistan
    # When the user says they paid by a method not offered there
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, method=method)
    # Then 422 and no payment
    assert_error(reply, 422, "method_not_offered")
    assert error_fields(reply) == {"payment_method"}
    assert_invoice_untouched(paid_signup.invoice_id)


@pytest.mark.parametrize("reference", [None, "", "   "])
def test_confirm_without_a_manual_reference_is_422(api, paid_signup, reference):
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, reference=reference)
    assert_error(reply, 422)
    assert error_fields(reply) == {"manual_reference"}
    assert_invoice_untouched(paid_signup.invoice_id)


@pytest.mark.parametrize(("extra", "field"), [
    ({"status": "succeeded"}, "status"),
    ({"account_id": "acc_someone_else"}, "account_id"),
    ({"manual_reference": 12345}, "manual_reference"),
    ({"invoice_id": ["inv"]}, "invoice_id"),
])
def test_confirm_with_an_unknown_field_or_wrong_type_is_400(api, paid_signup, extra, field):
    sent = {"invoice_id": paid_signup.invoice_id, "payment_method": "bank_transfer",
            "amount": "89.00", "manual_reference": "BT-1", **extra}
    with store_unchanged():
        reply = api.post(CONFIRM, sent, token=paid_signup.token)
    assert_error(reply, 400)
    assert field in error_fields(reply)
    assert_invoice_untouched(paid_signup.invoice_id)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]"])
def test_confirm_with_a_body_that_is_not_a_json_object_is_400(api, paid_signup, raw):
    with store_unchanged():
        reply = api.request("POST", CONFIRM, raw=raw, token=paid_signup.token)
    assert_error(reply, 400)


def test_confirm_without_a_token_is_401(api, paid_signup):
    with store_unchanged():
        reply = api.post(CONFIRM, {"invoice_id": paid_signup.invoice_id, "amount": "89.00",
                                   "payment_method": "bank_transfer", "manual_reference": "BT-1"})
    assert_error(reply, 401)
    assert_invoice_untouched(paid_signup.invoice_id)


def test_confirm_without_the_trailing_slash_reaches_the_same_route(api):
    # Given a pending invoice
    token, invoice_id = signup(api, "ayesha@khan.pk")
    # When its owner confirms through the path without the seed's trailing slash
    reply = api.post(CONFIRM.rstrip("/"), {"invoice_id": invoice_id, "amount": "89.00",
                                           "payment_method": "bank_transfer",
                                           "manual_reference": "BT-1"}, token=token)
    # Then the payment is created all the same
    assert reply.status == 201, reply.body
    assert InvoiceModel.get(invoice_id).pending_payment_id == reply.body["id"]


# Idempotency-Key (api.md, General) --------------------------------------------------------------

def test_confirm_retried_with_the_same_idempotency_key_returns_the_first_response(api, paid_signup):
    # Given a confirmation sent with an Idempotency-Key
    key = {"idempotency-key": "confirm-7f3a"}
    sent = confirm_body(paid_signup.invoice_id)
    first = api.post(CONFIRM, sent, token=paid_signup.token, headers=key)
    assert first.status == 201, first.body
    # When the client retries it with the same key and body (e.g. after a timeout)
    again = api.post(CONFIRM, sent, token=paid_signup.token, headers=key)
    # Then it gets the first response again, and there is still one payment
    assert (again.status, again.body) == (201, first.body)
    assert [p.payment_id for p in payments_of(paid_signup.invoice_id)] == [first.body["id"]]
    assert invoice(paid_signup.invoice_id).pending_payment_id == first.body["id"]


def test_confirm_reusing_an_idempotency_key_with_another_body_is_422(api, paid_signup):
    # Given a confirmation sent with an Idempotency-Key
    key = {"idempotency-key": "confirm-7f3a"}
    first = api.post(CONFIRM, confirm_body(paid_signup.invoice_id), token=paid_signup.token,
                     headers=key)
    assert first.status == 201, first.body
    # When the same key comes with a different body
    reply = api.post(CONFIRM, confirm_body(paid_signup.invoice_id, reference="BT-OTHER"),
                     token=paid_signup.token, headers=key)
    # Then 422 and still the one payment
    assert_error(reply, 422)
    assert len(payments_of(paid_signup.invoice_id)) == 1


def test_the_same_idempotency_key_from_two_users_never_mixes_their_requests(api, paid_signup):
    # Given one user's confirmation with an Idempotency-Key
    key = {"idempotency-key": "same-key"}
    mine = api.post(CONFIRM, confirm_body(paid_signup.invoice_id), token=paid_signup.token,
                    headers=key)
    assert mine.status == 201, mine.body
    # When another user sends their own confirmation with the same key
    other_token, other_invoice = signup(api, "other@khan.pk")
    theirs = api.post(CONFIRM, confirm_body(other_invoice, reference="BT-THEIRS"), token=other_token, headers=key)
    # Then it creates their own payment, never a replay of the first user's
    assert theirs.status == 201, theirs.body
    assert (theirs.body["invoice_id"], theirs.body["id"] != mine.body["id"]) == (other_invoice, True)
    assert invoice(other_invoice).pending_payment_id == theirs.body["id"]


def test_an_id_too_long_to_exist_is_a_404_without_asking_the_store(api, paid_signup, ddb_calls):
    # Given an invoice id longer than DynamoDB accepts as a key (it would refuse it with an error)
    ddb_calls.clear()
    reply = api.get("/api/v1/billing/invoices/" + "i" * 3000, token=paid_signup.token)
    # Then the answer is a plain 404 and the store was never asked
    assert_error(reply, 404, "invoice_not_found")
    assert ddb_calls == []
