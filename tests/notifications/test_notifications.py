"""Email notifications: each event queues its emails in its transaction; delivery sends each once.

SES is moto's (mock_aws mocks it with DynamoDB); every SendEmail that succeeds is recorded with its
parameters, so the tests see the text and HTML parts, the sender and the recipients.
"""
from __future__ import annotations

import email
import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from chalicelib.core.clock import now, stamp
from chalicelib.notifications import delivery
from chalicelib.notifications import messages as queued
from chalicelib.storage import outbox, store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel
from chalicelib.storage.models.platform import OutboxModel
from devserver.mailbox import MailWorker
from tests.helpers import verified_addresses  # noqa: F401 - an autouse fixture
from tests.conftest import PROJECT_DIR, Api, PaidSignup, local_client

MAIL_FROM = "billing@example.com"
ADMINS = "admins@example.com"
WEB = "http://127.0.0.1:8012"


@dataclass
class Sent:
    """One email SES accepted."""

    source: str
    to: list[str]
    subject: str
    text: str
    html: str  # with runs of whitespace folded to one space, as a browser shows it




@pytest.fixture
def sent(api: Api) -> Iterator[list[Sent]]:
    """Every email sent through SES while the test runs (moto's SES, sender verified)."""
    delivery.ses_client().verify_email_identity(EmailAddress=MAIL_FROM)
    emails: list[Sent] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation_name: str, params: Any) -> Any:
        result = original(self, operation_name, params)
        if self.meta.service_model.service_name == "ses" and operation_name == "SendEmail":
            body = params["Message"]["Body"]
            emails.append(Sent(params["Source"], params["Destination"]["ToAddresses"],
                               params["Message"]["Subject"]["Data"], body["Text"]["Data"],
                               " ".join(body["Html"]["Data"].split())))  # HTML: whitespace folded
        return result

    botocore.client.BaseClient._make_api_call = spy
    try:
        yield emails
    finally:
        botocore.client.BaseClient._make_api_call = original


@pytest.fixture
def failing_ses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """SES (only SES) answers every send with a throttling error; returns the attempts made."""
    attempts: list[int] = []

    def fail(**_: Any) -> None:
        attempts.append(1)
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}},
                          "SendEmail")

    monkeypatch.setattr(delivery.ses_client(), "send_email", fail)
    return attempts


def drain_new(sent: list[Sent], at: Any = None) -> list[Sent]:
    """Drain the outbox; the emails this drain sent."""
    before = len(sent)
    delivery.drain(at)
    return sent[before:]


def messages() -> dict[str, OutboxModel]:
    return {m.message_id: m for m in OutboxModel.scan()}


def confirmed(api: Api, signup: PaidSignup, sent: list[Sent], **extra: Any) -> str:
    """A confirmed payment's id, with the signup's and the confirmation's emails already sent."""
    reply = api.confirm(signup.token, signup.invoice_id, **extra)
    assert reply.status == 201, reply.body
    delivery.drain()
    sent.clear()
    return reply.body["id"]


# Each event sends exactly its emails ------------------------------------------------------------

def test_free_signup_sends_one_welcome_email(api, sent):
    # When a user signs up for the free trial
    assert api.register("trial@example.com").status == 201
    assert sent == []  # nothing is sent inside the request
    # Then the drain sends one welcome email to them
    [welcome] = drain_new(sent)
    assert (welcome.source, welcome.to) == (MAIL_FROM, ["trial@example.com"])
    assert "free trial has started" in welcome.subject
    for part in (welcome.text, welcome.html):
        assert "Khan Media" in part and "1000" in part and f"{WEB}/dashboard" in part


