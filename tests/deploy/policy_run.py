"""A run through everything the deployed functions do, against moto, recording each AWS call
with the function that made it (tests/deploy/test_policy.py compares them with the policies).

The API: every route's happy path and the error paths that reach AWS. The event functions, each as
in a container of its own (the token secret read afresh): the stream handler and the schedule's
email drain on the outbox, the billing jobs on the days their reminders, voids and renewals are
due, and the webhook delivery to a receiver on 127.0.0.1.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.billing import proofs
from chalicelib.core import clock, secrets
from chalicelib.core.config import get_settings
from chalicelib.notifications import delivery
from chalicelib.storage.models.platform import OutboxModel
from tests.conftest import PASSWORD, PROJECT_DIR, Api, local_client
from tests.helpers import environment
from tests.webhooks.receiver import Receiver

API = "api_handler"
# A transaction is authorized item by item (it has no IAM action of its own).
_TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem"}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    function: str = API

    def actions(self) -> set[str]:
        """The IAM actions this call needs."""
        if self.operation == "TransactWriteItems":
            return {f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}"
                    for item in self.params["TransactItems"] for kind in item}
        if self.operation == "TransactGetItems":
            return {"dynamodb:GetItem"}
        if self.operation == "HeadObject":  # authorized as s3:GetObject
            return {"s3:GetObject"}
        if self.operation == "CopyObject":  # reads the source, writes the copy
            return {"s3:GetObject", "s3:PutObject"}
        return {f"{self.service}:{self.operation}"}

    def tables(self) -> set[str]:
        names = set(self.params.get("RequestItems", {}))
        if "TableName" in self.params:
            names.add(self.params["TableName"])
        for item in self.params.get("TransactItems", []):
            names.update(part["TableName"] for part in item.values())
        return names


class Calls(list):  # type: ignore[type-arg]
    """Recorded calls; `paused()` leaves out the test's own look-ups."""

    recording = True
    function = API

    @contextmanager
    def of(self, function: str) -> Iterator[None]:
        """Attribute the block's calls to `function`, run as in a fresh container of its own."""
        secrets.read_parameter.cache_clear()
        before, self.function = self.function, function
        try:
            yield
        finally:
            self.function = before
            secrets.read_parameter.cache_clear()

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        if self.recording:
            self.append(Call(service, operation, dict(params), self.function))

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.recording = False
        try:
            yield
        finally:
            self.recording = True


def _signed(calls: Calls, reply: Any, operation: str, prefix: str = "proofs/") -> Any:
    """A URL or form the API signed lets its holder make `operation` with the API's role: record
    it as a call of the API (signing itself makes no request)."""
    calls.append(Call("s3", operation, {"Key": prefix}, calls.function))
    return reply


def _upload(calls: Calls, api: Api, token: str, payment_id: str, data: bytes) -> Any:
    """Attach a proof: the form (a signed PutObject), the browser's upload, the check."""
    form = _signed(calls, api.post(f"/api/v1/billing/payments/{payment_id}/proof",
                                   {"content_type": "image/png"}, token=token), "PutObject")
    with calls.paused():  # the browser's upload, not the API's
        proofs.s3_client().put_object(Bucket=get_settings().proof_bucket,
                                      Key=form.body["upload"]["fields"]["key"], Body=data,
                                      ContentType="image/png")
    return api.post(f"/api/v1/billing/payments/{payment_id}/proof/complete", token=token)


