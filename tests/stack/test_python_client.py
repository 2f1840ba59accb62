"""The typed Python client and the example script that walks the workflows, against the live stack."""
from __future__ import annotations

import json
import subprocess
import uuid
import sys

import pytest

from clients.billing_client import BillingApiError, BillingClient, BillingConnectionError
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PROJECT_DIR, free_port, http

pytestmark = pytest.mark.live
EXAMPLE = PROJECT_DIR / "examples" / "api_integration_example.py"
EXAMPLE_PASSWORD = "example-password-123"


def test_the_example_script_walks_the_workflows_and_leaves_the_right_state(live_stack, tmp_path):
    # When the example runs against the live stack
    api = f"{live_stack.base_url}/api/v1"
    report_file = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--base-url", api, "--admin-email", ADMIN_EMAIL,
         "--admin-password", ADMIN_PASSWORD, "--report", str(report_file)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)

    # Then it exits 0 and says so
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All workflows behaved as the contract says." in result.stdout
    report = json.loads(report_file.read_text())

    def me(email: str) -> dict:
        login = http("POST", f"{api}/auth/login", {"email": email, "password": EXAMPLE_PASSWORD})
        assert login.status == 200, login.body
        token = login.body["access_token"]
        return {"me": http("GET", f"{api}/auth/me", token=token).body,
                "payments": http("GET", f"{api}/billing/payments", token=token).body["items"],
                "invoices": http("GET", f"{api}/billing/invoices", token=token).body["items"]}

    # And the free trial is a trial account with 1000 credits, no invoice
    trial = me(report["free_trial"]["email"])
    assert (trial["me"]["account"]["status"], trial["me"]["account"]["credits"]) == ("trial", 1000)
    assert trial["invoices"] == [] and trial["me"]["subscription"] is None

    # The approved signup is active with 1000 credits, its invoice paid, its one payment succeeded
    approved = me(report["approved"]["email"])
    assert (approved["me"]["account"]["status"], approved["me"]["account"]["credits"]) == ("active", 1000)
    assert approved["me"]["subscription"]["status"] == "active" and approved["me"]["pending_invoice"] is None
    assert [(i["id"], i["status"]) for i in approved["invoices"]] == [(report["approved"]["invoice_id"], "paid")]
    assert [(p["id"], p["status"]) for p in approved["payments"]] == [(report["approved"]["payment_id"], "succeeded")]

    # The rejected-then-resubmitted one has a failed payment with the reason, then a succeeded one
    retried = me(report["resubmitted"]["email"])
    assert (retried["me"]["account"]["status"], retried["me"]["account"]["credits"]) == ("active", 5000)
    assert [(p["id"], p["status"], p["admin_notes"]) for p in retried["payments"]] == [
        (report["resubmitted"]["payment_id"], "succeeded", "Found it this time"),
        (report["resubmitted"]["rejected_payment_id"], "failed", "Reference not found")]

    # And the status summary moved by exactly what the script did
    before, after = report["status_before"], report["status_after"]
    assert after["accounts"]["trial"] - before["accounts"]["trial"] == 1
    assert after["accounts"]["active"] - before["accounts"]["active"] == 2
    assert after["accounts"]["pending_payment"] == before["accounts"]["pending_payment"]
    assert after["payments_pending_approval"] == before["payments_pending_approval"]


def test_client_errors_carry_the_api_code_message_and_field_details(live_stack):
    api = BillingClient(f"{live_stack.base_url}/api/v1")
    with pytest.raises(BillingApiError) as wrong_login:
        api.login("nobody@example.com", "not the password")
    assert (wrong_login.value.status, wrong_login.value.code) == (401, "invalid_credentials")
    assert wrong_login.value.message == "Email or password is wrong."

    with pytest.raises(BillingApiError) as invalid:
        api.register(email="not-an-email", password="short", name="X")
    assert invalid.value.status == 422
    assert set(invalid.value.field_errors) == {"email", "password"}

    with pytest.raises(BillingApiError) as forbidden:
        BillingClient(api.base_url).status()
    assert forbidden.value.status == 401

    assert [plan["slug"] for plan in api.plans()][:2] == ["free", "starter"]
    assert {m["payment_method"] for m in api.payment_methods("PK")} >= {"jazzcash", "easypaisa"}


def test_an_unreachable_api_is_a_connection_error():
    client = BillingClient(f"http://127.0.0.1:{free_port()}/api/v1", timeout=2)
    with pytest.raises(BillingConnectionError) as error:
        client.plans()
    assert error.value.status == 0 and error.value.code == "connection_failed"


