"""examples/spend_credits.py against the live stack: what it says it did is what the store holds."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PROJECT_DIR, http
from tests.helpers import live_ledger, live_token

pytestmark = pytest.mark.live
EXAMPLE = PROJECT_DIR / "examples" / "spend_credits.py"
EXAMPLE_PASSWORD = "example-password-123"


def test_the_spend_credits_example_charges_each_unit_of_work_once(live_stack, tmp_path):
    # When the example runs against the live stack
    api = f"{live_stack.base_url}/api/v1"
    report_file = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--base-url", api, "--admin-email", ADMIN_EMAIL,
         "--admin-password", ADMIN_PASSWORD, "--report", str(report_file)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)

    # Then it exits 0 and says what happened
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("409 already_released", "409 insufficient_credits: the account has 700 credits",
                 "the revoked key: 401 invalid_service_key",
                 "Every unit of work was charged once, the failed one given back."):
        assert line in result.stdout, result.stdout
    report = json.loads(report_file.read_text())

    # And the customer's credits, through the API: 700, the ledger newest first
    token = live_token(live_stack.base_url, report["email"], EXAMPLE_PASSWORD)
    statement = http("GET", f"{api}/billing/credits", token=token).body
    assert (statement["credits"], statement["credit_buckets"]) == (700, {"allowance": 700, "extra": 0})
    assert [(e["amount"], e["reason"]) for e in statement["items"]] == [
        (200, "released"), (-200, "consumed"), (-100, "consumed"), (-100, "consumed"),
        (-100, "consumed"), (1000, "trial_grant")]
    assert sum(d["consumed"] for d in statement["usage"]["current"]["days"]) == 300

    # And the ledger in DynamoDB: four consumptions (the retried one once), one release, summing to 700
    ledger = live_ledger(live_stack.dynamodb_endpoint, report["account_id"])
    reasons = Counter(item["reason"]["S"] for item in ledger)
    assert reasons == {"trial_grant": 1, "consumed": 4, "released": 1}
    assert sum(int(item["amount"]["N"]) for item in ledger) == 700
    consumed = {item["entry_id"]["S"] for item in ledger if item["reason"]["S"] == "consumed"}
    assert set(report["consumed"]) | {report["released"]} == consumed
    [release] = [item for item in ledger if item["reason"]["S"] == "released"]
    assert release["reference"]["S"] == report["released"]

    # And the key the example made is listed, used and revoked
    admin = live_token(live_stack.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    keys = http("GET", f"{api}/billing/admin/service-keys", token=admin).body["items"]
    [key] = [k for k in keys if k["id"] == report["key_id"]]
    assert key["revoked_at"] and key["last_used_at"] and key["created_by"] == ADMIN_EMAIL