def test_paid_signup_sends_the_invoice_with_the_countrys_payment_instructions(api, sent, paid_signup):
    [invoice_email] = drain_new(sent)
    invoice = InvoiceModel.get(paid_signup.invoice_id)
    assert invoice_email.to == [paid_signup.email]
    assert invoice.invoice_number in invoice_email.subject and "89.00 USD" in invoice_email.subject
    for part in (invoice_email.text, invoice_email.html):
        assert invoice.invoice_number in part and "89.00 USD" in part and invoice.due_date in part
        # Pakistan's methods with what a payer needs, the chosen one first
        for shown in ("Bank transfer (Pakistan, IBFT)", "Meezan Bank", "PK36MEZN0001010104567891",
                      "JazzCash", "0300-1234567", "Easypaisa", "0345-7654321", "Raast ID"):
            assert shown in part, shown
        assert f"{WEB}/billing/invoices/{paid_signup.invoice_id}" in part
        assert "this invoice as a PDF" in part and paid_signup.token not in part  # no token: a link
    assert invoice_email.text.index("Bank transfer (Pakistan, IBFT) (your choice)") < invoice_email.text.index("JazzCash")


def test_confirm_tells_the_user_and_asks_the_admins(api, sent, paid_signup):
    delivery.drain()
    sent.clear()
    # When the user confirms their transfer
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id, manual_notes="Paid from HBL")
    assert reply.status == 201
    payment_id = reply.body["id"]
    # Then exactly two emails: a receipt to the user and an approval request to the admins
    emails = drain_new(sent)
    assert sorted(e.to[0] for e in emails) == sorted([paid_signup.email, ADMINS])
    receipt = next(e for e in emails if e.to == [paid_signup.email])
    request = next(e for e in emails if e.to == [ADMINS])
    number = InvoiceModel.get(paid_signup.invoice_id).invoice_number
    assert "received your payment confirmation" in receipt.subject
    assert "awaiting approval" in request.subject
    for part in (receipt.text, receipt.html, request.text, request.html):
        for shown in (number, "89.00 USD", "Bank transfer (Pakistan, IBFT)", "BT-2025-001", "Paid from HBL"):
            assert shown in part, shown
    assert f"{WEB}/admin/payments/{payment_id}" in request.text
    assert f'href="{WEB}/admin/payments/{payment_id}"' in request.html
    assert paid_signup.email in request.text  # who paid


def test_approve_tells_the_user_the_account_is_active(api, sent, paid_signup):
    payment_id = confirmed(api, paid_signup, sent)
    assert api.approve(api.admin_token(), payment_id).status == 200
    [approved] = drain_new(sent)
    number = InvoiceModel.get(paid_signup.invoice_id).invoice_number
    assert approved.to == [paid_signup.email]
    assert "approved" in approved.subject and number in approved.subject
    for part in (approved.text, approved.html):
        for shown in (number, "89.00 USD", "Bank transfer (Pakistan, IBFT)", "BT-2025-001", "active",
                      "1000 credits", "paid", f"{WEB}/dashboard", "receipt, as a PDF",
                      f"{WEB}/billing/invoices/{paid_signup.invoice_id}"):
            assert shown in part, shown
        assert paid_signup.token not in part and "Bearer" not in part


def test_reject_tells_the_user_why_and_how_to_retry(api, sent, paid_signup):
    payment_id = confirmed(api, paid_signup, sent)
    assert api.reject(api.admin_token(), payment_id, notes="No transfer with BT-2025-001 on 12 Nov").status == 200
    [rejected] = drain_new(sent)
    assert rejected.to == [paid_signup.email] and "not approved" in rejected.subject
    for part in (rejected.text, rejected.html):
        for shown in ("No transfer with BT-2025-001 on 12 Nov", "89.00 USD", "BT-2025-001",
                      "confirm the payment again", f"{WEB}/billing/invoices/{paid_signup.invoice_id}"):
            assert shown in part, shown


def test_the_whole_workflow_sends_each_email_once_however_often_the_worker_runs(api, sent, paid_signup):
    admin = api.admin_token()
    first = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    delivery.drain()
    delivery.drain()
    api.reject(admin, first)
    second = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2025-002").body["id"]
    api.approve(admin, second)
    for _ in range(3):
        delivery.drain(now() + timedelta(days=1))
    kinds = sorted((e.to[0], _kind(e.subject)) for e in sent)
    assert kinds == sorted([
        (paid_signup.email, "invoice"),
        (paid_signup.email, "received"), (ADMINS, "awaiting approval"), (paid_signup.email, "not approved"),
        (paid_signup.email, "received"), (ADMINS, "awaiting approval"), (paid_signup.email, "approved"),
    ])
    # every message is sent once, and none is left in the due index
    stored = messages()
    assert len(stored) == 7
    assert {(m.status, m.attempts, m.queue) for m in stored.values()} == {("sent", 1, None)}
    assert outbox.due(now() + timedelta(days=30), 100) == []