def every_route(api: Api, calls: Calls, receiver: Receiver, failing: Receiver) -> list[int]:
    """Each route on its happy path and the error paths that reach DynamoDB; the statuses. Two
    webhook endpoints want every event: `receiver`, and `failing`, which answers 500."""
    hooks = [api.post("/api/v1/billing/admin/webhooks", {"url": r.url, "events": ["*"]},
                      token=api.admin_token()) for r in (receiver, failing)]
    failing.statuses = [500] * 1000
    signup = api.register("policy@example.com", plan="growth", payment_method="jazzcash")
    token, invoice_id = signup.body["access_token"], signup.body["invoice"]["id"]
    payment = api.confirm(token, invoice_id, amount="249.00", method="jazzcash").body
    admin = api.admin_token()
    waiting = api.register("waiting@example.com", plan="growth", payment_method="jazzcash").body
    replies = [
        *hooks, signup,
        api.confirm(waiting["access_token"], waiting["invoice"]["id"], amount="249.00",
                    method="jazzcash"),  # left pending: the jobs alert an overdue review
        api.get("/api/v1/billing/plans"),
        api.get("/api/v1/billing/admin/payment-methods"),
        api.get("/api/v1/billing/admin/payment-methods/?country=PK"),
        api.register("free-policy@example.com"),
        api.register("policy@example.com"),  # 409 duplicate
        api.post("/api/v1/auth/login", {"email": "policy@example.com", "password": "wrong password"}),
        api.get("/api/v1/auth/me", token=token),
        api.get("/api/v1/billing/invoices?limit=1", token=token),
        api.get(f"/api/v1/billing/invoices/{invoice_id}", token=token),
        api.get("/api/v1/billing/payments", token=token),
        api.confirm(token, invoice_id, amount="249.00", method="jazzcash"),  # 409 already pending
        api.get("/api/v1/billing/admin/payments?status=pending_approval", token=admin),
        api.get(f"/api/v1/billing/admin/payments/{payment['id']}", token=admin),
        api.get("/api/v1/billing/admin/status", token=admin),
        api.get("/api/v1/billing/admin/notifications?status=failed", token=admin),
        api.reject(admin, payment["id"]),
        # 422 with an Idempotency-Key: the key is claimed, then released
        api.post("/api/v1/billing/admin/payments/confirm", {
            "invoice_id": invoice_id, "payment_method": "jazzcash", "amount": "1.00",
            "manual_reference": "JC-KEY"}, token=token, headers={"idempotency-key": "policy-key"}),
        api.confirm(token, invoice_id, amount="249.00", method="jazzcash", reference="JC-2"),
    ]
    second = replies[-1].body["id"]
    refused = _upload(calls, api, token, second, b"not an image")  # 422: checked and deleted
    attached = _upload(calls, api, token, second, b"\x89PNG\r\n\x1a\n" + b"\0" * 8)  # copied
    assert (refused.status, attached.status) == (422, 200), attached.body
    replies += [refused, attached,
                _signed(calls, api.get(f"/api/v1/billing/admin/payments/{second}", token=admin),
                        "GetObject")]
    key = {"idempotency-key": "policy-approve"}
    replies += [api.post(f"/api/v1/billing/admin/payments/{second}/approve", {}, token=admin,
                         headers=key),
                api.post(f"/api/v1/billing/admin/payments/{second}/approve", {}, token=admin,
                         headers=key),  # replayed
                api.approve(admin, second),  # 409 already decided
                api.get("/api/v1/openapi.json")]
    replies += _reports(api, calls, admin)
    replies += _session_routes(api, calls, signup.body)
    return [reply.status for reply in replies]


def _reports(api: Api, calls: Calls, admin: str) -> list[Any]:
    """The aging report, an export as a file, a large one to S3 (a signed link), a bad range."""
    today = datetime.now(timezone.utc).date().isoformat()
    exports = "/api/v1/billing/admin/exports"
    replies = [api.get("/api/v1/billing/admin/reports/aging", token=admin),
               api.get(f"{exports}/invoices.csv?from={today}&to={today}", token=admin),
               api.get(f"{exports}/ledger.csv?from={today}&to=2020-01-01", token=admin)]  # 422
    with environment(EXPORT_INLINE_MAX_BYTES="10"):
        link = api.get(f"{exports}/payments.csv?from={today}&to={today}", token=admin)
    assert "url" in link.body, link.body
    return [*replies, _signed(calls, link, "GetObject", "exports/")]


