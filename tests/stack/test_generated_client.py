"""The served OpenAPI description digested by openapi-python-client (warnings are failures), and
the client it generates used against the live stack: every response parsed into its model."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, PASSWORD, PROJECT_DIR, http

pytestmark = pytest.mark.live
PACKAGE = "generated_billing_client"


@pytest.fixture(scope="module")
def generated(live_stack, tmp_path_factory) -> Any:
    """The client package generated from the document the stack serves."""
    folder = tmp_path_factory.mktemp("generated")
    served = http("GET", f"{live_stack.base_url}/api/v1/openapi.json")
    assert served.status == 200
    document = folder / "openapi.json"
    document.write_text(json.dumps(served.body))
    venv_bin = str(Path(sys.executable).parent)  # ruff, which the generator formats with
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document),
         "--meta", "none", "--config", str(PROJECT_DIR / "clients" / "openapi-python-client.yaml"),
         "--output-path", str(folder / PACKAGE), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, cwd=folder,
        env={**os.environ, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(folder))
        for module in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[module]


def test_the_generated_client_signs_up_confirms_and_approves_with_typed_models(live_stack, generated):
    client_module, models = generated("client"), generated("models")
    base = live_stack.base_url
    public = client_module.Client(base_url=base, raise_on_unexpected_status=True)
    # The plans
    plans = generated("api.catalog.list_plans").sync(client=public)
    assert isinstance(plans, models.PlanList)
    assert "starter" in [plan.slug for plan in plans.items]
    # A paid signup
    email = f"generated-{uuid.uuid4().hex[:8]}@example.com"
    registered = generated("api.auth.register").sync(client=public, body=models.RegisterRequest.from_dict({
        "email": email, "password": PASSWORD, "name": "Gen Client", "account_name": "Gen Co",
        "plan": "starter", "payment_method": "bank_transfer", "billing": BILLING_PK}))
    assert isinstance(registered, models.Registration), registered
    user = client_module.AuthenticatedClient(base_url=base, token=registered.access_token,
                                             raise_on_unexpected_status=True)
    me = generated("api.auth.get_me").sync(client=user)
    assert isinstance(me, models.Me), me
    assert (me.account.status, me.pending_invoice.id) == ("pending_payment", registered.invoice.id)
    # The payer confirms the transfer
    confirmed = generated("api.billing.confirm_payment").sync(client=user, body=models.ConfirmPaymentRequest.from_dict({
        "invoice_id": registered.invoice.id, "payment_method": "bank_transfer",
        "amount": registered.invoice.amount, "manual_reference": f"GEN-{uuid.uuid4().hex[:8]}"}))
    assert isinstance(confirmed, models.Payment), confirmed
    assert confirmed.status == "pending_approval"
    # The admin finds it in the queue, reads it, approves it
    login = generated("api.auth.login").sync(client=public, body=models.LoginRequest.from_dict(
        {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
    assert isinstance(login, models.Token), login
    admin = client_module.AuthenticatedClient(base_url=base, token=login.access_token,
                                              raise_on_unexpected_status=True)
    queue = generated("api.admin.list_approval_queue").sync(client=admin, limit=100)
    assert isinstance(queue, models.ApprovalQueuePage), queue
    [queued] = [p for p in queue.items if p.id == confirmed.id]
    assert isinstance(queued, models.QueuedPayment) and isinstance(queued.flags, models.ReviewFlags)
    detail = generated("api.admin.get_payment_detail").sync(confirmed.id, client=admin)
    assert isinstance(detail, models.PaymentDetail), detail
    assert detail.payment_reference == registered.invoice.payment_reference
    approved = generated("api.admin.approve_payment").sync(
        confirmed.id, client=admin, body=models.ApproveRequest.from_dict({"admin_notes": "In the statement"}))
    assert isinstance(approved, models.Approval), approved
    assert (approved.payment.status, approved.invoice.status, approved.account.status) == (
        "succeeded", "paid", "active")
    # And the API agrees
    assert http("GET", f"{base}/api/v1/auth/me", token=registered.access_token).body["account"]["status"] == "active"
