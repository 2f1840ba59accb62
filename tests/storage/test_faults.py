"""DynamoDB faults on every writing route: 503 or 409 with Retry-After, and nothing half-written.

moto cannot throttle, conflict or go away, so a botocore `before-call` hook on the app's one
DynamoDB client raises what DynamoDB would; the request then runs through the real app.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.storage import store
from chalicelib.storage.models.platform import IdempotencyModel
from chalicelib.storage.models.records import CounterModel
from tests.conftest import Api, PaidSignup, Reply
from tests.helpers import assert_error, payments_of, store_snapshot
from tests.helpers import confirm_body


def throttled(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                       operation)


def conflicting(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "TransactionCanceledException",
                                  "Message": "Transaction cancelled [None, TransactionConflict]"},
                        "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]},
                       operation)


def unreachable(operation: str) -> Exception:
    return EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


FAULTS = {"throttled": (throttled, 503, "service_unavailable", "2"),
          "conflict": (conflicting, 409, "transaction_conflict", "1"),
          "unreachable": (unreachable, 503, "service_unavailable", "2")}


@pytest.fixture
def inject() -> Iterator[Callable[[str, Callable[[str], Exception]], Callable[[], None]]]:
    """inject(operation, fault): every call of that operation fails until the returned function
    is called or the test ends."""
    events = store.connection().client.meta.events
    added: list[tuple[str, Any]] = []

    def add(operation: str, fault: Callable[[str], Exception]) -> Callable[[], None]:
        def fail(**_: Any) -> None:
            raise fault(operation)
        event = f"before-call.dynamodb.{operation}"
        events.register(event, fail)
        added.append((event, fail))
        return lambda: events.unregister(event, fail)

    yield add
    for event, handler in added:
        events.unregister(event, handler)


# Each writing route: (its request, what it must have changed once it succeeds). ------------------

Request = Callable[[], Reply]


def _register_free(api: Api, signup: PaidSignup) -> Request:
    return lambda: api.register("trial@khan.pk")


def _register_paid(api: Api, signup: PaidSignup) -> Request:
    return lambda: api.register("paid@khan.pk", plan="growth", payment_method="jazzcash")


def _confirm(api: Api, signup: PaidSignup) -> Request:
    return lambda: api.confirm(signup.token, signup.invoice_id)


def _approve(api: Api, signup: PaidSignup) -> Request:
    payment_id = api.confirm(signup.token, signup.invoice_id).body["id"]
    admin = api.admin_token()
    return lambda: api.approve(admin, payment_id)


def _reject(api: Api, signup: PaidSignup) -> Request:
    payment_id = api.confirm(signup.token, signup.invoice_id).body["id"]
    admin = api.admin_token()
    return lambda: api.reject(admin, payment_id)


def _login_failure(api: Api, signup: PaidSignup) -> Request:
    return lambda: api.post("/api/v1/auth/login", {"email": signup.email, "password": "wrong one!"})


ROUTES = {
    # route: (request, operation it writes with, status once the fault is gone)
    "register_free": (_register_free, "TransactWriteItems", 201),
    "register_paid": (_register_paid, "TransactWriteItems", 201),
    "confirm": (_confirm, "TransactWriteItems", 201),
    "approve": (_approve, "TransactWriteItems", 200),
    "reject": (_reject, "TransactWriteItems", 200),
}
READS = {"register_free": "TransactGetItems", "register_paid": "TransactGetItems",
         "confirm": "GetItem", "approve": "GetItem", "reject": "GetItem",
         "login_failure": "TransactGetItems"}


def _without_invoice_numbers(snapshot: dict[str, list[str]]) -> dict[str, list[str]]:
    """A snapshot less the invoice-number sequence: a number drawn for a signup that then failed
    is skipped (a gap, as with any database sequence); nothing else may change."""
    table = CounterModel.Meta.table_name
    return {**snapshot, table: [item for item in snapshot[table] if "invoice_number#" not in item]}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("route", ROUTES)
def test_a_failed_write_answers_with_retry_after_and_changes_nothing(
        api: Api, paid_signup: PaidSignup, inject: Any, route: str, fault: str) -> None:
    make_request, operation, ok_status = ROUTES[route]
    request = make_request(api, paid_signup)
    error, status, code, retry_after = FAULTS[fault]
    before = store_snapshot()
    recover = inject(operation, error)

    reply = request()

    assert_error(reply, status, code)
    assert reply.headers["retry-after"] == retry_after
    assert _without_invoice_numbers(store_snapshot()) == _without_invoice_numbers(before)
    # And once DynamoDB is back, the same request goes through: nothing was left half-done
    recover()
    assert request().status == ok_status


@pytest.mark.parametrize("route", READS)
def test_a_throttled_read_answers_503_and_changes_nothing(
        api: Api, paid_signup: PaidSignup, inject: Any, route: str) -> None:
    make_request = ROUTES[route][0] if route in ROUTES else _login_failure
    request = make_request(api, paid_signup)
    before = store_snapshot()
    inject(READS[route], throttled)
    reply = request()
    assert_error(reply, 503, "service_unavailable")
    assert reply.headers["retry-after"] == "2"
    assert store_snapshot() == before


def test_a_throttled_failure_count_answers_503_rather_than_a_free_guess(
        api: Api, paid_signup: PaidSignup, inject: Any) -> None:
    # A wrong password whose failure cannot be counted is not let through as a plain 401
    inject("UpdateItem", throttled)
    reply = _login_failure(api, paid_signup)()
    assert_error(reply, 503, "service_unavailable")


def test_a_throttled_invoice_number_fails_the_signup_before_anything_is_written(
        api: Api, paid_signup: PaidSignup, inject: Any) -> None:
    before = store_snapshot()
    inject("UpdateItem", throttled)
    assert_error(_register_paid(api, paid_signup)(), 503, "service_unavailable")
    assert store_snapshot() == before


KEY = {"idempotency-key": "retry-after-fault"}


def test_a_fault_while_claiming_a_key_answers_503_and_keeps_no_claim(
        api: Api, paid_signup: PaidSignup, inject: Any) -> None:
    before = store_snapshot()
    inject("PutItem", throttled)
    reply = api.post("/api/v1/billing/admin/payments/confirm", confirm_body(paid_signup.invoice_id, reference="BT-FAULT"),
                     token=paid_signup.token, headers=KEY)
    assert_error(reply, 503, "service_unavailable")
    assert store_snapshot() == before


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_after_the_claim_releases_the_key_so_the_retry_runs(
        api: Api, paid_signup: PaidSignup, inject: Any, fault: str) -> None:
    error, status, code, _ = FAULTS[fault]
    before = store_snapshot()
    inject("TransactWriteItems", error)
    reply = api.post("/api/v1/billing/admin/payments/confirm", confirm_body(paid_signup.invoice_id, reference="BT-FAULT"),
                     token=paid_signup.token, headers=KEY)
    assert_error(reply, status, code)
    assert store_snapshot() == before  # the claim is gone too
    assert list(IdempotencyModel.scan()) == []


def test_the_retry_after_a_fault_with_the_same_key_succeeds_once(
        api: Api, paid_signup: PaidSignup, inject: Any) -> None:
    events = store.connection().client.meta.events
    calls = {"n": 0}

    def fail_once(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise throttled("TransactWriteItems")

    events.register("before-call.dynamodb.TransactWriteItems", fail_once)
    try:
        first = api.post("/api/v1/billing/admin/payments/confirm", confirm_body(paid_signup.invoice_id, reference="BT-FAULT"),
                         token=paid_signup.token, headers=KEY)
        second = api.post("/api/v1/billing/admin/payments/confirm", confirm_body(paid_signup.invoice_id, reference="BT-FAULT"),
                          token=paid_signup.token, headers=KEY)
        third = api.post("/api/v1/billing/admin/payments/confirm", confirm_body(paid_signup.invoice_id, reference="BT-FAULT"),
                         token=paid_signup.token, headers=KEY)
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", fail_once)
    assert_error(first, 503)
    assert second.status == 201 and (third.status, third.body) == (201, second.body)
    assert [p.payment_id for p in payments_of(paid_signup.invoice_id)] == [second.body["id"]]
