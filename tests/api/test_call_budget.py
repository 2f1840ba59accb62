"""DynamoDB round trips per request: each route stays within its budget and none ever Scans."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.catalog import plans as catalog_plans
from chalicelib.core.config import get_settings
from chalicelib.credits import consume as consumption
from chalicelib.storage.models.webhooks import WebhookEventModel
from tests.conftest import Api, PaidSignup, Reply, aws_spy

PDF = {"accept": "application/pdf"}
SHARDS = get_settings().index_shards  # the approval queue is sharded: one Query per shard

# The most DynamoDB calls each request may make (the performance budget).
BUDGET = {
    "plans": 1,
    "payment_methods_pk": 2,
    "free_signup": 2,
    "paid_signup": 4,
    "login": 2,
    "me_pending_invoice": 3,
    "me_pending_invoice_with_payment": 3,
    "own_invoices": 1,
    "invoice_pdf_unpaid": 4,
    "invoice_pdf_paid": 3,
    "confirm": 4,
    "admin_queue": SHARDS + 1,
    "reject": 3,
    "approve": 4,
    "consume": 1,
    "entitlements": 1,
    "summary_12_months": 13,
}

# What each request does today, call by call: a change within the budget still shows up here.
EXACT = {
    "plans": ["Query"],
    "payment_methods_pk": ["Query", "Query"],
    "free_signup": ["TransactGetItems", "TransactWriteItems"],
    # Query: the exchange rates, for the invoice's quotes in the country's currencies
    "paid_signup": ["TransactGetItems", "UpdateItem", "Query", "TransactWriteItems"],
    # the user and the two failure windows in one read; the session (its family and first
    # refresh token) in one write
    "login": ["TransactGetItems", "TransactWriteItems"],
    "me_pending_invoice": ["TransactGetItems", "TransactGetItems", "Query"],
    "me_pending_invoice_with_payment": ["TransactGetItems", "TransactGetItems", "Query"],
    "own_invoices": ["Query"],
    # the invoice, its plan's name, and the methods of the billing country (global, the country's)
    "invoice_pdf_unpaid": ["GetItem", "GetItem", "Query", "Query"],
    # the invoice, its plan's name, and the payments received
    "invoice_pdf_paid": ["GetItem", "GetItem", "Query"],
    "confirm": ["GetItem", "BatchGetItem", "Query", "TransactWriteItems"],  # Query: near-duplicates
    "admin_queue": ["Query"] * SHARDS + ["BatchGetItem"],
    "reject": ["GetItem", "GetItem", "TransactWriteItems"],
    "approve": ["GetItem", "TransactGetItems", "TransactWriteItems"],
    # The key cached and the container's view of the account current (its own last consume): the
    # buckets and the ledger entry in one conditional write. Cold, the account is read first
    # (GetItem + TransactWriteItems), and a key this container has not checked within 60 s adds one
    # GetItem; an account changed by another container meanwhile adds one TransactWriteItems per
    # change (the failed condition returns the account as it is).
    "consume": ["TransactWriteItems"],
    # The key cached and the plan's features read by this container lately: the account, read as
    # it is now. Cold, the key and the plan add one GetItem each.
    "entitlements": ["GetItem"],
    # The running totals, then each month from `from` to the current one: one Query each, at any
    # number of payments (the aggregates are summed over their shards from one Query)
    "summary_12_months": ["Query"] * 13,
}


def test_the_exact_counts_are_within_the_budget() -> None:
    assert set(EXACT) == set(BUDGET)
    assert {route: len(ops) for route, ops in EXACT.items() if len(ops) > BUDGET[route]} == {}


class Meter:
    """Runs one request at a time and keeps the DynamoDB operations it made."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.used: dict[str, list[str]] = {}

    def __call__(self, route: str, request: Callable[[], Reply], status: int) -> Reply:
        self.calls.clear()
        reply = request()
        assert reply.status == status, (route, reply.body)
        self.used[route] = list(self.calls)
        return reply

    def over_budget(self) -> dict[str, list[str]]:
        return {route: ops for route, ops in self.used.items() if len(ops) > BUDGET[route]}


@pytest.fixture
def meter(api: Api, ddb_calls: list[str]) -> Meter:
    return Meter(ddb_calls)


