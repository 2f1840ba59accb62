"""Credits as the product's API, in process: service keys, consume and release (exact, never below
zero, once per Idempotency-Key), the customer's statement, top-ups and admin grants. Each test checks
the account's buckets and the ledger, not only the status codes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.billing import jobs
from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp
from chalicelib.credits import consume as consumption
from chalicelib.storage.models.records import CreditLedgerModel
from ops import integrity
from tests.conftest import Api, PaidSignup
from tests.helpers import account, assert_error, ledger_of, store_unchanged

CONSUME, RELEASE = "/api/v1/credits/consume", "/api/v1/credits/release"


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


def _consume(api: Api, key: str, account_id: str, amount: object, idem: str | None = "k1",
             reason: str = "render") -> object:
    headers = {"idempotency-key": idem} if idem else {}
    return api.post(CONSUME, {"account_id": account_id, "amount": amount, "reason": reason},
                    token=key, headers=headers)


def test_a_service_key_is_shown_once_listed_without_secret_and_revoked(api: Api, key: str,
                                                                       active: PaidSignup) -> None:
    admin = api.admin_token()
    [listed] = api.get("/api/v1/billing/admin/service-keys", token=admin).body["items"]
    assert "key" not in listed and listed["name"] == "api-server" and listed["revoked_at"] is None
    assert _consume(api, key, active.account_id, 1).status == 200
    assert api.request("DELETE", f"/api/v1/billing/admin/service-keys/{listed['id']}",
                       token=admin).status == 204
    with store_unchanged():
        assert_error(_consume(api, key, active.account_id, 1, idem="k2"), 401, "invalid_service_key")
    assert api.get("/api/v1/billing/admin/service-keys", token=admin).body["items"][0]["revoked_at"]


def test_consume_takes_the_allowance_first_then_extra_and_never_below_zero(
        api: Api, key: str, active: PaidSignup) -> None:
    admin = api.admin_token()
    api.post(f"/api/v1/billing/admin/accounts/{active.account_id}/credits",
             {"amount": 50, "bucket": "extra", "reason": "goodwill"}, token=admin)
    first = _consume(api, key, active.account_id, 990, idem="a")
    assert first.status == 200 and first.body["credit_buckets"] == {"allowance": 10, "extra": 50}
    across = _consume(api, key, active.account_id, 30, idem="b")
    assert across.body["credit_buckets"] == {"allowance": 0, "extra": 30}
    entry = CreditLedgerModel.get(active.account_id, across.body["entry_id"])
    assert (entry.amount, entry.bucket, entry.taken_allowance, entry.taken_extra) == (-30, "both", 10, 20)
    with store_unchanged():
        refused = _consume(api, key, active.account_id, 31, idem="c")
    assert_error(refused, 409, "insufficient_credits")
    assert refused.body["error"]["details"]["credits"] == 30
    acc = account(active.account_id)
    assert (acc.credits, acc.allowance, acc.extra) == (30, 0, 30)
    assert sum(e.amount for e in ledger_of(active.account_id)) == 30
    _consistent()


def test_a_retry_with_the_same_key_answers_the_first_response_and_changes_nothing(
        api: Api, key: str, active: PaidSignup) -> None:
    first = _consume(api, key, active.account_id, 10, idem="same")
    consumption._views.clear()
    with store_unchanged():
        again = _consume(api, key, active.account_id, 10, idem="same")
    assert again.status == 200 and again.body == first.body
    assert again.headers.get("idempotent-replayed") == "true"
    with store_unchanged():
        assert_error(_consume(api, key, active.account_id, 11, idem="same"), 422, "idempotency_key_reused")
    assert account(active.account_id).credits == 990


@pytest.mark.parametrize("amount", [0, -5, 1.5, "10", 10 ** 12, True, None])
def test_bad_amounts_are_refused_and_write_nothing(api: Api, key: str, active: PaidSignup,
                                                   amount: object) -> None:
    with store_unchanged():
        reply = _consume(api, key, active.account_id, amount, idem=f"bad-{amount}")
    assert reply.status == 422 and "amount" in reply.body["error"]["details"]["fields"]


def test_refusals_write_nothing(api: Api, key: str, active: PaidSignup) -> None:
    with store_unchanged():
        assert_error(_consume(api, key, "acc_nobody", 1), 404, "account_not_found")
        assert_error(_consume(api, key, active.account_id, 1, idem=None), 400, "idempotency_key_required")
        assert_error(_consume(api, active.token, active.account_id, 1), 403, "service_key_required")
        assert_error(_consume(api, api.admin_token(), active.account_id, 1), 403)
        assert_error(_consume(api, "sk_nokey_secret", active.account_id, 1), 401, "invalid_service_key")
        assert_error(_consume(api, key[:-2] + "xx", active.account_id, 1), 401, "invalid_service_key")


def test_credits_of_an_account_that_cannot_use_them_are_refused(api: Api, key: str,
                                                               paid_signup: PaidSignup) -> None:
    with store_unchanged():
        assert_error(_consume(api, key, paid_signup.account_id, 1), 409, "account_not_active")


def test_release_gives_back_once_to_the_buckets_it_came_from(api: Api, key: str,
                                                            active: PaidSignup) -> None:
    used = _consume(api, key, active.account_id, 100).body
    headers = {"idempotency-key": "r1"}
    released = api.post(RELEASE, {"entry_id": used["entry_id"]}, token=key, headers=headers)
    assert released.status == 200 and released.body["released"] == 100
    assert account(active.account_id).allowance == 1000
    replay = api.post(RELEASE, {"entry_id": used["entry_id"]}, token=key, headers=headers)
    assert replay.body == released.body
    with store_unchanged():
        assert_error(api.post(RELEASE, {"entry_id": used["entry_id"]}, token=key,
                              headers={"idempotency-key": "r2"}), 409, "already_released")
        assert_error(api.post(RELEASE, {"entry_id": "consume#x#y#z"}, token=key,
                              headers={"idempotency-key": "r3"}), 404, "entry_not_found")
    _consistent()


def test_an_allowance_that_expired_is_not_revived_by_a_release(api: Api, key: str,
                                                              active: PaidSignup) -> None:
    used = _consume(api, key, active.account_id, 100).body
    sub = api.get("/api/v1/auth/me", token=active.token).body["subscription"]
    end = parse_stamp(sub["current_period_end"]) + timedelta(minutes=1)
    with clock.travel(end):
        jobs.run(end)  # unpaid: past due, the allowance expired
    assert account(active.account_id).status == "past_due"
    released = api.post(RELEASE, {"entry_id": used["entry_id"]}, token=key,
                        headers={"idempotency-key": "late"})
    assert released.status == 200 and released.body["released"] == 0
    assert account(active.account_id).credits == 0
    _consistent()


def test_a_cached_key_and_account_consume_in_one_call(api: Api, key: str, active: PaidSignup,
                                                      ddb_calls: list[str]) -> None:
    assert _consume(api, key, active.account_id, 1, idem="warm").status == 200
    ddb_calls.clear()
    assert _consume(api, key, active.account_id, 1, idem="hot").status == 200
    assert ddb_calls == ["TransactWriteItems"]
    consumption._views.clear()  # another container: it reads the account first
    ddb_calls.clear()
    assert _consume(api, key, active.account_id, 1, idem="cold").status == 200
    assert ddb_calls == ["GetItem", "TransactWriteItems"]


def test_the_statement_shows_buckets_the_ledger_with_balances_and_the_use_per_day(
        api: Api, key: str, active: PaidSignup) -> None:
    for n in range(3):
        _consume(api, key, active.account_id, 10 * (n + 1), idem=f"s{n}")
    page = api.get("/api/v1/billing/credits?limit=2", token=active.token).body
    assert page["credits"] == 940 and page["credit_buckets"] == {"allowance": 940, "extra": 0}
    assert [(e["amount"], e["balance_after"]) for e in page["items"]] == [(-30, 940), (-20, 970)]
    rest = api.get(f"/api/v1/billing/credits?limit=5&cursor={page['next_cursor']}",
                   token=active.token).body
    assert [(e["amount"], e["reason"]) for e in rest["items"]] == [(-10, "consumed"), (1000, "plan_purchase")]
    days = page["usage"]["current"]["days"]
    assert sum(d["consumed"] for d in days) == 60 and 28 <= len(days) <= 32  # days it touches
    assert page["allowance_expires_at"]


def test_a_topup_is_an_invoice_whose_approval_adds_extra_credits(api: Api, active: PaidSignup) -> None:
    plans = api.get("/api/v1/billing/plans").body
    assert [p["slug"] for p in plans["packs"]] == ["pack_1000", "pack_5000"]
    invoice = api.post("/api/v1/billing/topups", {"pack": "pack_1000", "payment_method": "bank_transfer"},
                       token=active.token).body
    assert (invoice["kind"], invoice["amount"]) == ("topup", "15.00")
    payment = api.confirm(active.token, invoice["id"], amount="15.00", reference="BT-TOPUP-1").body["id"]
    assert api.approve(api.admin_token(), payment).status == 200
    acc = account(active.account_id)
    assert (acc.allowance, acc.extra, acc.credits) == (1000, 1000, 2000)
    _consistent()


def test_a_trial_cannot_top_up_and_an_unknown_pack_is_422(api: Api) -> None:
    token = api.register("trial@khan.pk").body["access_token"]
    with store_unchanged():
        assert_error(api.post("/api/v1/billing/topups", {"pack": "pack_1000",
                                                         "payment_method": "bank_transfer"},
                              token=token), 409, "account_not_active")
        assert_error(api.post("/api/v1/billing/topups", {"pack": "pack_7", "payment_method": "bank_transfer"},
                              token=token), 422, "pack_not_available")


def test_admin_grants_and_corrections_are_audited_and_never_below_zero(api: Api, active: PaidSignup) -> None:
    admin = api.admin_token()
    path = f"/api/v1/billing/admin/accounts/{active.account_id}/credits"
    granted = api.post(path, {"amount": 200, "bucket": "extra", "reason": "outage credit"}, token=admin)
    assert granted.status == 200 and granted.body["account"]["credit_buckets"] == {"allowance": 1000, "extra": 200}
    with store_unchanged():
        assert_error(api.post(path, {"amount": -201, "bucket": "extra", "reason": "x"}, token=admin),
                     409, "insufficient_credits")
        assert_error(api.post(path, {"amount": 5, "bucket": "extra"}, token=admin), 422)
        assert_error(api.post(path, {"amount": 5, "bucket": "gold", "reason": "x"}, token=admin), 422)
        assert_error(api.post(path, {"amount": 5, "bucket": "extra", "reason": "x"}, token=active.token), 403)
    corrected = api.post(path, {"amount": -50, "bucket": "allowance", "reason": "double grant"}, token=admin)
    assert corrected.body["entry"]["reason"] == "admin_correction"
    view = api.get(f"/api/v1/billing/admin/accounts/{active.account_id}", token=admin).body
    assert view["credits"]["credits"] == 1150 and view["credits"]["items"][0]["amount"] == -50
    _consistent()


def test_a_refusal_is_not_decided_on_a_remembered_view(api: Api, key: str, paid_signup: PaidSignup,
                                                       ddb_calls: list[str]) -> None:
    # Given a container that saw the account pending payment, then the payment approved elsewhere
    assert_error(_consume(api, key, paid_signup.account_id, 1, idem="early"), 409, "account_not_active")
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert api.approve(api.admin_token(), payment).status == 200
    # Then its credits are usable at once
    assert _consume(api, key, paid_signup.account_id, 1000, idem="all").status == 200
    # And once it took them all, a grant made meanwhile is seen too (one read before refusing)
    api.post(f"/api/v1/billing/admin/accounts/{paid_signup.account_id}/credits",
             {"amount": 100, "bucket": "extra", "reason": "goodwill"}, token=api.admin_token())
    assert _consume(api, key, paid_signup.account_id, 10, idem="after-grant").body["credits"] == 90
    ddb_calls.clear()
    assert_error(_consume(api, key, paid_signup.account_id, 91, idem="too-much"), 409, "insufficient_credits")
    assert ddb_calls == ["TransactGetItems"]
    assert account(paid_signup.account_id).credits == 90
    _consistent()


def test_a_retry_of_the_consumption_that_took_the_last_credits_answers_its_first_response(
        api: Api, key: str, active: PaidSignup) -> None:
    first = _consume(api, key, active.account_id, 1000, idem="everything")
    for container in ("same", "another"):
        if container == "another":
            consumption._views.clear()
        with store_unchanged():
            again = _consume(api, key, active.account_id, 1000, idem="everything")
        assert again.status == 200 and again.body == first.body, (container, again.body)
        assert again.headers.get("idempotent-replayed") == "true"
        with store_unchanged():
            assert_error(_consume(api, key, active.account_id, 999, idem="everything"), 422,
                         "idempotency_key_reused")
    assert account(active.account_id).credits == 0


def test_a_renewed_allowance_of_the_same_size_is_another_allowance(api: Api, key: str,
                                                                   active: PaidSignup) -> None:
    # Given a container that last saw the full allowance (a consumption given back)
    used = _consume(api, key, active.account_id, 100, idem="p0").body
    assert api.post(RELEASE, {"entry_id": used["entry_id"]}, token=key,
                    headers={"idempotency-key": "r0"}).status == 200
    before = account(active.account_id)
    # When the period renews, paid: the allowance expires and the next one is as big
    sub = api.get("/api/v1/auth/me", token=active.token).body["subscription"]
    end = parse_stamp(sub["current_period_end"])
    with clock.travel(end - timedelta(days=6)):
        jobs.run(end - timedelta(days=6))
    [renewal] = [i for i in api.get("/api/v1/billing/invoices", token=active.token).body["items"]
                 if i["kind"] == "renewal"]
    with clock.travel(end - timedelta(days=3)):
        payment = api.confirm(active.token, renewal["id"], reference="BT-RENEWAL-1").body["id"]
        assert api.approve(api.admin_token(), payment).status == 200
    with clock.travel(end + timedelta(hours=1)):
        jobs.run(end + timedelta(hours=1))
        renewed = account(active.account_id)
        assert (renewed.allowance, renewed.extra) == (before.allowance, before.extra) == (1000, 0)
        assert renewed.allowance_since != before.allowance_since
        # Then a consumption records the new allowance, and another container gives it all back
        used = _consume(api, key, active.account_id, 100, idem="p1").body
        assert CreditLedgerModel.get(active.account_id, used["entry_id"]).allowance_since == \
            renewed.allowance_since
        consumption._views.clear()
        released = api.post(RELEASE, {"entry_id": used["entry_id"]}, token=key,
                            headers={"idempotency-key": "r1"})
    assert released.body["released"] == 100 and account(active.account_id).allowance == 1000
    _consistent()


def test_a_service_keys_secret_is_not_kept_for_a_retry(api: Api) -> None:
    from chalicelib.storage.models.platform import IdempotencyModel

    admin = api.admin_token()
    headers = {"idempotency-key": "new-key-1"}
    first = api.post("/api/v1/billing/admin/service-keys", {"name": "worker"}, token=admin,
                     headers=headers)
    assert first.status == 201 and first.body["key"].startswith("sk_")
    secret = first.body["key"].split("_", 2)[2]
    assert all(secret not in (record.response or "") for record in IdempotencyModel.scan())
    again = api.post("/api/v1/billing/admin/service-keys", {"name": "worker"}, token=admin,
                     headers=headers)
    assert again.status == 201 and again.body["id"] == first.body["id"] and again.body["key"] is None
    assert len(api.get("/api/v1/billing/admin/service-keys", token=admin).body["items"]) == 1


def test_one_idempotency_key_charges_one_account_once(api: Api, key: str, active: PaidSignup) -> None:
    other = api.register("sana@khan.pk", plan="starter").body
    payment = api.confirm(other["access_token"], other["invoice"]["id"], reference="BT-SANA").body
    assert api.approve(api.admin_token(), payment["id"]).status == 200
    assert _consume(api, key, active.account_id, 10, idem="job-7").status == 200
    with store_unchanged():
        assert_error(_consume(api, key, other["account"]["id"], 10, idem="job-7"), 422,
                     "idempotency_key_reused")
    assert account(other["account"]["id"]).credits == 1000
