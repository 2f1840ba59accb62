"""Least privilege: the functions' IAM policy grants exactly what the code calls, on this stage's
resources only.

One test runs every route (happy and error paths), the scheduled drain, the outbox stream handler
and the prod token secret read against moto, recording every AWS call; the actions those calls
need must be the policy's, no more and no fewer.
"""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.billing import proofs
from chalicelib.core.config import get_settings
from chalicelib.notifications import delivery
from chalicelib.storage import models
from chalicelib.storage.models.platform import OutboxModel
from deploy import policy, tables
from deploy.stage import Stage, stage_names
from tests.conftest import PASSWORD, PROJECT_DIR, Api, aws_spy
from tests.helpers import environment

# A transaction is authorized item by item (it has no IAM action of its own).
_TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem"}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]

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

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.recording = False
        try:
            yield
        finally:
            self.recording = True


@pytest.fixture
def aws_calls() -> Iterator[Calls]:
    """Every AWS call the code makes while the fixture is active, with its parameters."""
    calls = Calls()

    def record(service: str, operation_name: str, api_params: dict[str, Any]) -> None:
        if calls.recording:
            calls.append(Call(service, operation_name, dict(api_params)))

    with aws_spy(record):
        yield calls


def _signed(calls: Calls, reply: Any, operation: str) -> Any:
    """A URL or form the API signed lets its holder make `operation` with the API's role: record
    it as a call of the API (signing itself makes no request)."""
    calls.append(Call("s3", operation, {}))
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


def _every_route(api: Api, calls: Calls) -> list[int]:
    """Each route on its happy path and the error paths that reach DynamoDB; the statuses."""
    signup = api.register("policy@example.com", plan="growth", payment_method="jazzcash")
    token, invoice_id = signup.body["access_token"], signup.body["invoice"]["id"]
    payment = api.confirm(token, invoice_id, amount="249.00", method="jazzcash").body
    admin = api.admin_token()
    replies = [
        signup,
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
    return [*replies, _signed(calls, link, "GetObject")]


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
    sent = [d.email for d in delivery.deliver_many([message_id for _, message_id in links])]
    tokens = {(email.template, email.recipient): email.text.split("?token=", 1)[1].split()[0]
              for email in sent if email is not None}
    for (template, _), token in sorted(tokens.items()):
        if template == "verify_email":
            replies.append(api.post("/api/v1/auth/verify-email", {"token": token}))
    replies += [api.post("/api/v1/auth/password-reset/complete", {
        "token": tokens[("password_reset", "policy@example.com")], "password": PASSWORD}),
        api.post("/api/v1/auth/logout", {"refresh_token": changed.body["refresh_token"]})]
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


def _deliver_emails(calls: Calls) -> None:
    """The stream handler (as deployed) sends part of the outbox; the schedule drains the rest."""
    with calls.paused():
        arn = boto3.client("dynamodb", region_name="us-east-1").describe_table(
            TableName=OutboxModel.Meta.table_name)["Table"]["LatestStreamArn"]
        pending = sorted(m.message_id for m in OutboxModel.scan())
    with pytest.MonkeyPatch.context() as patch:
        app = _app_with_stream(patch, arn)
        with Client(app, project_dir=str(PROJECT_DIR)) as client:
            client.lambda_.invoke("deliver_new_emails", _inserted(arn, pending[:2]))
            scheduled = client.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
            client.lambda_.invoke("billing_jobs", scheduled)
            client.lambda_.invoke("drain_outbox", scheduled)


@pytest.mark.parametrize("stage_name", stage_names())
def test_the_policy_grants_exactly_the_actions_the_code_calls(
        api: Api, aws_calls: Calls, stage_name: str) -> None:
    # Given a store with the catalog and an admin, SES with the stage's sender verified, and the
    # token secret as the stage keeps it (a SecureString parameter, or a plain variable)
    stage = Stage(stage_name)
    delivery.ses_client().verify_email_identity(EmailAddress=stage.mail_from)
    secret = {"JWT_SECRET_PARAMETER": stage.jwt_secret_parameter, "MAIL_FROM": stage.mail_from}
    if stage.jwt_secret_parameter:
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=stage.jwt_secret_parameter, Value="p" * 48, Type="SecureString", Overwrite=True)
        secret["JWT_SECRET"] = None
    aws_calls.clear()
    # When every route runs, then email delivery by the stream handler and the schedule
    with environment(**secret):
        statuses = _every_route(api, aws_calls)
        _deliver_emails(aws_calls)
    # Then the run did what it should (so the calls it recorded are the real ones)
    assert set(statuses) == {200, 201, 202, 204, 401, 409, 422}, statuses
    with aws_calls.paused():
        assert {m.status for m in OutboxModel.scan()} == {"sent"}
    assert "Scan" not in {call.operation for call in aws_calls}
    # And the policy's actions are exactly those the calls need
    called = sorted({action for call in aws_calls for action in call.actions()})
    document = policy.policy_document(stage)
    granted = sorted({action for statement in document["Statement"]
                      for action in statement["Action"]
                      if statement["Sid"] in ("Tables", "Email", "TokenSecret", "Proofs", "Exports")})
    assert called == granted
    # And every call is on a granted resource: the stage's tables and indexes, its sender
    table_arns = next(s["Resource"] for s in document["Statement"] if s["Sid"] == "Tables")
    local_prefix = models.UserModel.Meta.table_name[:-len("users")]  # the tests' table prefix
    for call in aws_calls:
        for name in call.tables():
            deployed = stage.table_name(name[len(local_prefix):])
            assert f"arn:aws:dynamodb:*:*:table/{deployed}" in table_arns, call
            if "IndexName" in call.params:
                assert f"arn:aws:dynamodb:*:*:table/{deployed}/index/*" in table_arns, call
        if call.operation == "SendEmail":
            assert call.params["Source"] == stage.mail_from
        if call.operation == "GetParameter":
            assert call.params["Name"] == stage.jwt_secret_parameter
        if call.service == "s3" and "Key" in call.params:  # the granted prefixes
            assert call.params["Key"].startswith(("proofs/", "exports/")), call


