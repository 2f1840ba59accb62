"""The data layer against moto: transactions, reads, counters, cursors, error mapping, seeding."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from pynamodb.exceptions import (
    CancellationReason,
    GetError,
    PutError,
    TransactWriteError,
    VerboseClientError,
)

from chalicelib.catalog.reference_data import GLOBAL, PAYMENT_METHODS, PLANS, SeedReport, seed
from chalicelib.core.errors import BadRequest, Conflict, Unavailable
from chalicelib.storage import models, store
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.models.base import IntegerAttribute
from chalicelib.storage.models.billing import PaymentModel
from chalicelib.storage.models.catalog import PaymentMethodModel, PlanModel
from chalicelib.storage.models.records import CounterModel
from tests.conftest import MotoStore


@pytest.fixture
def db(aws: None, moto_module: MotoStore) -> SeedReport:
    """The store as conftest's `aws` makes it (tables, reference data, the admin); what seeding
    reported when the module's moto was set up, on empty tables."""
    return moto_module.seed_report


def counter(counter_id: str) -> int | None:
    """The stored value of a counter item, or None if the item does not exist."""
    item = store.get(CounterModel, counter_id, consistent=True)
    return None if item is None else item.value


# Tx ------------------------------------------------------------------------------------------

@pytest.fixture
def ids(request: pytest.FixtureRequest) -> Any:
    """Counter ids named after this test: ids.c -> '<test>#c'."""
    class _Ids:
        def __getattr__(self, name: str) -> str:
            return f"{request.node.name}#{name}"
    return _Ids()


def test_tx_commits_several_puts_and_updates_together(db: SeedReport, ids: Any) -> None:
    # Given an existing counter at 5
    CounterModel(ids.c, value=5).save()
    # When one transaction puts two new items and updates the existing one and a new one
    tx = store.Tx()
    tx.put("a", CounterModel(ids.a, value=1), CounterModel.counter_id.does_not_exist())
    tx.update("c", CounterModel(ids.c), [CounterModel.value.add(10)], condition=CounterModel.value == 5)
    tx.put("b", CounterModel(ids.b, value=2))
    tx.update("d", CounterModel(ids.d), [CounterModel.value.add(1)])
    tx.commit()
    # Then every write happened
    assert [counter(ids.a), counter(ids.b), counter(ids.c), counter(ids.d)] == [1, 2, 15, 1]


def test_a_failed_update_added_before_a_put_is_named_by_its_own_label(db: SeedReport, ids: Any) -> None:
    # Given an existing counter at 5
    CounterModel(ids.c, value=5).save()
    # When a transaction first adds an update whose condition fails, then a put that would succeed
    tx = store.Tx()
    tx.update("balance", CounterModel(ids.c), [CounterModel.value.add(1)],
              condition=CounterModel.value == 99)
    tx.put("fresh", CounterModel(ids.new, value=1), CounterModel.counter_id.does_not_exist())
    with pytest.raises(store.TransactionCancelled) as caught:
        tx.commit()
    # Then the cancellation names the update (PynamoDB sent the put first) and nothing was written
    assert caught.value.failed == ["balance"]
    assert counter(ids.c) == 5
    assert counter(ids.new) is None


def test_a_failed_put_after_a_passing_update_is_named_by_its_label(db: SeedReport, ids: Any) -> None:
    # Given two existing counters
    CounterModel(ids.c, value=5).save()
    CounterModel(ids.taken, value=1).save()
    # When an update that would pass is added before a put that collides with an existing item
    tx = store.Tx()
    tx.update("balance", CounterModel(ids.c), [CounterModel.value.add(1)],
              condition=CounterModel.value == 5)
    tx.put("duplicate", CounterModel(ids.taken, value=7), CounterModel.counter_id.does_not_exist())
    with pytest.raises(store.TransactionCancelled) as caught:
        tx.commit()
    # Then only the put is named and neither item changed
    assert caught.value.failed == ["duplicate"]
    assert (counter(ids.c), counter(ids.taken)) == (5, 1)