def _session_routes(api: Api, calls: Calls, signup: dict[str, Any]) -> list[Any]:
    """Refresh (and a reuse), password change, reset by its link, verification, resend, logout."""
    refresh = {"refresh_token": signup["refresh_token"]}
    replies = [api.post("/api/v1/auth/refresh", refresh),
               api.post("/api/v1/auth/refresh", refresh),  # 401: used, so its session is revoked
               api.post("/api/v1/auth/password-reset", {"email": "policy@example.com"}),
               api.post("/api/v1/auth/password-reset", {"email": "nobody@example.com"})]
    changed = api.post("/api/v1/auth/password", {"current_password": PASSWORD,
                                                 "new_password": "a new passphrase"},
                       token=signup["access_token"])
    replies += [changed, api.post("/api/v1/auth/verify-email/resend",
                                  token=changed.body["access_token"])]
    with calls.paused():
        links = sorted((m.created_at, m.message_id) for m in OutboxModel.scan()
                       if m.template in ("verify_email", "password_reset"))
    with calls.of("deliver_new_emails"):  # what the stream handler does with them
        sent = [d.email for d in delivery.deliver_many([message_id for _, message_id in links])]
    tokens = {(email.template, email.recipient): email.text.split("?token=", 1)[1].split()[0]
              for email in sent if email is not None}
    for (template, _), token in sorted(tokens.items()):
        if template == "verify_email":
            replies.append(api.post("/api/v1/auth/verify-email", {"token": token}))
    replies += [api.post("/api/v1/auth/password-reset/complete", {
        "token": tokens[("password_reset", "policy@example.com")], "password": PASSWORD}),
        api.post("/api/v1/auth/logout", {"refresh_token": changed.body["refresh_token"]}),
        api.register("late@example.com")]  # its verification link: the drain's to mint
    return replies


def _app_with_stream(patch: pytest.MonkeyPatch, arn: str) -> Any:
    """A second copy of app.py, imported with OUTBOX_STREAM_ARN set as the template sets it."""
    patch.setenv("OUTBOX_STREAM_ARN", arn)
    spec = importlib.util.spec_from_file_location("app_as_deployed", PROJECT_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def _inserted(arn: str, message_ids: list[str]) -> dict[str, Any]:
    """A stream batch as Lambda hands it over: the outbox's new items (keys only)."""
    return {"Records": [{"eventID": str(n), "eventName": "INSERT", "eventVersion": "1.1",
                         "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                         "eventSourceARN": arn,
                         "dynamodb": {"ApproximateCreationDateTime": 1.8e9,
                                      "Keys": {"message_id": {"S": message_id}},
                                      "SequenceNumber": str(100 + n), "SizeBytes": 60,
                                      "StreamViewType": "KEYS_ONLY"}}
                        for n, message_id in enumerate(message_ids)]}


def _scheduled(client: Client, calls: Calls, name: str) -> None:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                            detail={}, resources=[])
    with calls.of(name):
        client.lambda_.invoke(name, event)


# The billing jobs' days: now, the reminder before the due date, the void after the grace period,
# a renewal a month on.
JOB_DAYS = (0, 6, 15, 32)
# The webhook delivery's: now, and once the failing endpoint has failed for 3 days (disabled).
WEBHOOK_DAYS = (0, 4)


def run_functions(calls: Calls) -> None:
    """The stream handler sends part of the outbox; the billing jobs run on each of JOB_DAYS and
    the webhook delivery on each of WEBHOOK_DAYS; then the drain sends every email left."""
    with calls.paused():
        arn = boto3.client("dynamodb", region_name="us-east-1").describe_table(
            TableName=OutboxModel.Meta.table_name)["Table"]["LatestStreamArn"]
        pending = sorted(m.message_id for m in OutboxModel.scan())
    with pytest.MonkeyPatch.context() as patch:
        app = _app_with_stream(patch, arn)
        with local_client(app) as client:
            with calls.of("deliver_new_emails"):
                client.lambda_.invoke("deliver_new_emails", _inserted(arn, pending[:2]))
            today = datetime.now(timezone.utc)
            for days in JOB_DAYS:
                with clock.travel(today + timedelta(days=days)):
                    _scheduled(client, calls, "billing_jobs")
            for days in WEBHOOK_DAYS:
                with clock.travel(today + timedelta(days=days)):
                    _scheduled(client, calls, "deliver_webhooks")
            with clock.travel(today + timedelta(days=JOB_DAYS[-1])):
                _scheduled(client, calls, "drain_outbox")
