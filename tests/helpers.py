"""Helpers for the HTTP and workflow tests: the error shape, store snapshots and look-ups.

(The store itself, one moto per module restored for each test, is conftest's `aws`.)

`competing_commit` makes a race deterministic: a competing change commits between a request's
reads and its commit.
"""
from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from chalicelib.core.config import Settings, get_settings, reset_settings
from chalicelib.core.errors import Invalid
from chalicelib.core.secrets import read_parameter
from chalicelib.statements.model import Line
from chalicelib.statements.parse import parse as parse_statement
from chalicelib.storage import models, store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel
from chalicelib.storage.models.records import AuditEventModel, CreditLedgerModel
from ops import integrity
from tests.conftest import BILLING_PK, PASSWORD, Reply, http, stored_items

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
AMOUNT = re.compile(r"^\d+\.\d{2}$")
INVOICE_NUMBER = re.compile(r"^INV-\d{4}-\d{6}$")


# Response shape -----------------------------------------------------------------------------

def assert_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """The reply is `status` with exactly {"error": {"code", "message", "details"}}; returns the error."""
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    body = reply.body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]), error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert isinstance(error["details"], dict), error
    text = json.dumps(body)
    assert "Traceback" not in text and "botocore" not in text and "Exception" not in text, text
    if code is not None:
        assert error["code"] == code, error
    return error


def error_fields(reply: Reply) -> set[str]:
    """The names of the fields an error's details blame."""
    return set(reply.body["error"]["details"].get("fields", {}))


def assert_no_floats(value: Any, path: str = "$") -> None:
    """No float anywhere in a JSON document (money is a string, counts are ints)."""
    assert not isinstance(value, float), f"float at {path}: {value!r}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_floats(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_floats(item, f"{path}[{index}]")


# Store state --------------------------------------------------------------------------------

def store_snapshot() -> dict[str, list[str]]:
    """Every item of every table, as stored, serialized so that two snapshots compare exactly."""
    return {model.Meta.table_name: sorted(json.dumps(raw, sort_keys=True, default=str)
                                          for raw in stored_items(model))
            for model in models.ALL_MODELS}


_SNAPSHOT_FIELDS = {
    "accounts": models.AccountModel, "subscriptions": models.SubscriptionModel,
    "invoices": models.InvoiceModel, "payments": models.PaymentModel,
    "ledger": models.CreditLedgerModel, "audit": models.AuditEventModel,
    "counters": models.CounterModel, "plans": models.PlanModel,
    "methods": models.PaymentMethodModel, "money": models.MoneyLedgerModel,
    "lines": models.StatementLineModel, "users": models.UserModel,
    "reports": models.ReportAggregateModel,
}


def stored_snapshot() -> integrity.Snapshot:
    """What `integrity.load_snapshot()` scans, read from moto's tables (the same items, without
    the cost of a Scan): for the state machines, which check the store after every step."""
    return integrity.Snapshot(**{name: [model.from_raw_data(raw) for raw in stored_items(model)]
                                 for name, model in _SNAPSHOT_FIELDS.items()})


@contextmanager
def store_unchanged() -> Iterator[None]:
    """Assert that the block leaves every table exactly as it was (but the sessions that logins
    inside it start)."""
    before = store_snapshot()
    yield
    after = store_snapshot()
    sessions = models.SessionModel.Meta.table_name
    changed = {table for table in before if before[table] != after[table] and table != sessions}
    assert not changed, f"tables changed: {sorted(changed)}"


def payments_of(invoice_id: str) -> list[PaymentModel]:
    """The invoice's payments, oldest first."""
    return list(PaymentModel.by_invoice.query(invoice_id))


def ledger_of(account_id: str) -> list[CreditLedgerModel]:
    return list(CreditLedgerModel.query(account_id))


def audit_of(entity_id: str) -> list[tuple[str, str | None, str, str]]:
    """An entity's audit trail as (action, from_status, to_status, actor), oldest first."""
    return [(e.action, e.from_status, e.to_status, e.actor) for e in AuditEventModel.query(entity_id)]


def invoice(invoice_id: str) -> InvoiceModel:
    return InvoiceModel.get(invoice_id, consistent_read=True)


def account(account_id: str) -> AccountModel:
    return AccountModel.get(account_id, consistent_read=True)


# Races made deterministic -------------------------------------------------------------------

@dataclass
class Race:
    """What `competing_commit` did: whether the competitor ran, and what it returned."""

    ran: bool = False
    result: Any = None


def labels(tx: store.Tx) -> list[str]:
    """The labels of a transaction's items (what `competing_commit`'s `when` can look at)."""
    return [label for group in tx._labels.values() for label in group] + [
        label for update in tx._updates.values() for label in update.labels]