def test_a_failed_check_added_last_is_named_and_blocks_the_writes(db: SeedReport, ids: Any) -> None:
    # Given a counter at 5 and a guard item at 0
    CounterModel(ids.c, value=5).save()
    CounterModel(ids.guard, value=0).save()
    # When writes that would pass are followed by a condition check that fails
    tx = store.Tx()
    tx.update("balance", CounterModel(ids.c), [CounterModel.value.add(1)])
    tx.put("fresh", CounterModel(ids.new, value=1), CounterModel.counter_id.does_not_exist())
    tx.check("guard", CounterModel, ids.guard, condition=CounterModel.value == 1)
    with pytest.raises(store.TransactionCancelled) as caught:
        tx.commit()
    # Then the check is named (checks go first) and nothing was written
    assert caught.value.failed == ["guard"]
    assert (counter(ids.c), counter(ids.new)) == (5, None)


def test_several_failures_are_all_named_in_send_order(db: SeedReport, ids: Any) -> None:
    # Given two existing counters
    CounterModel(ids.c, value=5).save()
    CounterModel(ids.taken, value=1).save()
    # When a failing update, a passing put and a failing put are added in that order
    tx = store.Tx()
    tx.update("balance", CounterModel(ids.c), [CounterModel.value.add(1)],
              condition=CounterModel.value == 0)
    tx.put("ok", CounterModel(ids.new, value=1), CounterModel.counter_id.does_not_exist())
    tx.put("duplicate", CounterModel(ids.taken, value=7), CounterModel.counter_id.does_not_exist())
    with pytest.raises(store.TransactionCancelled) as caught:
        tx.commit()
    # Then both failures are named, puts before updates, and nothing was written
    assert caught.value.failed == ["duplicate", "balance"]
    assert (counter(ids.c), counter(ids.new), counter(ids.taken)) == (5, None, 1)


# Reads ---------------------------------------------------------------------------------------

def test_transact_get_mixes_tables_and_returns_none_for_missing_items(db: SeedReport) -> None:
    # Given the seeded catalog and no such user
    # When plans, methods and a user are read in one call
    plan, method, user, missing_plan = store.transact_get(
        (PlanModel, "starter"), (PaymentMethodModel, "PK", "jazzcash"),
        (UserModel, "nobody@example.com"), (PlanModel, "platinum"))
    # Then each comes back in order as its own model, missing ones as None
    assert isinstance(plan, PlanModel) and plan.price_minor == 8900
    assert isinstance(method, PaymentMethodModel) and method.display_name == "JazzCash"
    assert user is None and missing_plan is None


def test_transact_get_of_nothing_is_an_empty_list_without_a_call(db: SeedReport, ddb_calls: list[str]) -> None:
    assert store.transact_get() == []
    assert ddb_calls == []


def test_get_returns_none_for_a_missing_item(db: SeedReport) -> None:
    assert store.get(PlanModel, "platinum") is None
    assert store.get(PlanModel, "growth").credits == 5000


# Sequences -----------------------------------------------------------------------------------

def test_next_sequence_counts_1_2_3_with_one_atomic_update_each(db: SeedReport, ddb_calls: list[str]) -> None:
    # When a new sequence is incremented three times
    values = [store.next_sequence("invoice_number#2030") for _ in range(3)]
    # Then it counts from 1, each time with a single UpdateItem (no read-modify-write)
    assert values == [1, 2, 3]
    assert ddb_calls == ["UpdateItem"] * 3
    assert store.next_sequence("invoice_number#2031") == 1
    assert counter("invoice_number#2030") == 3


# Cursors -------------------------------------------------------------------------------------

FIELDS = ("invoice_id", "account_id", "created_at")
KEY = {"invoice_id": "inv_1", "account_id": "acc_1", "created_at": "2026-01-01T00:00:00.000000Z"}


def test_a_cursor_round_trips_into_an_exclusive_start_key() -> None:
    cursor = store.encode_cursor(KEY)
    assert "=" not in cursor and "acc_1" not in cursor  # opaque, URL-safe
    assert store.decode_cursor(cursor, {"account_id": "acc_1"}, FIELDS) == {
        name: {"S": value} for name, value in KEY.items()}