def _kind(subject: str) -> str:
    for kind in ("awaiting approval", "not approved", "approved", "received", "Invoice"):
        if kind in subject:
            return kind.lower()
    return subject


# Exactly once under retries and races -------------------------------------------------------

def test_a_second_worker_that_read_the_message_before_it_was_sent_sends_nothing(
        api, sent, paid_signup, monkeypatch):
    [message_id] = messages()
    real_claim = outbox.claim

    def claim_after_another_worker_delivered(message: OutboxModel, at: Any) -> str | None:
        monkeypatch.setattr(outbox, "claim", real_claim)
        assert delivery.deliver(message.message_id).outcome == "sent"  # the other worker
        return real_claim(message, at)  # this worker's read is now stale

    monkeypatch.setattr(outbox, "claim", claim_after_another_worker_delivered)
    assert delivery.deliver(message_id).outcome == "skipped"
    assert len(sent) == 1
    assert delivery.deliver(message_id).outcome == "skipped"  # and a late retry skips it too
    assert len(sent) == 1


def test_a_worker_that_died_after_claiming_is_retried_once_its_lease_ends(api, sent, paid_signup):
    [message] = messages().values()
    start = now()
    assert outbox.claim(message, start) is not None  # a worker claimed it, then died
    assert drain_new(sent, start) == []  # hidden while the lease runs
    [delivered] = drain_new(sent, start + outbox.LEASE + timedelta(seconds=1))
    assert delivered.to == [paid_signup.email]
    assert drain_new(sent, start + timedelta(days=1)) == []
    assert OutboxModel.get(message.message_id).attempts == 2


def test_a_failing_ses_leaves_the_payment_approved_and_the_email_queued(
        api, sent, paid_signup, monkeypatch, failing_ses):
    payment_id = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    # Given SES fails for every send
    # When the admin approves, and the worker tries to deliver
    approved = api.approve(api.admin_token(), payment_id)
    start = now()
    results = delivery.drain(start)
    # Then the approval stands and every email stays queued for a later retry
    assert approved.status == 200 and approved.body["payment"]["status"] == "succeeded"
    assert PaymentModel.get(payment_id).status == "succeeded"
    assert AccountModel.get(paid_signup.account_id).status == "active"
    assert sent == [] and {r.outcome for r in results} == {"retry"} and len(results) == 4
    message = OutboxModel.get(f"payment_approved:{payment_id}:user")
    assert (message.status, message.queue, message.attempts) == ("pending", store.spread("pending", message.message_id), 1)
    assert message.next_attempt_at > stamp(start)
    assert message.last_error.startswith("Throttling")
    # And once SES works again, a later drain sends each email once
    monkeypatch.undo()
    assert drain_new(sent, start) == []  # not due yet: backing off
    later = drain_new(sent, start + timedelta(minutes=2))
    assert len(later) == 4 and sum("approved" in e.subject for e in later) == 1
    assert drain_new(sent, start + timedelta(days=1)) == []
    message = OutboxModel.get(f"payment_approved:{payment_id}:user")
    assert (message.status, message.queue, message.attempts) == ("sent", None, 2)