@pytest.fixture
def tables(ddb_calls: list[str]) -> Iterator[list[tuple[str, frozenset[str]]]]:
    """Every DynamoDB call as (operation, tables it names); layered over `ddb_calls`."""
    seen: list[tuple[str, frozenset[str]]] = []

    def record(service: str, operation_name: str, api_params: dict[str, Any]) -> None:
        if service == "dynamodb":
            names = set(api_params.get("RequestItems", {}))
            if "TableName" in api_params:
                names.add(api_params["TableName"])
            for item in api_params.get("TransactItems", []):
                names.update(part["TableName"] for part in item.values())
            seen.append((operation_name, frozenset(names)))

    with aws_spy(record):
        yield seen


def test_public_routes_signup_and_login_stay_within_budget(api: Api, meter: Meter) -> None:
    # Given a fresh store with the catalog
    # When each public route and a free signup and login run once
    plans = meter("plans", lambda: api.get("/api/v1/billing/plans"), 200)
    methods = meter("payment_methods_pk",
                    lambda: api.get("/api/v1/billing/admin/payment-methods/?country=PK"), 200)
    meter("free_signup", lambda: api.register("trial@example.com"), 201)
    meter("login", lambda: api.post("/api/v1/auth/login", {"email": "trial@example.com",
                                                           "password": "correct horse battery"}), 200)
    # Then each stays within its budget, never Scans, and really answered
    assert meter.over_budget() == {}, meter.used
    assert meter.used == {route: EXACT[route] for route in meter.used}
    assert not any("Scan" in ops for ops in meter.used.values()), meter.used
    assert len(plans.body["items"]) == 4 and len(methods.body) == 8
    assert all(meter.used.values())  # each route did reach DynamoDB (the spy works)


def test_the_paid_workflow_stays_within_budget(api: Api, meter: Meter) -> None:
    # Given an admin, when a user signs up for a paid plan and goes through confirm, reject,
    # confirm again and approve
    signup = meter("paid_signup", lambda: api.register(
        "paid@example.com", plan="starter", payment_method="bank_transfer"), 201)
    token, invoice_id = signup.body["access_token"], signup.body["invoice"]["id"]
    me = meter("me_pending_invoice", lambda: api.get("/api/v1/auth/me", token=token), 200)
    assert me.body["pending_invoice"]["id"] == invoice_id
    meter("own_invoices", lambda: api.get("/api/v1/billing/invoices", token=token), 200)
    pdf = f"/api/v1/billing/invoices/{invoice_id}/pdf"
    meter("invoice_pdf_unpaid", lambda: api.get(pdf, token=token, headers=PDF), 200)
    first = meter("confirm", lambda: api.confirm(token, invoice_id), 201)
    me = meter("me_pending_invoice_with_payment", lambda: api.get("/api/v1/auth/me", token=token), 200)
    assert me.body["pending_invoice"]["latest_payment"]["id"] == first.body["id"]
    admin = api.admin_token()
    queue = meter("admin_queue", lambda: api.get(
        "/api/v1/billing/admin/payments?status=pending_approval", token=admin), 200)
    assert [p["id"] for p in queue.body["items"]] == [first.body["id"]]
    meter("reject", lambda: api.reject(admin, first.body["id"]), 200)
    second = api.confirm(token, invoice_id, reference="BT-2025-002")
    assert second.status == 201, second.body
    approved = meter("approve", lambda: api.approve(admin, second.body["id"]), 200)
    meter("invoice_pdf_paid", lambda: api.get(pdf, token=token, headers=PDF), 200)
    # Then every request stayed within its budget and none Scanned
    assert approved.body["account"]["status"] == "active"
    assert meter.over_budget() == {}, meter.used
    assert meter.used == {route: EXACT[route] for route in meter.used}
    assert not any("Scan" in ops for ops in meter.used.values()), meter.used
    assert all(meter.used.values())


def _active_with_a_key(api: Api, paid_signup: PaidSignup) -> str:
    """Approve the signup's payment (the account active) and make a service key; the key."""
    admin = api.admin_token()
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert api.approve(admin, payment).status == 200
    return api.post("/api/v1/billing/admin/service-keys", {"name": "budget"}, token=admin).body["key"]