def test_the_client_subscribes_a_trial_changes_cancels_and_resumes(live_stack):
    api = BillingClient(f"{live_stack.base_url}/api/v1")
    admin = BillingClient(api.base_url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    api.register(email=f"client-{uuid.uuid4().hex[:8]}@example.pk", password="at least 10 chars",
                 name="Client Trial")
    billing = {"billing_name": "Khan Media", "billing_email": "billing@khan.pk",
               "address_line1": "12 Mall Road", "city": "Lahore", "country": "PK"}
    started = api.subscribe(plan="starter", payment_method="bank_transfer", billing=billing)
    assert started["invoice"]["kind"] == "signup" and api.me()["account"]["status"] == "trial"
    payment = api.confirm_payment(invoice_id=started["invoice"]["id"], payment_method="bank_transfer",
                                  amount="89.00", manual_reference=f"BT-{uuid.uuid4().hex[:8]}")
    admin.approve(payment["id"])
    account = api.me()["account"]
    assert account["credit_buckets"] == {"allowance": 1000, "extra": 1000}  # the trial's carried over
    preview = api.preview_plan_change("growth")
    upgrade = api.change_plan("growth")
    assert preview["change"] == "upgrade" and upgrade["invoice"]["kind"] == "upgrade"
    assert api.cancel_subscription()["subscription"]["cancel_at_period_end"] is True
    assert api.resume_subscription()["subscription"]["cancel_at_period_end"] is False
    assert admin.status()["accounts"]["active"] >= 1 and "items" in admin.renewals()


def test_the_client_spends_credits_with_a_service_key_and_reads_them(live_stack):
    # Given an admin, a service key made by the client, and an active customer account
    api = f"{live_stack.base_url}/api/v1"
    admin = BillingClient(api)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    idem = f"key-{uuid.uuid4().hex[:8]}"
    made = admin.create_service_key("client-test", idempotency_key=idem)
    assert made["key"].startswith(f"sk_{made['id']}_")
    replayed = admin.create_service_key("client-test", idempotency_key=idem)
    assert (replayed["id"], replayed["key"]) == (made["id"], None)  # the secret is shown once
    listed = next(k for k in admin.service_keys() if k["id"] == made["id"])
    assert listed["name"] == "client-test" and listed["revoked_at"] is None and "key" not in listed
    customer = BillingClient(api)
    signup = customer.register(email=f"spend-{uuid.uuid4().hex[:8]}@example.pk", password="at least 10 chars",
                               name="Client Spender", plan="starter", payment_method="bank_transfer",
                               billing={"billing_name": "Khan Media", "billing_email": "b@khan.pk",
                                        "address_line1": "12 Mall Road", "city": "Lahore", "country": "PK"})
    account_id = signup["account"]["id"]
    payment = customer.confirm_payment(invoice_id=signup["invoice"]["id"], payment_method="bank_transfer",
                                       amount="89.00", manual_reference=f"BT-{uuid.uuid4().hex[:8]}")
    admin.approve(payment["id"])

    # When the backend (the key as its token) consumes, retries, releases
    backend = admin.as_token(made["key"])
    used = backend.consume(account_id, 250, "report", idempotency_key="unit-1")
    assert (used["consumed"], used["credits"], used["credit_buckets"]) == (250, 750, {"allowance": 750, "extra": 0})
    assert backend.consume(account_id, 250, "report", idempotency_key="unit-1") == used
    released = backend.release(used["entry_id"], idempotency_key="unit-1-failed")
    assert (released["released_entry_id"], released["released"], released["credits"]) == (used["entry_id"], 250, 1000)
    # Then the refusals carry the documented codes
    refusals = {
        "insufficient_credits": lambda: backend.consume(account_id, 5000, "too big", idempotency_key="unit-2"),
        "already_released": lambda: backend.release(used["entry_id"], idempotency_key="unit-1-again"),
        "service_key_required": lambda: customer.consume(account_id, 1, "x", idempotency_key="unit-3"),
        "idempotency_key_reused": lambda: backend.consume(account_id, 1, "x", idempotency_key="unit-1")}
    for code, call in refusals.items():
        with pytest.raises(BillingApiError) as refused:
            call()
        assert refused.value.code == code, (code, refused.value)
    with pytest.raises(BillingApiError) as too_big:
        backend.consume(account_id, 5000, "too big", idempotency_key="unit-2")
    assert (too_big.value.status, too_big.value.details) == (409, {"credits": 1000})
    with pytest.raises(ValueError):
        backend.consume(account_id, 1, "no key", idempotency_key="")

    # And the customer buys a top-up, the admin grants, both read the statement
    assert [p["slug"] for p in customer.packs()] == ["pack_1000", "pack_5000"]
    topup = customer.buy_topup("pack_1000", "bank_transfer")
    assert (topup["kind"], topup["amount"]) == ("topup", "15.00")
    paid = customer.confirm_payment(invoice_id=topup["id"], payment_method="bank_transfer", amount="15.00",
                                    manual_reference=f"BT-{uuid.uuid4().hex[:8]}")
    admin.approve(paid["id"])
    grant = admin.grant_credits(account_id, 50, "extra", "goodwill")
    assert (grant["entry"]["reason"], grant["account"]["credit_buckets"]) == ("admin_grant", {"allowance": 1000, "extra": 1050})
    page = customer.credits(limit=2)
    assert page["credits"] == 2050 and [e["reason"] for e in page["items"]] == ["admin_grant", "topup"]
    rest = customer.credits(limit=10, cursor=page["next_cursor"])
    assert [e["reason"] for e in rest["items"]] == ["released", "consumed", "plan_purchase"]
    view = admin.admin_account(account_id)
    assert view["account"]["id"] == account_id and view["subscription"]["status"] == "active"
    assert view["credits"]["credits"] == 2050

    # And a revoked key (204: None) is refused
    assert admin.revoke_service_key(made["id"]) is None
    with pytest.raises(BillingApiError) as revoked:
        backend.consume(account_id, 1, "late", idempotency_key="unit-4")
    assert (revoked.value.status, revoked.value.code) == (401, "invalid_service_key")
    assert next(k for k in admin.service_keys() if k["id"] == made["id"])["revoked_at"]
