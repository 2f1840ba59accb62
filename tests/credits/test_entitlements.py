"""Entitlements for the SaaS's backend: what an account may use now, read from the account as it is
(status, plan and its features, credits in their buckets), with `can_use_credits` agreeing with
what consume does for the same account."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.billing import jobs
from chalicelib.catalog import plans
from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp, public_time
from chalicelib.storage.models.billing import SubscriptionModel
from chalicelib.storage.models.catalog import PlanModel
from tests.conftest import Api, PaidSignup, Reply
from tests.helpers import account, assert_error, store_unchanged

CONSUME = "/api/v1/credits/consume"


def _entitlements(api: Api, token: str, account_id: str) -> Reply:
    return api.get(f"/api/v1/entitlements/{account_id}", token=token)


def _consume(api: Api, key: str, account_id: str, idem: str, amount: int = 1) -> Reply:
    return api.post(CONSUME, {"account_id": account_id, "amount": amount, "reason": "check"},
                    token=key, headers={"idempotency-key": idem})


def _as_stored(account_id: str) -> dict[str, Any]:
    """What the entitlements of the account must say, from its item and its plan's."""
    acc = account(account_id)
    allowance = acc.allowance if acc.allowance is not None else acc.credits - (acc.extra or 0)
    return {"account_id": account_id, "status": acc.status, "plan": acc.plan,
            "features": list(PlanModel.get(acc.plan).features),
            "credits": acc.credits, "credit_buckets": {"allowance": allowance, "extra": acc.extra or 0},
            "current_period_end": _period_end(acc),
            "can_use_credits": acc.status in ("trial", "active", "past_due")}


def _period_end(acc: Any) -> str | None:
    """A trial's end; else the subscription's current period's end (none before it is paid)."""
    if acc.status == "trial":
        return public_time(acc.trial_ends_at)
    sub = SubscriptionModel.get(acc.subscription_id) if acc.subscription_id else None
    return public_time(sub.current_period_end) if sub is not None else None


def test_an_active_paid_account_has_its_plans_features_and_its_credits_as_they_are_now(
        api: Api, key: str, active: PaidSignup) -> None:
    # Given an active starter account with extra credits granted and some used
    api.post(f"/api/v1/billing/admin/accounts/{active.account_id}/credits",
             {"amount": 50, "bucket": "extra", "reason": "goodwill"}, token=api.admin_token())
    assert _consume(api, key, active.account_id, "used", amount=30).status == 200
    # When the backend asks for its entitlements
    with store_unchanged():
        reply = _entitlements(api, key, active.account_id)
    # Then they are the account's item and its plan's features, and consume takes its credits
    assert reply.status == 200, reply.body
    assert reply.body == _as_stored(active.account_id)
    assert reply.body["features"] == ["1,000 credits a month", "3 sites", "Email support"]
    assert (reply.body["status"], reply.body["plan"], reply.body["credits"]) == ("active", "starter", 1020)
    assert reply.body["credit_buckets"] == {"allowance": 970, "extra": 50}
    me = api.get("/api/v1/auth/me", token=active.token).body
    assert reply.body["current_period_end"] == me["subscription"]["current_period_end"]
    assert reply.body["current_period_end"] is not None and reply.body["can_use_credits"] is True
    # And a change another request makes is seen at once (the account is read every time)
    assert _consume(api, key, active.account_id, "more", amount=70).status == 200
    again = _entitlements(api, key, active.account_id)
    assert again.body["credits"] == 950 and again.body == _as_stored(active.account_id)


def test_a_trial_has_the_free_plans_features_and_ends_when_the_trial_does(api: Api, key: str) -> None:
    # Given a free trial
    account_id = api.register("trial@example.com").body["account"]["id"]
    # When the backend asks for its entitlements
    reply = _entitlements(api, key, account_id)
    # Then they are the trial's: its credits, the free plan's features, the trial's end
    assert reply.status == 200, reply.body
    assert reply.body == _as_stored(account_id)
    assert (reply.body["status"], reply.body["plan"], reply.body["credits"]) == ("trial", "free", 1000)
    assert reply.body["features"] == ["1,000 trial credits", "1 site", "Community support"]
    assert reply.body["current_period_end"] == public_time(account(account_id).trial_ends_at)
    # And consume agrees that its credits can be used
    assert reply.body["can_use_credits"] is True
    assert _consume(api, key, account_id, "trial-use").status == 200


# How long after the unpaid period's end the jobs put the account in each status
AFTER_THE_PERIOD = {"past_due": timedelta(minutes=1), "suspended": timedelta(days=8),
                    "cancelled": timedelta(days=31)}


