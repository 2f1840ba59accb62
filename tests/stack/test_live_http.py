"""Real HTTP against the local stack (`python -m devserver`, what `make dev` runs)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, devserver, http
from tests.helpers import live_ledger, live_paid_signup, live_token

pytestmark = pytest.mark.live


def test_seed_curl_examples_with_trailing_slashes(live_stack):
    base = live_stack.base_url
    # Payment methods for Pakistan, exactly as the seed card calls it
    methods = http("GET", f"{base}/api/v1/billing/admin/payment-methods/?country=PK")
    assert methods.status == 200
    assert {"bank_transfer", "jazzcash", "easypaisa"} <= {m["payment_method"] for m in methods.body}
    # Confirm, then approve with the seed's payload
    token, account_id, payment_id = live_paid_signup(base)
    admin = live_token(base, ADMIN_EMAIL, ADMIN_PASSWORD)
    approved = http("POST", f"{base}/api/v1/billing/admin/payments/{payment_id}/approve/",
                    {"admin_notes": "Verified in bank statement"}, token=admin)
    assert approved.status == 200, approved.body
    me = http("GET", f"{base}/api/v1/auth/me/", token=token)
    assert (me.body["account"]["status"], me.body["account"]["credits"]) == ("active", 1000)
    assert me.body["subscription"]["status"] == "active"
    # Unknown routes answer in the error shape
    missing = http("GET", f"{base}/api/v1/nothing-here")
    assert missing.status == 404 and missing.body["error"]["code"] == "route_not_found"


# Two rounds over real HTTP; who wins is tested deterministically in test_races.py.
@pytest.mark.parametrize("round_", range(2))
def test_concurrent_double_approval_grants_credits_once(live_stack, round_):
    # Given a payment awaiting approval
    base = live_stack.base_url
    token, account_id, payment_id = live_paid_signup(base)
    admin = live_token(base, ADMIN_EMAIL, ADMIN_PASSWORD)
    barrier = threading.Barrier(8)

    def approve(_: int) -> int:
        barrier.wait()
        return http("POST", f"{base}/api/v1/billing/admin/payments/{payment_id}/approve/",
                    {"admin_notes": "Verified"}, token=admin).status

    # When eight admins approve it at the same moment
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(approve, range(8)))

    # Then exactly one wins, the rest get 409, and the credits were granted once
    assert sorted(statuses) == [200] + [409] * 7
    me = http("GET", f"{base}/api/v1/auth/me", token=token)
    assert me.body["account"]["credits"] == 1000
    ledger = live_ledger(live_stack.dynamodb_endpoint, account_id)
    assert [item["reason"]["S"] for item in ledger] == ["plan_purchase"]


def test_external_endpoint_reuses_tables_and_data(live_stack, tmp_path):
    # Given a user who signed up on the embedded store
    base = live_stack.base_url
    token, _, _ = live_paid_signup(base)
    email = http("GET", f"{base}/api/v1/auth/me", token=token).body["user"]["email"]
    # When a second server starts with DYNAMODB_ENDPOINT_URL pointing at that store
    with devserver(tmp_path, DYNAMODB_ENDPOINT_URL=live_stack.dynamodb_endpoint) as second:
        # Then it serves the same data (the user logs in there) without duplicating reference data
        assert live_token(second.base_url, email)
        methods = http("GET", f"{second.base_url}/api/v1/billing/admin/payment-methods?country=PK")
        assert len(methods.body) == 8
        assert "DynamoDB: " + live_stack.dynamodb_endpoint in second.output.read_text()