def test_after_max_attempts_an_email_is_parked_and_admins_see_it(api, sent, paid_signup, failing_ses):
    [message_id] = messages()
    start = now()
    waits = []
    for attempt in range(1, 6):
        at = start + timedelta(days=attempt)
        assert [r.outcome for r in delivery.drain(at)] == ["retry" if attempt < 5 else "parked"]
        waits.append(OutboxModel.get(message_id).next_attempt_at)
        waits[-1] = (waits[-1], stamp(at))
    assert len(failing_ses) == 5
    # Each retry waits longer: 1, 4, 16, 64 minutes after the failure
    assert [retry_at for retry_at, _ in waits[:4]] == [
        stamp(start + timedelta(days=n, minutes=m)) for n, m in ((1, 1), (2, 4), (3, 16), (4, 64))]
    message = OutboxModel.get(message_id)
    assert (message.status, message.queue, message.parked, message.attempts) == ("failed", None, "failed", 5)
    assert delivery.drain(start + timedelta(days=30)) == []  # parked: never tried again
    assert sent == []
    # The admins see it with its attempts and last error
    admin = api.admin_token()
    reply = api.get("/api/v1/billing/admin/notifications?status=failed", token=admin)
    assert reply.status == 200
    [item] = reply.body["items"]
    assert reply.body["next_cursor"] is None
    assert item["id"] == message_id and item["recipient"] == paid_signup.email
    assert (item["status"], item["attempts"], item["template"]) == ("failed", 5, "signup_invoice")
    assert item["last_error"].startswith("Throttling")
    assert api.get("/api/v1/billing/admin/notifications", token=paid_signup.token).status == 403
    assert api.get("/api/v1/billing/admin/notifications?status=sent", token=admin).status == 400


