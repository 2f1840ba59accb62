"""`manage.py verify` (what `make verify` runs) against the local stack's DynamoDB, over real HTTP."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import pytest

from tests.conftest import (
    ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, PASSWORD, PROJECT_DIR, LiveStack, http,
)

pytestmark = pytest.mark.live


def run_seed_workflows(stack: LiveStack) -> None:
    """Free trial; paid signup, confirm, approve; paid signup, confirm, reject, confirm, approve."""
    base = f"{stack.base_url}/api/v1"
    tag = uuid.uuid4().hex[:8]
    assert http("POST", f"{base}/auth/register/", {
        "email": f"trial-{tag}@khan.pk", "password": PASSWORD, "name": "Trial User"}).status == 201
    admin = http("POST", f"{base}/auth/login/", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin_token = admin.body["access_token"]

    def decide(payment_id: str, verb: str, notes: str) -> None:
        reply = http("POST", f"{base}/billing/admin/payments/{payment_id}/{verb}/",
                     {"admin_notes": notes}, token=admin_token)
        assert reply.status == 200, reply.body

    for who, rejections in (("paid", 0), ("retry", 1)):
        signup = http("POST", f"{base}/auth/register/", {
            "email": f"{who}-{tag}@khan.pk", "password": PASSWORD, "name": "Ayesha Khan",
            "plan": "starter", "billing": BILLING_PK, "payment_method": "bank_transfer"})
        assert signup.status == 201, signup.body
        for attempt in range(rejections + 1):
            confirm = http("POST", f"{base}/billing/admin/payments/confirm/", {
                "invoice_id": signup.body["invoice"]["id"], "payment_method": "bank_transfer",
                "amount": "89.00", "manual_reference": f"BT-{tag}-{who}-{attempt}"},
                token=signup.body["access_token"])
            assert confirm.status == 201, confirm.body
            if attempt < rejections:
                decide(confirm.body["id"], "reject", "Reference not found")
            else:
                decide(confirm.body["id"], "approve", "Verified in bank statement")


def test_manage_verify_passes_against_the_local_stack(live_stack):
    # Given the seed's workflows run over real HTTP (after whatever other live tests left there)
    run_seed_workflows(live_stack)
    # When `manage.py verify` runs as `make verify` does, against the stack's DynamoDB endpoint
    env = {**os.environ, "DYNAMODB_ENDPOINT_URL": live_stack.dynamodb_endpoint,
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    done = subprocess.run([sys.executable, "manage.py", "verify"], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    # Then every check passes and the last line says so
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"Data integrity: 100% \(\d+ checks passing\)", lines[-1]), lines
    assert not any(line.startswith("✗") for line in lines), lines
    checks = int(re.search(r"\((\d+) checks", lines[-1]).group(1))
    assert checks >= 30, lines  # the workflows' entities were checked, not an empty store
