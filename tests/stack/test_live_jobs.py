"""Two runs of the billing jobs at the same `AT` at once, as two `manage.py run-jobs` processes
against a local stack's DynamoDB over HTTP: each renewal invoice, state change and email happens
once. (Which run wins is tested deterministically in tests/billing/test_lifecycle.py.)

A stack of its own: the jobs, run as of next month, change every account of the store.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import boto3
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PROJECT_DIR, LiveStack, devserver, http
from tests.helpers import live_paid_signup, live_token

pytestmark = pytest.mark.live
ACCOUNTS = 4


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with devserver(tmp_path_factory.mktemp("jobs-stack")) as own:
        yield own


def _jobs_at_once(stack: LiveStack, at: str) -> list[str]:
    """Start two `manage.py run-jobs --at` at the same moment; their outputs."""
    env = {**os.environ, "DYNAMODB_ENDPOINT_URL": stack.dynamodb_endpoint,
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
           "AWS_DEFAULT_REGION": "us-east-1"}
    runs = [subprocess.Popen([sys.executable, "manage.py", "run-jobs", "--at", at], cwd=PROJECT_DIR,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    return outputs


def _items(stack: LiveStack, table: str) -> list[dict]:
    client = boto3.client("dynamodb", endpoint_url=stack.dynamodb_endpoint, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    pages = client.get_paginator("scan").paginate(TableName=f"billing-dev-{table}",
                                                  ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def _later(public: str, minutes: int = 1) -> str:
    return (datetime.fromisoformat(public.replace("Z", "+00:00")) + timedelta(minutes=minutes)).isoformat()


def test_two_runs_at_once_issue_each_renewal_and_change_each_state_once(stack: LiveStack) -> None:
    base = stack.base_url
    admin = live_token(base, ADMIN_EMAIL, ADMIN_PASSWORD)
    tokens = []
    for _ in range(ACCOUNTS):
        token, _, payment_id = live_paid_signup(base)
        assert http("POST", f"{base}/api/v1/billing/admin/payments/{payment_id}/approve", {},
                    token=admin).status == 200
        tokens.append(token)
    subs = [http("GET", f"{base}/api/v1/auth/me", token=t).body["subscription"] for t in tokens]
    ids = sorted(s["id"] for s in subs)
    # When two runs issue the renewals at once
    _jobs_at_once(stack, _later(max(s["next_invoice_at"] for s in subs)))
    # Then each subscription has one renewal invoice, shown to its customer, emailed once
    renewals = [i for i in _items(stack, "invoices") if i.get("kind", {}).get("S") == "renewal"]
    assert sorted(i["subscription_id"]["S"] for i in renewals) == ids
    for token in tokens:
        assert http("GET", f"{base}/api/v1/auth/me", token=token).body["pending_invoice"]["kind"] == "renewal"
    outbox = Counter(m["template"]["S"] for m in _items(stack, "outbox"))
    assert outbox["renewal_invoice"] == ACCOUNTS
    # When two runs reach the period end at once with the renewals unpaid
    _jobs_at_once(stack, _later(max(s["current_period_end"] for s in subs)))
    # Then each subscription and account went past due once, with one email and one expiry each
    for token in tokens:
        me = http("GET", f"{base}/api/v1/auth/me", token=token).body
        assert (me["subscription"]["status"], me["account"]["status"]) == ("past_due", "past_due")
        assert me["account"]["credit_buckets"] == {"allowance": 0, "extra": 0}
    assert Counter(m["template"]["S"] for m in _items(stack, "outbox"))["subscription_past_due"] == ACCOUNTS
    events = Counter((e["entity_id"]["S"], e["action"]["S"]) for e in _items(stack, "audit_events"))
    assert all(events[(sub_id, "renewal_unpaid")] == 1 for sub_id in ids), events
    expiries = [e for e in _items(stack, "credit_ledger") if e["reason"]["S"] == "allowance_expired"]
    assert len(expiries) == ACCOUNTS
    # And the store passes every integrity rule
    verify = subprocess.run([sys.executable, "manage.py", "verify"], cwd=PROJECT_DIR, env={
        **os.environ, "DYNAMODB_ENDPOINT_URL": stack.dynamodb_endpoint, "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