def test_backoff_grows_fourfold_and_is_capped():
    assert [outbox.backoff(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 240, 960, 3840]
    assert outbox.backoff(20, 60) == outbox.MAX_BACKOFF


def test_parked_emails_page_with_a_cursor(api, sent, failing_ses):
    for n in range(3):
        api.register(f"user{n}@example.com")
    for day in range(1, 6):
        delivery.drain(now() + timedelta(days=day))
    admin = api.admin_token()
    first = api.get("/api/v1/billing/admin/notifications?status=failed&limit=2", token=admin).body
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.get(f"/api/v1/billing/admin/notifications?limit=2&cursor={first['next_cursor']}",
                   token=admin).body
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert len({i["id"] for i in first["items"] + rest["items"]}) == 3


# Content --------------------------------------------------------------------------------------

def test_html_escapes_what_users_typed_and_text_keeps_it(api, sent):
    reply = api.register("ayesha@khan.pk", plan="starter", payment_method="bank_transfer",
                         account_name="Khan <script>alert(1)</script> Media")
    assert reply.status == 201, reply.body
    token, invoice_id = reply.body["access_token"], reply.body["invoice"]["id"]
    api.confirm(token, invoice_id, manual_notes='<img src=x onerror="steal()"> & more')
    emails = drain_new(sent)
    assert len(emails) == 3
    for sent_email in emails:
        assert "<script>" not in sent_email.html and "<img" not in sent_email.html
    signup, *payment_emails = sorted(emails, key=lambda e: "Invoice" not in e.subject)
    assert "Khan &lt;script&gt;alert(1)&lt;/script&gt; Media" in signup.html
    assert "Khan <script>alert(1)</script> Media" in signup.text
    for sent_email in payment_emails:
        assert "&lt;img src=x onerror=&#34;steal()&#34;&gt; &amp; more" in sent_email.html
        assert '<img src=x onerror="steal()"> & more' in sent_email.text


def test_sender_admin_address_and_web_app_url_come_from_configuration(api, sent, paid_signup, monkeypatch):
    from chalicelib.core.config import reset_settings

    monkeypatch.setenv("MAIL_FROM", "payments@billing.example")
    monkeypatch.setenv("ADMIN_NOTIFY_EMAIL", "finance@billing.example")
    monkeypatch.setenv("WEB_APP_URL", "https://app.billing.example/")
    reset_settings()
    try:
        delivery.ses_client().verify_email_identity(EmailAddress="payments@billing.example")
        payment_id = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
        emails = drain_new(sent)
    finally:
        monkeypatch.undo()
        reset_settings()
    assert {e.source for e in emails} == {"payments@billing.example"}
    request = next(e for e in emails if e.to == ["finance@billing.example"])
    assert f"https://app.billing.example/admin/payments/{payment_id}" in request.text


def test_every_template_has_a_text_and_an_html_part():
    from chalicelib.notifications.lifecycle_messages import ALL_TEMPLATES

    for name in ALL_TEMPLATES:
        assert (queued.TEMPLATES_DIR / f"{name}.txt").is_file(), name
        assert (queued.TEMPLATES_DIR / f"{name}.html").is_file(), name


def test_import_app_loads_neither_jinja2_nor_an_ses_client():
    import subprocess

    code = "import app, sys; print('jinja2' in sys.modules, 'boto3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "False"]


# AWS entry points and the dev mailbox ---------------------------------------------------------

def _app_with_stream(monkeypatch: pytest.MonkeyPatch, arn: str) -> Any:
    """A second copy of app.py imported with OUTBOX_STREAM_ARN set (as when deployed)."""
    monkeypatch.setenv("OUTBOX_STREAM_ARN", arn)
    spec = importlib.util.spec_from_file_location("app_with_outbox_stream", PROJECT_DIR / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def _stream_records(arn: str, message_ids: list[str], event_name: str = "INSERT") -> list[dict[str, Any]]:
    """Records as Lambda receives them from the outbox table's stream (KEYS_ONLY view)."""
    return [{"eventID": str(n), "eventName": event_name, "eventVersion": "1.1",
             "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "eventSourceARN": arn,
             "dynamodb": {"ApproximateCreationDateTime": now().timestamp(),
                          "Keys": {"message_id": {"S": message_id}}, "SequenceNumber": str(100 + n),
                          "SizeBytes": 60, "StreamViewType": "KEYS_ONLY"}}
            for n, message_id in enumerate(message_ids)]


def test_the_stream_handler_delivers_the_inserted_emails(api, sent, paid_signup, monkeypatch):
    # Given the outbox table has a stream, and a confirmation queued two more emails
    arn = boto3.client("dynamodb", region_name="us-east-1").describe_table(
        TableName=OutboxModel.Meta.table_name)["Table"]["LatestStreamArn"]
    api.confirm(paid_signup.token, paid_signup.invoice_id)
    inserted = sorted(messages())
    # When the app is deployed with OUTBOX_STREAM_ARN and Lambda hands it the stream's records
    app = _app_with_stream(monkeypatch, arn)
    assert [s.stream_arn for s in app.event_sources if hasattr(s, "stream_arn")] == [arn]
    with local_client(app) as client:
        client.lambda_.invoke("deliver_new_emails", {"Records": _stream_records(arn, inserted)})
        # Then each email is sent once, even when the stream delivers the batch again
        client.lambda_.invoke("deliver_new_emails", {"Records": _stream_records(arn, inserted)})
        # (and the MODIFY records of its own updates are ignored)
        client.lambda_.invoke("deliver_new_emails",
                              {"Records": _stream_records(arn, inserted, event_name="MODIFY")})
    assert sorted(e.to[0] for e in sent) == sorted([paid_signup.email, paid_signup.email, ADMINS])
    assert {m.status for m in messages().values()} == {"sent"}


def test_without_a_stream_arn_no_stream_handler_is_registered():
    import app as app_module

    assert not [s for s in app_module.app.event_sources if hasattr(s, "stream_arn")]


def test_the_scheduled_drain_sends_what_is_due(api, sent, paid_signup):
    import app as app_module

    with local_client(app_module.app) as client:
        client.lambda_.invoke("drain_outbox", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert [e.to for e in sent] == [[paid_signup.email]]


def test_the_dev_worker_keeps_each_sent_email_as_an_eml_file(api, sent, paid_signup, tmp_path):
    lines: list[str] = []
    worker = MailWorker(tmp_path / "mailbox", say=lines.append)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    [path] = (tmp_path / "mailbox").iterdir()
    assert path.suffix == ".eml" and "signup_invoice" in path.name
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == paid_signup.email and message["From"] == MAIL_FROM
    assert message["Subject"] == sent[0].subject
    assert message.get_body(("plain",)).get_content().strip() == sent[0].text.strip()
    assert "<html" in message.get_body(("html",)).get_content()
    assert lines == [f"Mail:     to {paid_signup.email} | {sent[0].subject} | {path}"]


def test_requests_never_call_ses_and_queue_in_their_own_transaction(api, sent, paid_signup, ddb_calls):
    # confirm = read invoice, read methods, one transaction: the outbox adds no round trip
    ddb_calls.clear()
    assert api.confirm(paid_signup.token, paid_signup.invoice_id).status == 201
    assert ddb_calls == ["GetItem", "BatchGetItem", "Query", "TransactWriteItems"]
    assert sent == []