@pytest.mark.parametrize("status", list(AFTER_THE_PERIOD))
def test_can_use_credits_is_what_consume_does_for_a_lapsed_account(
        api: Api, key: str, active: PaidSignup, status: str) -> None:
    # Given an account whose renewal went unpaid, with extra credits granted (so that only its
    # status can stand in consume's way)
    end = parse_stamp(api.get("/api/v1/auth/me", token=active.token).body["subscription"]
                      ["current_period_end"])
    for lapse in AFTER_THE_PERIOD.values():
        with clock.travel(end + lapse):
            jobs.run(end + lapse)
        if account(active.account_id).status == status:
            break
    assert account(active.account_id).status == status
    granted = api.post(f"/api/v1/billing/admin/accounts/{active.account_id}/credits",
                       {"amount": 40, "bucket": "extra", "reason": "goodwill"}, token=api.admin_token())
    assert granted.status == 200, granted.body
    # When the backend asks for its entitlements
    reply = _entitlements(api, key, active.account_id)
    # Then they say the account as it is, and whether consume takes its credits
    assert reply.status == 200, reply.body
    assert reply.body == _as_stored(active.account_id)
    assert reply.body["status"] == status and reply.body["credits"] == 40
    assert reply.body["can_use_credits"] is (status == "past_due")
    # And consume does exactly that for the same account
    used = _consume(api, key, active.account_id, f"lapsed-{status}")
    if reply.body["can_use_credits"]:
        assert used.status == 200, used.body
        assert used.body["credits"] == 39
    else:
        assert_error(used, 409, "account_not_active")
        assert account(active.account_id).credits == 40


def test_an_account_awaiting_its_first_payment_cannot_use_credits(api: Api, key: str,
                                                                  paid_signup: PaidSignup) -> None:
    reply = _entitlements(api, key, paid_signup.account_id)
    assert reply.status == 200 and reply.body == _as_stored(paid_signup.account_id)
    assert (reply.body["status"], reply.body["can_use_credits"]) == ("pending_payment", False)
    assert_error(_consume(api, key, paid_signup.account_id, "pending"), 409, "account_not_active")


def test_an_account_an_owner_suspended_cannot_use_credits(api: Api, key: str,
                                                          active: PaidSignup) -> None:
    held = api.post(f"/api/v1/billing/admin/accounts/{active.account_id}/suspend", {"reason": "Check"},
                    token=api.admin_token())
    assert held.status == 200, held.body
    reply = _entitlements(api, key, active.account_id)
    assert reply.body == _as_stored(active.account_id)
    assert (reply.body["status"], reply.body["can_use_credits"]) == ("suspended", False)
    assert_error(_consume(api, key, active.account_id, "held"), 409, "account_not_active")


def test_an_unknown_account_is_404_and_reads_one_item(api: Api, key: str,
                                                      ddb_calls: list[str]) -> None:
    assert _entitlements(api, key, "acc_warm").status == 404  # the key checked and cached
    ddb_calls.clear()
    assert_error(_entitlements(api, key, "acc_nobody"), 404, "account_not_found")
    assert ddb_calls == ["GetItem"]
    assert_error(_entitlements(api, key, "acc_" + "x" * 3000), 404, "account_not_found")


def test_only_a_service_key_gets_entitlements(api: Api, key: str, active: PaidSignup) -> None:
    with store_unchanged():
        assert_error(_entitlements(api, active.token, active.account_id), 403, "service_key_required")
        assert_error(_entitlements(api, api.admin_token(), active.account_id), 403,
                     "service_key_required")
        assert_error(api.get(f"/api/v1/entitlements/{active.account_id}"), 401, "invalid_service_key")
        assert_error(_entitlements(api, "sk_nokey_secret", active.account_id), 401,
                     "invalid_service_key")
        assert_error(_entitlements(api, key[:-2] + "xx", active.account_id), 401,
                     "invalid_service_key")


def test_a_warm_container_reads_the_account_only(api: Api, key: str, active: PaidSignup,
                                                 ddb_calls: list[str]) -> None:
    # Given a container that has checked the key and read the plan's features
    plans._features.clear()
    ddb_calls.clear()
    assert _entitlements(api, key, active.account_id).status == 200
    assert ddb_calls == ["GetItem", "GetItem", "GetItem"]  # the key, the account, the plan
    # When the backend asks again
    ddb_calls.clear()
    reply = _entitlements(api, key, active.account_id)
    # Then it is one read, of the account
    assert ddb_calls == ["GetItem"]
    assert reply.status == 200 and reply.body == _as_stored(active.account_id)