@pytest.mark.parametrize("cursor", ["garbage!", "", "%%%", "e30", "W10",  # {} and []
                                    store.encode_cursor({"invoice_id": "inv_1"}),
                                    store.encode_cursor({**KEY, "extra": "x"}),
                                    store.encode_cursor({**KEY, "invoice_id": ""}),
                                    "bnVsbA", "MTIz"])  # null, 123
def test_a_garbage_cursor_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest) as caught:
        store.decode_cursor(cursor, {"account_id": "acc_1"}, FIELDS)
    assert (caught.value.status, caught.value.code) == (400, "invalid_cursor")


def test_a_cursor_with_a_number_value_is_a_bad_request() -> None:
    cursor = store.encode_cursor({**KEY, "created_at": 5})  # type: ignore[dict-item]
    with pytest.raises(BadRequest):
        store.decode_cursor(cursor, {"account_id": "acc_1"}, FIELDS)


def test_a_cursor_made_for_another_account_is_a_bad_request() -> None:
    # Given a valid cursor of account acc_1
    cursor = store.encode_cursor(KEY)
    # When account acc_2 passes it
    with pytest.raises(BadRequest) as caught:
        store.decode_cursor(cursor, {"account_id": "acc_2"}, FIELDS)
    # Then it is rejected rather than paging through acc_1's items
    assert caught.value.code == "invalid_cursor"


# guard(): DynamoDB faults become API errors ------------------------------------------------

def client_error(code: str, operation: str = "GetItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "AWS says no"}}, operation)


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                  "RequestLimitExceeded", "InternalServerError"])
@pytest.mark.parametrize("wrap", [False, True], ids=["client_error", "pynamodb_error"])
def test_throttling_becomes_unavailable_with_retry_after(code: str, wrap: bool) -> None:
    error = client_error(code)
    raised = GetError("Failed to get item", cause=error) if wrap else error
    with pytest.raises(Unavailable) as caught:
        with store.guard():
            raise raised
    assert caught.value.status == 503
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert caught.value.__cause__ is raised
    assert "AWS says no" not in caught.value.message


@pytest.mark.parametrize("wrap", [False, True], ids=["client_error", "pynamodb_error"])
def test_transaction_conflict_becomes_conflict(wrap: bool) -> None:
    error = client_error("TransactionConflictException", "TransactWriteItems")
    raised = TransactWriteError("Failed", cause=error) if wrap else error
    with pytest.raises(Conflict) as caught:
        with store.guard():
            raise raised
    assert (caught.value.status, caught.value.code) == (409, "transaction_conflict")


def test_a_cancellation_because_of_a_conflicting_transaction_becomes_conflict() -> None:
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=[None, CancellationReason(code="TransactionConflict")])
    with pytest.raises(Conflict) as caught:
        with store.guard():
            raise TransactWriteError("Failed", cause=cause)
    assert caught.value.code == "transaction_conflict"


def test_a_cancellation_because_of_throttling_becomes_unavailable() -> None:
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems", cancellation_reasons=[CancellationReason(code="ThrottlingError"), None])
    with pytest.raises(Unavailable):
        with store.guard():
            raise TransactWriteError("Failed", cause=cause)


@pytest.mark.parametrize("make", [
    lambda: EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    lambda: ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
    lambda: GetError("Failed", cause=EndpointConnectionError(endpoint_url="http://127.0.0.1:1")),
], ids=["endpoint_connection", "read_timeout", "wrapped_endpoint_connection"])
def test_an_unreachable_store_becomes_unavailable(make: object) -> None:
    with pytest.raises(Unavailable) as caught:
        with store.guard():
            raise make()  # type: ignore[operator]
    assert caught.value.status == 503 and caught.value.retry_after


@pytest.mark.parametrize("raised", [
    client_error("ValidationException"),
    PutError("Failed", cause=client_error("ConditionalCheckFailedException", "PutItem")),
    KeyError("not a store error"),
], ids=["validation", "conditional_check", "other"])
def test_other_errors_pass_through_unchanged(raised: Exception) -> None:
    with pytest.raises(type(raised)) as caught:
        with store.guard():
            raise raised
    assert caught.value is raised


