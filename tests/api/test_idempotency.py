"""Idempotency-Key on every creating or state-changing POST (api.md, General)."""
from __future__ import annotations

import json
import time
import types
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.api import idempotency
from chalicelib.core.errors import Conflict
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel, UserModel
from chalicelib.storage.models.billing import PaymentModel
from chalicelib.storage.models.platform import IdempotencyModel
from tests.conftest import PASSWORD, Api, PaidSignup
from tests.helpers import (
    account,
    assert_error,
    ledger_of,
    payments_of,
    store_unchanged,
)
from tests.helpers import confirm_body

REGISTER = "/api/v1/auth/register"
CONFIRM = "/api/v1/billing/admin/payments/confirm"


def _records() -> list[IdempotencyModel]:
    return list(IdempotencyModel.scan(consistent_read=True))


def _signup_body(email: str = "retry@khan.pk") -> dict:
    return {"email": email, "password": PASSWORD, "name": "Ayesha Khan", "plan": "free"}


def test_a_replayed_signup_is_the_same_account_with_a_fresh_working_token(api: Api) -> None:
    key = {"idempotency-key": "signup-1"}
    first = api.post(REGISTER, _signup_body(), headers=key)
    assert first.status == 201, first.body
    again = api.post(REGISTER, _signup_body(), headers=key)
    assert again.status == 201 and again.headers["idempotent-replayed"] == "true"
    fresh = ("access_token", "refresh_token")  # a new session: the first answer's may be lost
    assert {k: v for k, v in again.body.items() if k not in fresh} == \
        {k: v for k, v in first.body.items() if k not in fresh}
    assert again.body["refresh_token"] != first.body["refresh_token"]
    me = api.get("/api/v1/auth/me", token=again.body["access_token"])
    assert me.status == 200 and me.body["account"]["id"] == first.body["account"]["id"]
    assert api.post("/api/v1/auth/refresh", {"refresh_token": again.body["refresh_token"]}).status == 200
    assert len(list(UserModel.scan())) == 2  # the admin and this one user
    assert account(first.body["account"]["id"]).credits == 1000
    assert len(ledger_of(first.body["account"]["id"])) == 1


def test_the_kept_response_holds_neither_the_password_nor_the_token(api: Api) -> None:
    reply = api.post(REGISTER, _signup_body(), headers={"idempotency-key": "signup-2"})
    assert reply.status == 201
    [record] = _records()
    stored = json.dumps(record.serialize())
    assert PASSWORD not in stored and reply.body["access_token"] not in stored
    assert "retry@khan.pk" not in record.record_id  # the scope is a keyed hash of the email
    assert record.status == "completed" and record.status_code == 201


def test_two_people_signing_up_with_the_same_key_get_their_own_accounts(api: Api) -> None:
    key = {"idempotency-key": "signup"}
    mine = api.post(REGISTER, _signup_body("one@khan.pk"), headers=key)
    theirs = api.post(REGISTER, _signup_body("two@khan.pk"), headers=key)
    assert (mine.status, theirs.status) == (201, 201)
    assert mine.body["account"]["id"] != theirs.body["account"]["id"]


