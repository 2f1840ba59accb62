"""Entitlements: what the SaaS's backend needs to decide what to allow an account now.

One DynamoDB read when the service key is cached: the account, read as it is now (a strongly
consistent GetItem, so a consumption or a payment just committed is seen). Nothing else is read on
the way: the plan's features come from the catalog as this container last read it
(`catalog.plans.plan_features`, once per PLAN_CACHE_SECONDS), and `can_use_credits` is consume's own
rule (`consume.credits_usable`), so the two never disagree about an account's status.

`current_period_end` is what the account item itself says of its period: a trial's end while it is a
trial; for a paid account, its subscription's current period's end, which the transactions that
start a period write on the account too (so this route reads nothing more); null before the first
payment.
"""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.views import account_view
from chalicelib.catalog.plans import plan_features
from chalicelib.core.clock import public_time
from chalicelib.core.errors import NotFound
from chalicelib.credits.consume import credits_usable
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel


def entitlements(account_id: str) -> dict[str, Any]:
    """The account's status, plan and its features, credits, and whether consume takes them."""
    account = store.get(AccountModel, account_id, consistent=True)
    if account is None:
        raise NotFound("No such account.", code="account_not_found")
    view = account_view(account)
    period_end = (view["trial_ends_at"] if account.status == "trial"
                  else public_time(account.current_period_end))
    return {"account_id": account.account_id, "status": account.status, "plan": account.plan,
            "features": plan_features(account.plan), "credits": view["credits"],
            "credit_buckets": view["credit_buckets"], "current_period_end": period_end,
            "can_use_credits": credits_usable(account.status)}