# IntegerAttribute ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1.0, 1.5, True, False, "1"])
def test_integer_attribute_rejects_floats_bools_and_strings(value: object) -> None:
    with pytest.raises(TypeError):
        IntegerAttribute().serialize(value)


def test_a_model_with_a_float_amount_cannot_be_saved(db: SeedReport) -> None:
    with pytest.raises(TypeError):
        CounterModel("float", value=8.9).save()
    assert counter("float") is None


@pytest.mark.parametrize("value", [0, 1, -8900, 2**53 + 1, 10**30 + 7])
def test_integer_attribute_round_trips_ints_exactly_through_the_store(db: SeedReport, value: int) -> None:
    # Given an int too large for a float to hold exactly (for the last two)
    CounterModel(f"n#{value}", value=value).save()
    # When it is read back, then it is the same int
    stored = counter(f"n#{value}")
    assert type(stored) is int and stored == value


def test_integer_attribute_refuses_a_stored_fraction() -> None:
    with pytest.raises((TypeError, ValueError)):
        IntegerAttribute().deserialize("5.5")


def test_integer_attribute_reads_an_integral_number_in_any_notation() -> None:
    assert IntegerAttribute().deserialize("8900") == 8900
    assert IntegerAttribute().deserialize("89E2") == 8900


# Tables and indexes ---------------------------------------------------------------------------

def _indexes(model: type) -> set[str]:
    described = store.connection().describe_table(model.Meta.table_name)
    return {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}


def _payment(payment_id: str, created_at: str, queue: str | None) -> PaymentModel:
    return PaymentModel(payment_id, invoice_id="inv_old", account_id="acc_old", subscription_id="sub_old",
                        status="pending_approval" if queue else "failed", payment_method="bank_transfer",
                        amount_minor=8900, currency="USD", manual_reference=payment_id,
                        created_at=created_at, queue=queue)


