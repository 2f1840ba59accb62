"""Races over real HTTP against the local stack: many threads at once, a smoke test of real
concurrency.

Each round starts its threads behind a barrier so that their requests reach the server together.
Which request wins, and what the losers get, is tested deterministically in-process by
tests/billing/test_races.py (and tests/billing/test_jobs.py for the billing jobs): here a few rounds per scenario
show that the conditions hold over HTTP too.
"""
from __future__ import annotations

import uuid
from collections import Counter
from typing import Any, Callable

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, LiveStack, Reply, http
from tests.helpers import live_ledger, live_paid_signup, live_token, together

pytestmark = pytest.mark.live
THREADS = 8
ROUNDS = 2


@pytest.fixture(scope="module")
def admin(live_stack: LiveStack) -> str:
    return live_token(live_stack.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)


def _decide(base: str, admin: str, payment_id: str, verb: str, headers: dict[str, str] | None = None
            ) -> Callable[[], Reply]:
    body = {"admin_notes": "Verified" if verb == "approve" else "No such transfer"}
    return lambda: http("POST", f"{base}/api/v1/billing/admin/payments/{payment_id}/{verb}", body,
                        token=admin, headers=headers)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_approve_racing_reject_one_decision_wins_and_the_state_matches_it(
        live_stack: LiveStack, admin: str, round_: int) -> None:
    base = live_stack.base_url
    token, account_id, payment_id = live_paid_signup(base)
    verbs = ["approve", "reject"] * (THREADS // 2)
    replies = together([_decide(base, admin, payment_id, verb) for verb in verbs])

    statuses = Counter(reply.status for reply in replies)
    assert statuses == {200: 1, 409: THREADS - 1}, statuses
    winner = verbs[[reply.status for reply in replies].index(200)]
    detail = http("GET", f"{base}/api/v1/billing/admin/payments/{payment_id}", token=admin).body
    me = http("GET", f"{base}/api/v1/auth/me", token=token).body
    ledger = live_ledger(live_stack.dynamodb_endpoint, account_id)
    decisions = [event for event in detail["history"] if event["action"] in ("approved", "rejected")]
    if winner == "approve":
        assert detail["payment"]["status"] == "succeeded" and me["account"]["status"] == "active"
        assert me["account"]["credits"] == 1000 and len(ledger) == 1
    else:
        assert detail["payment"]["status"] == "failed" and me["account"]["status"] == "pending_payment"
        assert me["account"]["credits"] == 0 and ledger == []
        assert me["pending_invoice"]["status"] == "pending"
    assert len(decisions) == 1


def _signup(base: str) -> tuple[str, dict[str, Any]]:
    email = f"{uuid.uuid4().hex[:10]}@example.pk"
    reply = http("POST", f"{base}/api/v1/auth/register", {
        "email": email, "password": "correct horse battery", "name": "Race", "plan": "starter",
        "billing": {"billing_name": "Race", "billing_email": email, "address_line1": "1 Road",
                    "city": "Lahore", "country": "PK"}})
    assert reply.status == 201, reply.body
    return reply.body["access_token"], reply.body["invoice"]


def _confirm(base: str, token: str, invoice: dict[str, Any], reference: str,
             headers: dict[str, str] | None = None) -> Callable[[], Reply]:
    body = {"invoice_id": invoice["id"], "payment_method": "bank_transfer",
            "amount": invoice["amount"], "manual_reference": reference}
    return lambda: http("POST", f"{base}/api/v1/billing/admin/payments/confirm", body, token=token,
                        headers=headers)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_confirms_of_one_invoice_leave_one_payment_awaiting_approval(
        live_stack: LiveStack, round_: int) -> None:
    base = live_stack.base_url
    token, invoice = _signup(base)
    run = uuid.uuid4().hex[:6]
    replies = together([_confirm(base, token, invoice, f"BT-{run}-{n}") for n in range(THREADS)])

    assert Counter(reply.status for reply in replies) == {201: 1, 409: THREADS - 1}
    payments = http("GET", f"{base}/api/v1/billing/payments", token=token).body["items"]
    assert [p["status"] for p in payments] == ["pending_approval"]
    winner = next(reply.body for reply in replies if reply.status == 201)
    assert payments[0]["id"] == winner["id"]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_retries_with_one_idempotency_key_arriving_together_get_one_response(
        live_stack: LiveStack, round_: int) -> None:
    base = live_stack.base_url
    token, invoice = _signup(base)
    key = {"Idempotency-Key": f"confirm-{uuid.uuid4()}"}
    reference = f"BT-SAME-{uuid.uuid4().hex[:6]}"
    replies = together([_confirm(base, token, invoice, reference, key) for _ in range(THREADS)])

    assert [reply.status for reply in replies] == [201] * THREADS
    assert len({reply.body["id"] for reply in replies}) == 1
    assert sum(reply.headers.get("idempotent-replayed") == "true" for reply in replies) == THREADS - 1
    payments = http("GET", f"{base}/api/v1/billing/payments", token=token).body["items"]
    assert [p["id"] for p in payments] == [replies[0].body["id"]]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_approval_retries_with_one_key_arriving_together_grant_once(
        live_stack: LiveStack, admin: str, round_: int) -> None:
    base = live_stack.base_url
    token, account_id, payment_id = live_paid_signup(base)
    key = {"Idempotency-Key": f"approve-{uuid.uuid4()}"}
    replies = together([_decide(base, admin, payment_id, "approve", key) for _ in range(THREADS)])

    assert [reply.status for reply in replies] == [200] * THREADS
    assert all(reply.body == replies[0].body for reply in replies)
    assert len(live_ledger(live_stack.dynamodb_endpoint, account_id)) == 1
    assert http("GET", f"{base}/api/v1/auth/me", token=token).body["account"]["credits"] == 1000