def test_a_consume_with_a_warm_key_and_account_is_one_call(api: Api, meter: Meter,
                                                          paid_signup: PaidSignup) -> None:
    # Given an active account and a service key
    key = _active_with_a_key(api, paid_signup)
    consumption._views.clear()  # a fresh container

    def consume(idem: str) -> Reply:
        return api.post("/api/v1/credits/consume", {"account_id": paid_signup.account_id,
                                                    "amount": 5, "reason": "budget"},
                        token=key, headers={"idempotency-key": idem})

    # When the first consume warms the container (cold: the key, the account, the write)
    meter.calls.clear()
    assert consume("warm").status == 200
    assert meter.calls == ["GetItem", "GetItem", "TransactWriteItems"]
    # Then the next one is one conditional write, within the budget, and exact
    reply = meter("consume", lambda: consume("hot"), 200)
    assert meter.over_budget() == {}, meter.used
    assert meter.used == {"consume": EXACT["consume"]}
    assert reply.body["credits"] == 990


def test_a_consume_that_makes_credit_events_is_still_one_call(api: Api, meter: Meter,
                                                             paid_signup: PaidSignup) -> None:
    # Given an active account (1,000 credits) and a warm container
    key = _active_with_a_key(api, paid_signup)

    def consume(idem: str, amount: int) -> Reply:
        return api.post("/api/v1/credits/consume", {"account_id": paid_signup.account_id,
                                                    "amount": amount, "reason": "budget"},
                        token=key, headers={"idempotency-key": idem})

    assert consume("warm", 1).status == 200
    # When one consumption takes the allowance below a tenth, and the next takes the rest
    low = meter("consume", lambda: consume("low", 900), 200)
    gone = meter("consume", lambda: consume("gone", 99), 200)
    # Then each was the one conditional write, and its events were written in it
    assert meter.over_budget() == {}, meter.used
    assert meter.used == {"consume": EXACT["consume"]}
    assert (low.body["credits"], gone.body["credits"]) == (99, 0)
    events = {e.type: json.loads(e.data)["entry_id"]
              for e in WebhookEventModel.query(paid_signup.account_id) if e.type.startswith("credits.")}
    assert events == {"credits.low": low.body["entry_id"], "credits.exhausted": gone.body["entry_id"]}


def test_the_summary_for_12_months_is_13_queries_at_any_size(api: Api, meter: Meter,
                                                             paid_signup: PaidSignup) -> None:
    admin = api.admin_token()

    def summary() -> Reply:
        return api.get("/api/v1/billing/admin/reports/summary", token=admin)

    # Given an empty month, then one with a payment approved and one rejected
    empty = meter("summary_12_months", summary, 200)
    assert meter.used == {"summary_12_months": EXACT["summary_12_months"]}
    rejected = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-NO").body["id"]
    assert api.reject(admin, rejected).status == 200
    _active_with_a_key(api, paid_signup)
    # Then the summary costs the same reads, and says what happened
    meter.used.clear()
    full = meter("summary_12_months", summary, 200)
    assert meter.used == {"summary_12_months": EXACT["summary_12_months"]}
    assert meter.over_budget() == {}
    now = full.body["months"][-1]
    assert (now["approvals"], now["rejections"], now["collected"], now["mrr"]) == (1, 1, "89.00", "89.00")
    assert empty.body["months"][-1]["approvals"] == 0


def test_entitlements_with_a_warm_key_are_one_read(api: Api, meter: Meter,
                                                   paid_signup: PaidSignup) -> None:
    # Given an active account and a service key, in a fresh container
    key = _active_with_a_key(api, paid_signup)
    catalog_plans._features.clear()
    path = f"/api/v1/entitlements/{paid_signup.account_id}"
    # When the first request warms the container (cold: the key, the account, the plan)
    meter.calls.clear()
    assert api.get(path, token=key).status == 200
    assert meter.calls == ["GetItem", "GetItem", "GetItem"]
    # Then the next one is one read of the account, within the budget, and never a Scan
    reply = meter("entitlements", lambda: api.get(path, token=key), 200)
    assert meter.over_budget() == {}, meter.used
    assert meter.used == {"entitlements": EXACT["entitlements"]}
    assert not any("Scan" in ops for ops in meter.used.values()), meter.used
    assert (reply.body["status"], reply.body["credits"], reply.body["can_use_credits"]) == \
        ("active", 1000, True)


