"""Real HTTP against the local stack (`python -m devserver`, what `make dev` runs)."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, PASSWORD, devserver, http

pytestmark = pytest.mark.live


def _token(base: str, email: str, password: str = PASSWORD) -> str:
    reply = http("POST", f"{base}/api/v1/auth/login/", {"email": email, "password": password})
    assert reply.status == 200, reply.body
    return reply.body["access_token"]


def _paid_signup_with_payment(base: str) -> tuple[str, str, str]:
    email = f"{uuid.uuid4().hex[:10]}@example.pk"
    reply = http("POST", f"{base}/api/v1/auth/register/", {
        "email": email, "password": PASSWORD, "name": "Ayesha Khan", "plan": "starter",
        "billing": BILLING_PK, "payment_method": "bank_transfer"})
    assert reply.status == 201, reply.body
    token, invoice = reply.body["access_token"], reply.body["invoice"]
    confirm = http("POST", f"{base}/api/v1/billing/admin/payments/confirm/", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": f"BT-{uuid.uuid4().hex[:8]}"}, token=token)
    assert confirm.status == 201, confirm.body
    return token, reply.body["account"]["id"], confirm.body["id"]


def _ledger(endpoint: str, account_id: str) -> list[dict]:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    return client.query(TableName="billing-dev-credit_ledger",
                        KeyConditionExpression="account_id = :a",
                        ExpressionAttributeValues={":a": {"S": account_id}})["Items"]


def test_seed_curl_examples_with_trailing_slashes(live_stack):
    base = live_stack.base_url
    # Payment methods for Pakistan, exactly as the seed card calls it
    methods = http("GET", f"{base}/api/v1/billing/admin/payment-methods/?country=PK")
    assert methods.status == 200
    assert {"bank_transfer", "jazzcash", "easypaisa"} <= {m["payment_method"] for m in methods.body}
    # Confirm, then approve with the seed's payload
    token, account_id, payment_id = _paid_signup_with_payment(base)
    admin = _token(base, ADMIN_EMAIL, ADMIN_PASSWORD)
    approved = http("POST", f"{base}/api/v1/billing/admin/payments/{payment_id}/approve/",
                    {"admin_notes": "Verified in bank statement"}, token=admin)
    assert approved.status == 200, approved.body
    me = http("GET", f"{base}/api/v1/auth/me/", token=token)
    assert (me.body["account"]["status"], me.body["account"]["credits"]) == ("active", 1000)
    assert me.body["subscription"]["status"] == "active"
    # Unknown routes answer in the error shape
    missing = http("GET", f"{base}/api/v1/nothing-here")
    assert missing.status == 404 and missing.body["error"]["code"] == "route_not_found"


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_double_approval_grants_credits_once(live_stack, round_):
    # Given a payment awaiting approval
    base = live_stack.base_url
    token, account_id, payment_id = _paid_signup_with_payment(base)
    admin = _token(base, ADMIN_EMAIL, ADMIN_PASSWORD)
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
    ledger = _ledger(live_stack.dynamodb_endpoint, account_id)
    assert [item["reason"]["S"] for item in ledger] == ["plan_purchase"]


def test_external_endpoint_reuses_tables_and_data(live_stack, tmp_path):
    # Given a user who signed up on the embedded store
    base = live_stack.base_url
    token, _, _ = _paid_signup_with_payment(base)
    email = http("GET", f"{base}/api/v1/auth/me", token=token).body["user"]["email"]
    # When a second server starts with DYNAMODB_ENDPOINT_URL pointing at that store
    with devserver(tmp_path, DYNAMODB_ENDPOINT_URL=live_stack.dynamodb_endpoint) as second:
        # Then it serves the same data (the user logs in there) without duplicating reference data
        assert _token(second.base_url, email)
        methods = http("GET", f"{second.base_url}/api/v1/billing/admin/payment-methods?country=PK")
        assert len(methods.body) == 8
        assert "DynamoDB: " + live_stack.dynamodb_endpoint in second.output.read_text()
