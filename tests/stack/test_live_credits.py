"""Credits spent over real HTTP by many threads at once: exact, never below zero, once per
Idempotency-Key, given back once.

The barrier pattern of test_live_races.py: each round's requests reach the server together. The
server is one process (one container: its threads share the remembered view of an account), so a
consume that loses a race retries inside the request with the account as the failed condition
returned it; a request that lost too often answers 409 `transaction_conflict`, which the caller
sends again with the same Idempotency-Key, as a client would. Each test checks the account through
the API and its ledger in DynamoDB, not only the answers.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, LiveStack, Reply, http
from tests.helpers import live_ledger, live_paid_signup, live_token, together

pytestmark = pytest.mark.live
CONSUME, RELEASE = "/api/v1/credits/consume", "/api/v1/credits/release"
RETRY_ROUNDS = 10
# The embedded DynamoDB serves one request at a time: under a burst of 64 consumes of one account
# each attempt queues behind the others', and a request retrying inside the server can take
# seconds (on this machine up to ~20 s), more than `http`'s usual 30 s on a loaded one.
SLOW = 120


@pytest.fixture(scope="module")
def admin(live_stack: LiveStack) -> str:
    return live_token(live_stack.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def service_key(live_stack: LiveStack, admin: str) -> str:
    reply = http("POST", f"{live_stack.base_url}/api/v1/billing/admin/service-keys",
                 {"name": f"races-{uuid.uuid4().hex[:6]}"}, token=admin)
    assert reply.status == 201, reply.body
    return reply.body["key"]


def _account_with(base: str, admin: str, credits: int) -> tuple[str, str]:
    """An active account (a paid signup, approved: 1000 credits) corrected to `credits`;
    (user token, account id)."""
    token, account_id, payment_id = live_paid_signup(base)
    approved = http("POST", f"{base}/api/v1/billing/admin/payments/{payment_id}/approve", {},
                    token=admin)
    assert approved.status == 200, approved.body
    if credits != 1000:
        grant = http("POST", f"{base}/api/v1/billing/admin/accounts/{account_id}/credits",
                     {"amount": credits - 1000, "bucket": "allowance", "reason": "race set-up"},
                     token=admin)
        assert grant.status == 200, grant.body
        assert grant.body["account"]["credits"] == credits
    return token, account_id


def _consume(base: str, key: str, account_id: str, amount: int, idem: str) -> Callable[[], Reply]:
    return lambda: http("POST", f"{base}{CONSUME}", {"account_id": account_id, "amount": amount,
                                                     "reason": "race"},
                        token=key, headers={"Idempotency-Key": idem}, timeout=SLOW)


def _release(base: str, key: str, entry_id: str, idem: str) -> Callable[[], Reply]:
    return lambda: http("POST", f"{base}{RELEASE}", {"entry_id": entry_id}, token=key,
                        headers={"Idempotency-Key": idem}, timeout=SLOW)


def _code(reply: Reply) -> str | None:
    return reply.body["error"]["code"] if reply.status >= 400 else None


def _final(calls: dict[str, Callable[[], Reply]]) -> tuple[dict[str, Reply], int]:
    """Every call's final answer: the ones answered `transaction_conflict` are sent again (the
    same call: the same Idempotency-Key), together, until none is; (answers, calls sent again)."""
    answers = dict(zip(calls, together(list(calls.values()))))
    again = 0
    for _ in range(RETRY_ROUNDS):
        conflicted = [idem for idem, reply in answers.items() if _code(reply) == "transaction_conflict"]
        if not conflicted:
            return answers, again
        again += len(conflicted)
        answers.update(zip(conflicted, together([calls[idem] for idem in conflicted])))
    pytest.fail(f"still conflicting after {RETRY_ROUNDS} rounds: {Counter(map(_code, answers.values()))}")


def _credits(base: str, admin: str, account_id: str) -> dict:
    reply = http("GET", f"{base}/api/v1/billing/admin/accounts/{account_id}", token=admin)
    assert reply.status == 200, reply.body
    assert reply.body["account"]["credits"] == reply.body["credits"]["credits"]
    return reply.body["credits"]


def _ledger(stack: LiveStack, account_id: str) -> list[tuple[str, str, int, int]]:
    """(entry id, reason, amount, balance after) of each entry, from DynamoDB."""
    return [(item["entry_id"]["S"], item["reason"]["S"], int(item["amount"]["N"]),
             int(item["balance_after"]["N"]) if "balance_after" in item else -1)
            for item in live_ledger(stack.dynamodb_endpoint, account_id)]


def test_64_concurrent_consumes_of_10_against_500_credits_exactly_50_succeed(
        live_stack: LiveStack, admin: str, service_key: str) -> None:
    # Given an account with exactly 500 credits
    base = live_stack.base_url
    _, account_id = _account_with(base, admin, 500)
    run = uuid.uuid4().hex[:8]
    # When 64 consumes of 10 credits arrive together, each with its own Idempotency-Key (a
    # transaction_conflict sent again with the same key until it gets a final answer)
    calls = {f"{run}-{n}": _consume(base, service_key, account_id, 10, f"{run}-{n}") for n in range(64)}
    answers, sent_again = _final(calls)
    # Then exactly 50 succeed and the other 14 are refused for want of credits, nothing else
    tally = Counter((reply.status, _code(reply)) for reply in answers.values())
    assert tally == {(200, None): 50, (409, "insufficient_credits"): 14}, (tally, sent_again)
    used = [reply.body for reply in answers.values() if reply.status == 200]
    # Each success saw its own balance: 490, 480, ..., 0 once each (no two took the same credits)
    assert sorted(body["credits"] for body in used) == list(range(0, 500, 10))
    assert all(body["consumed"] == 10 and body["account_id"] == account_id for body in used)
    refused = [reply.body["error"]["details"]["credits"] for reply in answers.values() if reply.status == 409]
    assert all(0 <= credits < 10 for credits in refused), refused
    # And the account has 0 credits, which its ledger sums to: 50 consumptions, the ones answered
    statement = _credits(base, admin, account_id)
    assert statement["credits"] == 0 and statement["credit_buckets"] == {"allowance": 0, "extra": 0}
    ledger = _ledger(live_stack, account_id)
    assert sum(amount for _, _, amount, _ in ledger) == 0
    consumed = [entry for entry in ledger if entry[1] == "consumed"]
    assert sorted(entry_id for entry_id, *_ in consumed) == sorted(body["entry_id"] for body in used)
    assert sorted(after for *_, after in consumed) == list(range(0, 500, 10))


@pytest.mark.parametrize("amount", [10, 1000], ids=["part", "everything"])
def test_16_requests_with_one_idempotency_key_debit_once_and_answer_alike(
        live_stack: LiveStack, admin: str, service_key: str, amount: int) -> None:
    # Given an account with 1000 credits
    base = live_stack.base_url
    token, account_id = _account_with(base, admin, 1000)
    idem = f"same-{uuid.uuid4()}"
    # When 16 copies of one consume (one Idempotency-Key) arrive together, e.g. a client's retries
    answers, _ = _final({f"{idem}#{n}": _consume(base, service_key, account_id, amount, idem)
                         for n in range(16)})
    replies = list(answers.values())
    # Then every answer is 200 with the same entry and the same balance; 15 say they are replays
    assert [reply.status for reply in replies] == [200] * 16, [r.body for r in replies]
    assert len({reply.body["entry_id"] for reply in replies}) == 1
    assert {reply.body["credits"] for reply in replies} == {1000 - amount}
    assert all(reply.body == replies[0].body for reply in replies)
    assert sum(reply.headers.get("idempotent-replayed") == "true" for reply in replies) == 15
    # And the account was debited once: its balance and its ledger say so
    credits = http("GET", f"{base}/api/v1/billing/credits", token=token).body
    assert credits["credits"] == 1000 - amount
    ledger = _ledger(live_stack, account_id)
    assert [entry[0] for entry in ledger if entry[1] == "consumed"] == [replies[0].body["entry_id"]]
    assert sum(entry[2] for entry in ledger) == 1000 - amount


def test_a_revoked_key_is_refused_and_what_it_consumed_stays(
        live_stack: LiveStack, admin: str) -> None:
    # Given a service key that consumed once, and consumes racing its revocation
    base = live_stack.base_url
    _, account_id = _account_with(base, admin, 1000)
    made = http("POST", f"{base}/api/v1/billing/admin/service-keys", {"name": "to revoke"}, token=admin)
    assert made.status == 201, made.body
    key, key_id = made.body["key"], made.body["id"]
    assert _consume(base, key, account_id, 1, "before")().status == 200
    run = uuid.uuid4().hex[:8]
    revoke: Callable[[], Reply] = lambda: http(
        "DELETE", f"{base}/api/v1/billing/admin/service-keys/{key_id}", token=admin)
    replies = together([revoke] + [_consume(base, key, account_id, 1, f"{run}-{n}") for n in range(15)])
    # Then the revocation is a 204 (empty), and each consume either made it before or was refused
    assert (replies[0].status, replies[0].body) == (204, None)
    racing = Counter((reply.status, _code(reply)) for reply in replies[1:])
    assert set(racing) <= {(200, None), (401, "invalid_service_key")}, racing
    # And from now on the key is refused, by consume and release, and listed as revoked
    after = _consume(base, key, account_id, 1, f"{run}-after")()
    assert (after.status, _code(after)) == (401, "invalid_service_key")
    first = next(e for e in _ledger(live_stack, account_id) if e[1] == "consumed")
    late = _release(base, key, first[0], f"{run}-release")()
    assert (late.status, _code(late)) == (401, "invalid_service_key")
    listed = http("GET", f"{base}/api/v1/billing/admin/service-keys", token=admin).body["items"]
    assert next(k for k in listed if k["id"] == key_id)["revoked_at"]
    assert "key" not in listed[0]
    # And the balance is what the answered consumptions took, as the ledger says
    ledger = _ledger(live_stack, account_id)
    taken = 1 + racing[(200, None)]
    assert len([e for e in ledger if e[1] == "consumed"]) == taken
    assert _credits(base, admin, account_id)["credits"] == 1000 - taken == sum(e[2] for e in ledger)


def test_concurrent_releases_of_one_consumption_give_it_back_once(
        live_stack: LiveStack, admin: str, service_key: str) -> None:
    # Given an account that consumed 300 of its 1000 credits
    base = live_stack.base_url
    _, account_id = _account_with(base, admin, 1000)
    run = uuid.uuid4().hex[:8]
    used = _consume(base, service_key, account_id, 300, f"{run}-work")()
    assert used.status == 200 and used.body["credits"] == 700
    entry_id = used.body["entry_id"]
    # When 16 releases of it arrive together, each with its own Idempotency-Key
    answers, _ = _final({f"{run}-r{n}": _release(base, service_key, entry_id, f"{run}-r{n}")
                         for n in range(16)})
    # Then exactly one gives the 300 credits back; the others are 409 already_released
    tally = Counter((reply.status, _code(reply)) for reply in answers.values())
    assert tally == {(200, None): 1, (409, "already_released"): 15}, tally
    [winner] = [reply.body for reply in answers.values() if reply.status == 200]
    assert (winner["released"], winner["credits"], winner["released_entry_id"]) == (300, 1000, entry_id)
    # And the account is back to 1000, its ledger one consumption and one release
    assert _credits(base, admin, account_id)["credits"] == 1000
    ledger = _ledger(live_stack, account_id)
    assert Counter(e[1] for e in ledger)["released"] == 1
    assert sum(e[2] for e in ledger) == 1000
    # And the winner's key answers it again; any other key still cannot release it
    again = _release(base, service_key, entry_id, next(i for i, r in answers.items() if r.status == 200))()
    assert again.status == 200 and again.body == winner
    assert again.headers.get("idempotent-replayed") == "true"