def test_no_route_ever_scans(api: Api, ddb_calls: list[str]) -> None:
    # Given a paid account with a payment awaiting approval, an admin and a service key
    signup = api.register("scan@example.com", plan="growth", payment_method="jazzcash")
    token, invoice_id = signup.body["access_token"], signup.body["invoice"]["id"]
    payment = api.confirm(token, invoice_id, amount="249.00", method="jazzcash").body
    admin = api.admin_token()
    key = api.post("/api/v1/billing/admin/service-keys", {"name": "scan"}, token=admin).body["key"]
    ddb_calls.clear()
    # When every route is called, on its happy path and on some error paths
    replies = [
        api.get("/api/v1/billing/plans"),
        api.get("/api/v1/billing/admin/payment-methods"),
        api.get("/api/v1/billing/admin/payment-methods/?country=IN"),
        api.register("free-scan@example.com"),
        api.register("scan@example.com"),  # 409 duplicate
        api.post("/api/v1/auth/login", {"email": "scan@example.com", "password": "wrong password"}),
        api.post("/api/v1/auth/login", {"email": "nobody@example.com", "password": "wrong password"}),
        api.get("/api/v1/auth/me", token=token),
        api.get("/api/v1/billing/invoices?limit=1", token=token),
        api.get(f"/api/v1/billing/invoices/{invoice_id}", token=token),
        api.get("/api/v1/billing/invoices/inv_missing", token=token),
        api.get(f"/api/v1/billing/invoices/{invoice_id}/pdf", token=token, headers=PDF),
        api.get(f"/api/v1/billing/admin/invoices/{invoice_id}/pdf", token=admin, headers=PDF),
        api.get("/api/v1/billing/invoices/inv_missing/pdf", token=token, headers=PDF),
        api.get("/api/v1/billing/payments", token=token),
        api.confirm(token, invoice_id, amount="249.00", method="jazzcash"),  # 409 already pending
        api.get("/api/v1/billing/admin/payments?status=pending_approval", token=admin),
        api.get(f"/api/v1/billing/admin/payments/{payment['id']}", token=admin),
        api.get("/api/v1/billing/admin/payments/pay_missing", token=admin),
        api.get("/api/v1/billing/admin/status", token=admin),
        api.approve(admin, payment["id"]),
        api.approve(admin, payment["id"]),  # 409 already decided
        api.reject(admin, payment["id"]),  # 409 already decided
        api.get(f"/api/v1/entitlements/{signup.body['account']['id']}", token=key),
        api.get("/api/v1/entitlements/acc_missing", token=key),
        api.get("/api/v1/openapi.json"),
    ]
    # Then none of them Scanned (and they did reach DynamoDB and answered without a 5xx)
    assert "Scan" not in ddb_calls, ddb_calls
    assert len(ddb_calls) > len(replies)
    assert all(reply.status < 500 for reply in replies), [(r.status, r.body) for r in replies]
    assert sorted({r.status for r in replies}) == [200, 201, 401, 404, 409]


def test_a_valid_token_is_verified_without_reading_the_users_table(
        api: Api, paid_signup: Any, tables: list[tuple[str, frozenset[str]]]) -> None:
    # Given a signed-in user with an invoice
    tables.clear()
    # When they list their invoices
    reply = api.get("/api/v1/billing/invoices", token=paid_signup.token)
    # Then the only DynamoDB call is one Query of the invoices table (no user lookup for auth)
    assert reply.status == 200 and [i["id"] for i in reply.body["items"]] == [paid_signup.invoice_id]
    assert tables == [("Query", frozenset({"billing-dev-invoices"}))]


def test_a_request_with_a_bad_token_makes_no_dynamodb_call(
        api: Api, paid_signup: Any, tables: list[tuple[str, frozenset[str]]]) -> None:
    # Given a forged token (the user's token with its signature cut)
    forged = paid_signup.token.rsplit(".", 1)[0] + ".AAAA"
    tables.clear()
    # When it is used on a user route and an admin route
    replies = [api.get("/api/v1/billing/invoices", token=forged),
               api.get("/api/v1/billing/admin/payments", token=forged),
               api.get("/api/v1/billing/admin/payments", token=paid_signup.token)]
    # Then they are refused (401, 401, 403) before any DynamoDB call
    assert [r.status for r in replies] == [401, 401, 403]
    assert tables == []