def test_reject_retried_with_the_same_key_returns_the_first_response(
        api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()
    payment_id = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    key = {"idempotency-key": "reject-1"}
    path = f"/api/v1/billing/admin/payments/{payment_id}/reject"
    first = api.post(path, {"admin_notes": "No such transfer"}, token=admin, headers=key)
    assert first.status == 200, first.body
    with store_unchanged():
        again = api.post(path, {"admin_notes": "No such transfer"}, token=admin, headers=key)
    assert (again.status, again.body) == (200, first.body)
    assert PaymentModel.get(payment_id).status == "failed"


def test_a_key_reused_on_another_route_is_422_and_changes_nothing(
        api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()
    payment_id = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    key = {"idempotency-key": "decide-1"}
    assert api.post(f"/api/v1/billing/admin/payments/{payment_id}/reject",
                    {"admin_notes": "No such transfer"}, token=admin, headers=key).status == 200
    second = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2")
    with store_unchanged():
        reply = api.post(f"/api/v1/billing/admin/payments/{second.body['id']}/approve",
                         {"admin_notes": "ok"}, token=admin, headers=key)
    assert_error(reply, 422, "idempotency_key_reused")


def test_the_same_body_with_keys_in_another_order_is_the_same_request(
        api: Api, paid_signup: PaidSignup) -> None:
    key = {"idempotency-key": "confirm-order"}
    body = confirm_body(paid_signup.invoice_id)
    first = api.post(CONFIRM, body, token=paid_signup.token, headers=key)
    reordered = json.dumps(dict(reversed(list(body.items())))).encode()
    again = api.request("POST", CONFIRM, raw=reordered, token=paid_signup.token, headers=key)
    assert (again.status, again.body) == (201, first.body)
    assert len(payments_of(paid_signup.invoice_id)) == 1


def test_a_failed_request_keeps_nothing_so_the_key_can_be_used_again(
        api: Api, paid_signup: PaidSignup) -> None:
    key = {"idempotency-key": "confirm-fix"}
    with store_unchanged():
        wrong = api.post(CONFIRM, confirm_body(paid_signup.invoice_id, amount="88.00"),
                         token=paid_signup.token, headers=key)
    assert_error(wrong, 422, "amount_mismatch")
    right = api.post(CONFIRM, confirm_body(paid_signup.invoice_id), token=paid_signup.token,
                     headers=key)
    assert right.status == 201, right.body
    assert [p.payment_id for p in payments_of(paid_signup.invoice_id)] == [right.body["id"]]


@pytest.mark.parametrize("bad_key", ["", " ", "x" * 256, "tab\tkey", "ключ"])
def test_a_malformed_key_is_400_and_changes_nothing(api: Api, paid_signup: PaidSignup,
                                                    bad_key: str) -> None:
    with store_unchanged():
        reply = api.post(CONFIRM, confirm_body(paid_signup.invoice_id), token=paid_signup.token,
                         headers={"idempotency-key": bad_key})
    assert_error(reply, 400, "invalid_idempotency_key")


def test_an_expired_record_no_longer_replays(api: Api, paid_signup: PaidSignup) -> None:
    key = {"idempotency-key": "old-key"}
    first = api.post(CONFIRM, confirm_body(paid_signup.invoice_id), token=paid_signup.token,
                     headers=key)
    [record] = _records()
    record.update(actions=[IdempotencyModel.expires_at.set(
        datetime.now(timezone.utc) - timedelta(seconds=5))])
    again = api.post(CONFIRM, confirm_body(paid_signup.invoice_id), token=paid_signup.token,
                     headers=key)
    # Run again, not replayed: the invoice already has a payment awaiting approval.
    assert_error(again, 409, "payment_already_pending")
    assert [p.payment_id for p in payments_of(paid_signup.invoice_id)] == [first.body["id"]]


def test_a_claim_left_by_a_dead_request_is_taken_over_once_its_lock_expires(
        api: Api, paid_signup: PaidSignup) -> None:
    key = "dead-claim"
    scope = paid_signup_user_id(paid_signup)
    body = confirm_body(paid_signup.invoice_id)
    IdempotencyModel(f"{scope}#{key}", fingerprint=idempotency.fingerprint(
        CONFIRM, {}, json.dumps(body).encode()), status="in_progress", claim_id="dead",
        locked_until=0, expires_at=datetime.now(timezone.utc) + timedelta(hours=1)).save()
    reply = api.post(CONFIRM, body, token=paid_signup.token, headers={"idempotency-key": key})
    assert reply.status == 201, reply.body
    [record] = _records()
    assert record.status == "completed" and record.claim_id != "dead"


def test_a_request_whose_claim_was_taken_over_changes_nothing(api: Api, paid_signup: PaidSignup) -> None:
    # Given a request that holds a claim, when another takes the claim over before it commits
    user = AccountModel.get(paid_signup.account_id)

    def steal_then_commit() -> None:
        claim = idempotency.current()
        assert claim is not None
        IdempotencyModel(claim.record_id).update(actions=[IdempotencyModel.claim_id.set("other")])
        tx = store.Tx()
        tx.update("account", user, [AccountModel.credits.add(5)])
        tx.commit(response={"ok": True})

    # Then its transaction is refused whole: 409, and the account is as it was
    with pytest.raises(Conflict) as raised:
        idempotency.run("scope", "stolen", "print", 200, steal_then_commit)
    assert (raised.value.status, raised.value.code, raised.value.retry_after) == (
        409, "idempotency_in_progress", 1)
    assert account(paid_signup.account_id).credits == 0
    # And the claim is the other request's, untouched by this one's failure
    [record] = _records()
    assert (record.status, record.claim_id) == ("in_progress", "other")


def _hold(signup: PaidSignup, key: str, body: dict) -> str:
    """Claim `key` as a first request that is still running would (its lock not expired); the
    record's id."""
    record_id = f"{paid_signup_user_id(signup)}#{key}"
    IdempotencyModel(record_id, fingerprint=idempotency.fingerprint(
        CONFIRM, {}, json.dumps(body).encode()), status="in_progress", claim_id="first",
        locked_until=int(time.time()) + idempotency.LOCK_SECONDS,
        expires_at=datetime.now(timezone.utc) + idempotency.RETENTION).save()
    return record_id


def _polls(monkeypatch: pytest.MonkeyPatch, on_poll: Any = None, give_up_after: float = 10) -> list[float]:
    """Make idempotency's waits observable: each poll's time is recorded, `on_poll(n)` runs on the
    n-th; a wait that goes on `give_up_after` seconds fails the test instead of hanging it."""
    polls: list[float] = []
    start = time.monotonic()

    def sleep(seconds: float) -> None:
        polls.append(time.monotonic() - start)
        if polls[-1] > give_up_after:
            pytest.fail("the retry is still waiting for the first request")
        if on_poll is not None:
            on_poll(len(polls))
        time.sleep(seconds)

    monkeypatch.setattr(idempotency, "time", types.SimpleNamespace(monotonic=time.monotonic,
                                                                   sleep=sleep))
    return polls


def test_a_retry_while_the_first_request_still_runs_gives_up_with_409_after_the_wait(
        api: Api, paid_signup: PaidSignup, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a first request that holds the key and does not finish
    body = confirm_body(paid_signup.invoice_id)
    _hold(paid_signup, "still-running", body)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    polls = _polls(monkeypatch)
    # When the client retries with the same key and body
    started = time.monotonic()
    with store_unchanged():
        reply = api.post(CONFIRM, body, token=paid_signup.token,
                         headers={"idempotency-key": "still-running"})
    waited = time.monotonic() - started
    # Then it waited for the first request, then gave up: 409 with Retry-After, nothing changed
    assert_error(reply, 409, "idempotency_in_progress")
    assert reply.headers["retry-after"] == "1"
    assert len(polls) >= 2 and waited >= 0.3
    assert payments_of(paid_signup.invoice_id) == []
    [record] = _records()
    assert (record.status, record.claim_id) == ("in_progress", "first")


def test_a_retry_that_arrives_while_the_first_request_runs_gets_its_response_once_done(
        api: Api, paid_signup: PaidSignup, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a first request that holds the key and finishes while the retry waits
    body = confirm_body(paid_signup.invoice_id)
    record_id = _hold(paid_signup, "finishes", body)
    first = {"id": "pay_first", "status": "pending_approval"}

    def first_finishes(poll: int) -> None:
        if poll == 2:
            IdempotencyModel(record_id).update(actions=[
                IdempotencyModel.status.set("completed"), IdempotencyModel.status_code.set(201),
                IdempotencyModel.response.set(json.dumps(first))])

    polls = _polls(monkeypatch, first_finishes)
    # When the retry comes
    reply = api.post(CONFIRM, body, token=paid_signup.token, headers={"idempotency-key": "finishes"})
    # Then it waited, and answers with the first request's response without running again
    assert (reply.status, reply.body) == (201, first)
    assert reply.headers["idempotent-replayed"] == "true"
    assert len(polls) == 2
    assert payments_of(paid_signup.invoice_id) == []


def test_a_key_costs_one_more_round_trip(api: Api, paid_signup: PaidSignup,
                                         ddb_calls: list[str]) -> None:
    api.post(CONFIRM, confirm_body(paid_signup.invoice_id), token=paid_signup.token,
             headers={"idempotency-key": "count-me"})
    assert ddb_calls == ["PutItem", "GetItem", "BatchGetItem", "Query", "TransactWriteItems"]
    ddb_calls.clear()
    api.post(CONFIRM, confirm_body(paid_signup.invoice_id), token=paid_signup.token,
             headers={"idempotency-key": "count-me"})
    assert ddb_calls == ["PutItem", "GetItem"]  # the failed claim, then the kept response


def paid_signup_user_id(signup: PaidSignup) -> str:
    return AccountModel.get(signup.account_id).owner_user_id