def test_the_policy_files_are_what_the_code_generates() -> None:
    stale = policy.stale_policies()
    assert not stale, f"out of date (run make policies): {[p.name for p in stale]}"


@pytest.mark.parametrize("stage_name", stage_names())
def test_each_stage_uses_its_own_policy_file_on_its_own_resources(stage_name: str) -> None:
    stage = Stage(stage_name)
    assert stage.config.autogen_policy is False
    assert policy.policy_path(stage).name == f"policy-{stage_name}.json"
    document = json.loads(policy.policy_path(stage).read_text())
    text = json.dumps(document)
    others = [name for name in stage_names() if name != stage_name]
    assert all(f"billing-{other}" not in text for other in others)
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert all("*" not in arn.split("table/")[1].split("/")[0]
               for arn in statements["Tables"]["Resource"])  # exact table names, no wildcards
    assert len([arn for arn in statements["Tables"]["Resource"] if "/index/" not in arn]) == len(
        models.ALL_MODELS)
    streams = [tables.entity(m) for m in models.ALL_MODELS if tables.stream_view_type(m)]
    assert statements["Streams"]["Resource"] == [
        f"arn:aws:dynamodb:*:*:table/{stage.table_name(e)}/stream/*" for e in streams]
    assert statements["Streams"]["Action"] == [f"dynamodb:{a}" for a in policy.STREAM_ACTIONS]
    if stage.jwt_secret_parameter:
        assert statements["TokenSecret"]["Resource"].endswith(f":parameter{stage.jwt_secret_parameter}")
    else:
        assert "TokenSecret" not in statements
    assert all(arn.startswith(f"arn:aws:logs:*:*:log-group:/aws/lambda/billing-{stage_name}")
               for arn in statements["Logs"]["Resource"])