@contextmanager
def competing_commit(competitor: Callable[[], Any],
                     when: Callable[[store.Tx], bool] = lambda tx: True) -> Iterator[Race]:
    """Within the block, the first transaction that `when` accepts first lets `competitor` run to
    its end, then commits: a competing request or job that committed between this one's reads and
    its commit. The competitor runs in a thread of its own (a fresh context, as another request's),
    and its own transactions commit unhindered. Fails if the competitor never ran."""
    race = Race()
    original = store.Tx.commit

    def commit(tx: store.Tx, response: Any = None) -> None:
        if not race.ran and when(tx):
            race.ran = True
            race.result = _in_another_thread(competitor)
        return original(tx, response)

    store.Tx.commit = commit  # type: ignore[method-assign]
    try:
        yield race
    finally:
        store.Tx.commit = original  # type: ignore[method-assign]
    assert race.ran, "the competing change never ran: no transaction was committed"


def _in_another_thread(call: Callable[[], Any]) -> Any:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


# Builders shared by the test modules ------------------------------------------------------------

def confirm_body(invoice_id: str, *, amount: str = "89.00", method: str = "bank_transfer",
                 reference: str = "BT-2025-001", **extra: Any) -> dict[str, Any]:
    """The body of a payment confirmation (the seed card's transfer unless told otherwise)."""
    return {"invoice_id": invoice_id, "payment_method": method, "amount": amount,
            "manual_reference": reference, **extra}


@contextmanager
def environment(**values: str | None) -> Iterator[Settings]:
    """Settings read with these variables set (None: unset); everything restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()
        read_parameter.cache_clear()
        yield get_settings()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()
        read_parameter.cache_clear()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

def multipart(fields: dict[str, str], data: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart/form-data body for a presigned POST: (body, content type)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {fields['Content-Type']}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# The live stack (real HTTP) --------------------------------------------------------------------

def live_token(base: str, email: str, password: str = PASSWORD) -> str:
    """Log in on a live stack; the access token."""
    reply = http("POST", f"{base}/api/v1/auth/login/", {"email": email, "password": password})
    assert reply.status == 200, reply.body
    return reply.body["access_token"]


def live_paid_signup(base: str) -> tuple[str, str, str]:
    """A paid signup with its payment confirmed on a live stack: (token, account id, payment id)."""
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


def live_ledger(endpoint: str, account_id: str) -> list[dict]:
    """An account's credit-ledger items, read straight from a live stack's DynamoDB."""
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    return client.query(TableName="billing-dev-credit_ledger",
                        KeyConditionExpression="account_id = :a",
                        ExpressionAttributeValues={":a": {"S": account_id}})["Items"]



# Emails -------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def verified_addresses() -> Iterator[None]:
    """Every address counts as verified (for the modules that import it), and signups send no verification email: these
    tests are of the other emails and of delivery itself (verification and the emails held
    until it: test_verification.py)."""
    from chalicelib.notifications import holding
    from chalicelib.notifications import messages as queueing

    with pytest.MonkeyPatch.context() as patch:  # its own: a test's monkeypatch.undo() keeps it
        patch.setattr(holding, "is_verified", lambda address: True)
        patch.setattr(queueing, "queue_verification", lambda tx, **_: None)
        yield


# Bank statements --------------------------------------------------------------------------------

def statement_lines(name: str, data: bytes, format: str) -> list[Line]:
    """The lines of a statement file, checked to be read as `format`."""
    result = parse_statement(name, data)
    assert result.format == format, result.format
    return result.lines


def statement_refused(name: str, data: bytes, code: str = "statement_invalid") -> Invalid:
    """The 422 a statement file gets, checked to have `code`."""
    try:
        parse_statement(name, data)
    except Invalid as error:
        assert error.code == code, (error.code, error.message)
        return error
    raise AssertionError(f"{name} was read")


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment, one thread each (a barrier releases them at once)."""
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# Sessions and email verification ---------------------------------------------------------------

def deliver_links(address: str | None = None) -> list[Any]:
    """Deliver the pending verification and reset emails (to `address`, or all); the emails sent."""
    from chalicelib.notifications import delivery
    from chalicelib.notifications.messages import NEVER_HELD
    from chalicelib.storage.models.platform import OutboxModel

    delivery.ses_client().verify_email_identity(EmailAddress=get_settings().mail_from)
    pending = sorted((m.created_at, m.message_id) for m in OutboxModel.scan()
                     if m.template in NEVER_HELD and m.status == "pending"
                     and (address is None or m.recipient == address.lower()))
    done = delivery.deliver_many([message_id for _, message_id in pending])
    return [d.email for d in done if d.outcome == "sent"]


def link_token(email: Any) -> str:
    """The token of the link in an email's text (`...?token=<token>`)."""
    [token] = re.findall(r"\?token=(\S+)", email.text)
    return token


def verify_email(api: Any, address: str) -> Reply:
    """Open the link of the verification email to `address` (delivered now): verified."""
    emails = [e for e in deliver_links(address) if e.template == "verify_email"]
    assert emails, f"no verification email to {address}"
    reply = api.post("/api/v1/auth/verify-email", {"token": link_token(emails[-1])})
    assert reply.status == 200, reply.body
    return reply
