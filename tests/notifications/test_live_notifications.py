"""The dev mailbox over real HTTP: `python -m devserver` (what `make dev` runs) sends the emails of
the seed's workflows through its embedded SES and keeps each one as an .eml file in MAILBOX_DIR.

The stack is the run's shared one (conftest's `live_stack`), whose mailbox holds other tests' emails
too: the test follows a payer of its own (an address and bank references no other test uses) and
reads the emails to that payer or about it (the admins' emails name the payer).
"""
from __future__ import annotations

import email
import re
import time
import uuid
from email import policy
from pathlib import Path

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, PASSWORD, LiveStack, http

pytestmark = pytest.mark.live


def _emails_of(stack: LiveStack, payer: str) -> list[tuple[Path, email.message.EmailMessage]]:
    """The mailbox's emails to `payer` or about it, with their files, oldest first."""
    found = []
    for path in sorted(stack.mailbox.glob("*.eml")) if stack.mailbox.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == payer or payer in message.get_body(("plain",)).get_content():
            found.append((path, message))
    return found


def _mailbox(stack: LiveStack, payer: str, expected: int,
             timeout: float = 15) -> list[tuple[Path, email.message.EmailMessage]]:
    """The payer's emails once there are `expected` of them (the worker drains every second)."""
    deadline = time.monotonic() + timeout
    while True:
        found = _emails_of(stack, payer)
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _mail_lines(stack: LiveStack, files: list[str], timeout: float = 15) -> list[str]:
    """The devserver's "Mail:" lines naming these .eml files, once it printed all of them (it
    prints each after writing its file), or those it printed by the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in stack.output.read_text().splitlines()
                 if line.startswith("Mail:     to ") and line.rsplit(" | ", 1)[-1] in files]
        if len(lines) >= len(files) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_the_seed_workflows_leave_submitted_approved_and_rejected_emails_in_the_mailbox(live_stack):
    base = f"{live_stack.base_url}/api/v1"
    tag = uuid.uuid4().hex[:8].upper()
    payer = f"ayesha-{tag.lower()}@khan.pk"
    # A paid signup from Pakistan
    signup = http("POST", f"{base}/auth/register/", {
        "email": payer, "password": PASSWORD, "name": "Ayesha Khan", "plan": "starter",
        "account_name": "Khan Media", "billing": BILLING_PK, "payment_method": "bank_transfer"})
    assert signup.status == 201, signup.body
    token, invoice = signup.body["access_token"], signup.body["invoice"]
    # whose address is verified with the link of its first email (the others wait for it)
    [(_, verification)] = _mailbox(live_stack, payer, expected=1)
    assert verification["X-Template"] == "verify_email", live_stack.output.read_text()
    link = re.search(r"/verify-email\?token=(\S+)", verification.get_body(("plain",)).get_content())
    assert http("POST", f"{base}/auth/verify-email", {"token": link.group(1)}).status == 200
    admin = http("POST", f"{base}/auth/login/", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin_token = admin.body["access_token"]

    def confirm(reference: str) -> str:
        reply = http("POST", f"{base}/billing/admin/payments/confirm/", {
            "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": "89.00",
            "manual_reference": reference, "manual_notes": "Optional description"}, token=token)
        assert reply.status == 201, reply.body
        return reply.body["id"]

    # confirm → reject (wrong reference) → confirm again → approve
    first = confirm(f"BT-{tag}-0")
    rejected = http("POST", f"{base}/billing/admin/payments/{first}/reject/",
                    {"admin_notes": "Reference not found"}, token=admin_token)
    assert rejected.status == 200, rejected.body
    second = confirm(f"BT-{tag}-1")
    approved = http("POST", f"{base}/billing/admin/payments/{second}/approve/",
                    {"admin_notes": "Verified in bank statement"}, token=admin_token)
    assert approved.status == 200, approved.body

    # The mailbox holds each email once: the verification, the invoice (held until then),
    # 2 x (submitted + awaiting approval), rejected, approved
    found = _mailbox(live_stack, payer, expected=8)
    emails = [message for _, message in found]
    got = sorted((m["To"], m["X-Template"]) for m in emails)
    assert got == sorted([
        (payer, "verify_email"), (payer, "signup_invoice"),
        (payer, "payment_submitted"), ("admins@example.com", "payment_awaiting_approval"),
        (payer, "payment_rejected"),
        (payer, "payment_submitted"), ("admins@example.com", "payment_awaiting_approval"),
        (payer, "payment_approved"),
    ]), live_stack.output.read_text()
    by_template = {m["X-Template"]: m for m in emails}
    rejected_text = by_template["payment_rejected"].get_body(("plain",)).get_content()
    assert "Reference not found" in rejected_text and invoice["invoice_number"] in rejected_text
    approved_text = by_template["payment_approved"].get_body(("plain",)).get_content()
    assert "89.00 USD" in approved_text and f"BT-{tag}-1" in approved_text
    assert by_template["payment_approved"].get_body(("html",)) is not None
    # and the devserver printed one line per email, naming its file
    files = sorted(str(path) for path, _ in found)
    lines = _mail_lines(live_stack, files)
    assert sorted(line.rsplit(" | ", 1)[-1] for line in lines) == files, lines
    assert all(str(live_stack.mailbox) in line for line in lines)
