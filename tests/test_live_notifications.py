"""The dev mailbox over real HTTP: `python -m devserver` (what `make dev` runs) sends the emails of
the seed's workflows through its embedded SES and keeps each one as an .eml file in MAILBOX_DIR.

This module starts its own devserver (the pattern of conftest's `live_stack`) so that the mailbox
is a temporary folder it can read.
"""
from __future__ import annotations

import email
import time
from collections.abc import Iterator
from email import policy

import pytest

from tests.conftest import (
    ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, PASSWORD, LiveStack, devserver, http,
)

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def mail_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A devserver of this module's own, so that its mailbox holds only these tests' emails."""
    with devserver(tmp_path_factory.mktemp("live-mail")) as stack:
        yield stack


def _mailbox(stack: LiveStack, expected: int, timeout: float = 15) -> list[email.message.EmailMessage]:
    """The mailbox's emails once it holds `expected` of them (the worker drains every second)."""
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(stack.mailbox.glob("*.eml")) if stack.mailbox.is_dir() else []
        if len(files) >= expected or time.monotonic() > deadline:
            return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
        time.sleep(0.2)


def _mail_lines(stack: LiveStack, expected: int, timeout: float = 15) -> list[str]:
    """The devserver's "Mail:" lines once it printed `expected` of them (it prints each after
    writing its .eml file), or what it printed by the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in stack.output.read_text().splitlines()
                 if line.startswith("Mail:     to ")]
        if len(lines) >= expected or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_the_seed_workflows_leave_submitted_approved_and_rejected_emails_in_the_mailbox(mail_stack):
    base = f"{mail_stack.base_url}/api/v1"
    # A paid signup from Pakistan
    signup = http("POST", f"{base}/auth/register/", {
        "email": "ayesha@khan.pk", "password": PASSWORD, "name": "Ayesha Khan", "plan": "starter",
        "account_name": "Khan Media", "billing": BILLING_PK, "payment_method": "bank_transfer"})
    assert signup.status == 201, signup.body
    token, invoice = signup.body["access_token"], signup.body["invoice"]
    admin = http("POST", f"{base}/auth/login/", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin_token = admin.body["access_token"]

    def confirm(reference: str) -> str:
        reply = http("POST", f"{base}/billing/admin/payments/confirm/", {
            "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": "89.00",
            "manual_reference": reference, "manual_notes": "Optional description"}, token=token)
        assert reply.status == 201, reply.body
        return reply.body["id"]

    # confirm → reject (wrong reference) → confirm again → approve
    first = confirm("BT-2025-000")
    rejected = http("POST", f"{base}/billing/admin/payments/{first}/reject/",
                    {"admin_notes": "Reference not found"}, token=admin_token)
    assert rejected.status == 200, rejected.body
    second = confirm("BT-2025-001")
    approved = http("POST", f"{base}/billing/admin/payments/{second}/approve/",
                    {"admin_notes": "Verified in bank statement"}, token=admin_token)
    assert approved.status == 200, approved.body

    # The mailbox holds each email once: invoice, 2 x (submitted + awaiting approval), rejected, approved
    emails = _mailbox(mail_stack, expected=7)
    got = sorted((m["To"], m["X-Template"]) for m in emails)
    assert got == sorted([
        ("ayesha@khan.pk", "signup_invoice"),
        ("ayesha@khan.pk", "payment_submitted"), ("admins@example.com", "payment_awaiting_approval"),
        ("ayesha@khan.pk", "payment_rejected"),
        ("ayesha@khan.pk", "payment_submitted"), ("admins@example.com", "payment_awaiting_approval"),
        ("ayesha@khan.pk", "payment_approved"),
    ]), mail_stack.output.read_text()
    by_template = {m["X-Template"]: m for m in emails}
    rejected_text = by_template["payment_rejected"].get_body(("plain",)).get_content()
    assert "Reference not found" in rejected_text and invoice["invoice_number"] in rejected_text
    approved_text = by_template["payment_approved"].get_body(("plain",)).get_content()
    assert "89.00 USD" in approved_text and "BT-2025-001" in approved_text
    assert by_template["payment_approved"].get_body(("html",)) is not None
    # and the devserver printed one line per email
    lines = _mail_lines(mail_stack, expected=7)
    assert len(lines) == 7, lines
    assert all(str(mail_stack.mailbox) in line for line in lines)