@pytest.fixture
def payments_table_without_the_queue_index(db: SeedReport, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The payments table as a version before the approval queue made it (no `approval_queue`
    index, nor the `queue` attribute it keys on); emptied afterwards, the index back."""
    full = PaymentModel._get_schema()
    indexes = [i for i in full["global_secondary_indexes"] if i["index_name"] != "approval_queue"]
    keys = {k["AttributeName"] for k in full["key_schema"]} | {
        k["AttributeName"] for index in indexes for k in index["key_schema"]}
    older = {**full, "global_secondary_indexes": indexes,
             "attribute_definitions": [d for d in full["attribute_definitions"]
                                       if d["AttributeName"] in keys]}
    PaymentModel.delete_table()
    monkeypatch.setattr(PaymentModel, "_get_schema", classmethod(lambda cls: older))
    PaymentModel.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    monkeypatch.undo()
    yield
    with PaymentModel.batch_write() as batch:
        for item in PaymentModel.scan():
            batch.delete(item)
    models.create_missing_tables()


def test_a_kept_table_gets_the_index_it_lacks_and_its_items_are_found_through_it(
        payments_table_without_the_queue_index: None) -> None:
    # Given a kept payments table without the approval-queue index, holding payments already
    assert _indexes(PaymentModel) == {"by_account", "by_invoice", "by_created_month"}
    _payment("pay_waiting", "2025-01-01T00:00:00Z", queue="pending").save()
    _payment("pay_decided", "2025-01-02T00:00:00Z", queue=None).save()
    # When the tables are created where missing (as every start of the local stack does)
    created = models.create_missing_tables()
    # Then that index, and only it, is added to the kept table
    assert created == [f"{PaymentModel.Meta.table_name}.approval_queue"]
    assert _indexes(PaymentModel) == {"approval_queue", "by_account", "by_invoice", "by_created_month"}
    # And the items already there are found through it, as are new ones
    assert [p.payment_id for p in PaymentModel.approval_queue.query("pending")] == ["pay_waiting"]
    _payment("pay_new", "2025-01-03T00:00:00Z", queue="pending").save()
    assert [p.payment_id for p in PaymentModel.approval_queue.query("pending")] == [
        "pay_waiting", "pay_new"]
    # And a second run finds nothing missing
    assert models.create_missing_tables() == []


# Seeding and reference data ----------------------------------------------------------------

def scan(model: type) -> list:
    return list(model.scan())  # tests only: no request path may Scan


def test_seed_twice_creates_once_and_then_keeps_everything(db: SeedReport) -> None:
    # Given empty tables that the fixture seeded once
    first = db
    # When reference data is seeded again
    second = seed()
    # Then the first run created 5 plans and 14 methods, the second creates none and keeps 19
    assert (first.created, first.kept) == (19, 0)
    assert (second.created, second.kept) == (0, 19)
    assert len(scan(PlanModel)) == 5 and len(scan(PaymentMethodModel)) == 14
    reference = CounterModel.get("reference")
    assert (reference.plans_configured, reference.payment_methods_enabled) == (5, 14)


@pytest.fixture
def admin_edits(db: SeedReport) -> Iterator[None]:
    """An admin renamed the starter plan and disabled Raast in PK; put back afterwards."""
    PlanModel("starter").update(actions=[PlanModel.name.set("Starter (legacy)")])
    PaymentMethodModel("PK", "raast").update(actions=[PaymentMethodModel.enabled.set(False)])
    yield
    PlanModel("starter").update(actions=[PlanModel.name.set("Starter")])
    PaymentMethodModel("PK", "raast").update(actions=[PaymentMethodModel.enabled.set(True)])
    seed()


def test_seed_leaves_an_admin_edit_alone(admin_edits: None) -> None:
    # Given seeded data that an admin edited
    # When seed runs again (as it does at every start)
    report = seed()
    # Then the edits survive
    assert report.created == 0
    assert PlanModel.get("starter").name == "Starter (legacy)"
    assert PaymentMethodModel.get("PK", "raast").enabled is False


def test_seed_reports_the_methods_actually_enabled(admin_edits: None) -> None:
    # Given one of the 14 methods disabled by an admin
    # When seed runs again
    seed()
    # Then the status counter says 13 methods are enabled
    assert CounterModel.get("reference").payment_methods_enabled == 13


def test_the_seeded_catalog_has_14_enabled_methods_with_display_details(db: SeedReport) -> None:
    methods = scan(PaymentMethodModel)
    assert len(methods) == 14 and all(m.enabled for m in methods)
    for method in methods:
        assert method.display_name and method.instructions, method.method_id
        assert method.details.as_dict(), method.method_id
        assert method.country == GLOBAL or len(method.country) == 2
        assert method.method_id == f"pm_{method.country.lower()}_{method.payment_method}"
    assert len({m.method_id for m in methods}) == 14


def test_pakistan_offers_bank_transfer_with_iban_jazzcash_and_easypaisa(db: SeedReport) -> None:
    pk = {m.payment_method: m for m in PaymentMethodModel.by_display_order.query("PK")}
    assert {"bank_transfer", "jazzcash", "easypaisa"} <= set(pk)
    assert pk["bank_transfer"].details.as_dict()["iban"].startswith("PK")
    assert pk["jazzcash"].details.as_dict()["wallet_number"]
    assert pk["easypaisa"].details.as_dict()["wallet_number"]


def test_a_missing_detail_is_left_out_rather_than_stored_as_null(db: SeedReport) -> None:
    # The global bank transfer has "iban": None in the source data
    details = PaymentMethodModel.get(GLOBAL, "bank_transfer").details.as_dict()
    assert "iban" not in details and details["swift"] == "CITIUS33"


def test_the_seeded_plans_are_integer_priced_and_only_internal_is_not_self_serve(db: SeedReport) -> None:
    plans = {p.slug: p for p in scan(PlanModel)}
    assert set(plans) == {p["slug"] for p in PLANS} == {"free", "starter", "growth", "scale", "internal"}
    assert {slug: p.price_minor for slug, p in plans.items()} == {
        "free": 0, "starter": 8900, "growth": 24900, "scale": 69900, "internal": 0}
    assert all(type(p.price_minor) is int for p in plans.values())
    assert [s for s, p in plans.items() if not p.self_serve] == ["internal"]
    assert plans["internal"].listing is None
    assert len(PAYMENT_METHODS) == 14
