"""Bank statements over real HTTP with many requests at once: the same statement imported by
several admins together stores each line once; "Apply all exact matches" clicked several times
together approves each payment once and grants the credits once. (Who wins, and what the others
get, is tested deterministically by tests/statements/test_statement_races.py.)"""
from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, PASSWORD, LiveStack, http
from tests.helpers import live_ledger, live_token, together

pytestmark = pytest.mark.live
THREADS = 6
ADMIN = "/api/v1/billing/admin"


def _signup(base: str) -> dict[str, Any]:
    reply = http("POST", f"{base}/api/v1/auth/register", {
        "email": f"{uuid.uuid4().hex[:10]}@example.pk", "password": PASSWORD, "name": "Ayesha Khan",
        "plan": "starter", "billing": BILLING_PK, "payment_method": "bank_transfer"})
    assert reply.status == 201, reply.body
    return reply.body


def test_one_statement_imported_and_applied_by_many_at_once_pays_each_invoice_once(
        live_stack: LiveStack) -> None:
    base = live_stack.base_url
    admin = live_token(base, ADMIN_EMAIL, ADMIN_PASSWORD)
    signups = [_signup(base) for _ in range(4)]
    run = uuid.uuid4().hex[:6]
    rows = [f"2026-12-01,89.00,USD,Invoice {s['invoice']['payment_reference']} {run},FT{n}"
            for n, s in enumerate(signups)]
    data = ("Date,Amount,Currency,Description,Bank reference\n" + "\n".join(rows) + "\n").encode()
    body = {"filename": "december.csv", "content_base64": base64.b64encode(data).decode()}
    # When several admins import the same statement at once
    imports = together([lambda: http("POST", f"{base}{ADMIN}/statements", body, token=admin)
                        for _ in range(THREADS)])
    # Then every import is answered, and the lines are stored once between them
    assert all(reply.status in (201, 409) for reply in imports), [r.body for r in imports]
    done = [reply.body for reply in imports if reply.status == 201]
    assert sum(report["new_lines"] for report in done) == 4
    assert all(report["new_lines"] + report["duplicate_lines"] == 4 for report in done)
    [owner] = [report for report in done if report["new_lines"]] or [None]
    assert owner is not None and owner["matched"] == 4, done
    # When "Apply all exact matches" is clicked several times at once
    clicks = together([lambda: http("POST", f"{base}{ADMIN}/statements/{owner['id']}/apply-exact",
                                    None, token=admin) for _ in range(THREADS)])
    assert all(reply.status in (200, 409) for reply in clicks), [r.body for r in clicks]
    assert sum(reply.body["applied"] for reply in clicks if reply.status == 200) == 4
    # Then each invoice was paid once, by one payment, and the credits granted once
    for signup in signups:
        token = signup["access_token"]
        payments = http("GET", f"{base}/api/v1/billing/payments", token=token).body["items"]
        assert [p["status"] for p in payments] == ["succeeded"]
        me = http("GET", f"{base}/api/v1/auth/me", token=token).body
        assert me["account"]["status"] == "active" and me["account"]["credits"] == 1000
        ledger = live_ledger(live_stack.dynamodb_endpoint, signup["account"]["id"])
        assert sum(int(item["amount"]["N"]) for item in ledger) == 1000
    lines = http("GET", f"{base}{ADMIN}/statements/{owner['id']}/lines", token=admin).body["items"]
    assert [line["status"] for line in lines] == ["applied"] * 4
