"""Logs and metrics: JSON lines with the request id and actor on every state change, never a
secret; embedded-format metrics for submissions, approvals, rejections and errors."""
from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.admin import status as admin_status
from chalicelib.core import telemetry
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Unavailable
from tests.conftest import PASSWORD, Api, PaidSignup


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """What the app wrote to stdout since the last call, one JSON document per line."""
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def logs(documents: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    return [d for d in documents if d.get("message") == message]


def metrics(documents: list[dict[str, Any]]) -> dict[str, float]:
    """Metric name -> summed value, from the embedded-format documents (checking their shape)."""
    found: dict[str, float] = {}
    for document in documents:
        if "_aws" not in document:
            continue
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == telemetry.NAMESPACE
        assert directive["Dimensions"] == [["Stage"]] and document["Stage"] == get_settings().stage
        assert isinstance(document["_aws"]["Timestamp"], int)
        for metric in directive["Metrics"]:
            assert metric["Unit"] == "Count"
            found[metric["Name"]] = found.get(metric["Name"], 0) + document[metric["Name"]]
    return found


def test_signup_and_login_log_no_password_token_or_secret(api: Api, capsys: Any) -> None:
    capsys.readouterr()
    # When a user signs up for a paid plan, logs in (also with a wrong password) and reads /me
    signup = api.register("logs@example.com", plan="starter", payment_method="bank_transfer")
    token = api.login("logs@example.com")
    wrong = api.post("/api/v1/auth/login", {"email": "logs@example.com", "password": "not the one!"})
    me = api.get("/api/v1/auth/me", token=token)
    assert (signup.status, wrong.status, me.status) == (201, 401, 200)
    out = capsys.readouterr().out
    # Then every line is JSON, and none holds a password, a token, a hash or the secret
    documents = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(logs(documents, "request")) == 4
    for secret in (PASSWORD, "not the one!", token, signup.body["access_token"],
                   get_settings().jwt_secret, "$argon2"):
        assert secret not in out


def test_each_state_change_is_logged_once_committed_with_request_id_and_actor(
        api: Api, paid_signup: PaidSignup, capsys: Any) -> None:
    capsys.readouterr()
    # When the user confirms the payment
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id)
    documents = lines(capsys)
    # Then one state_change line says what changed, who did it, in which request
    [request] = logs(documents, "request")
    [change] = logs(documents, "state_change")
    user_id = api.get("/api/v1/auth/me", token=paid_signup.token).body["user"]["id"]
    assert change["entity_type"] == "payment" and change["entity_id"] == reply.body["id"]
    assert (change["action"], change["from_status"], change["to_status"]) == (
        "submitted", None, "pending_approval")
    assert change["actor"] == user_id and change["request_id"] == request["request_id"]
    assert request["actor"] == user_id
    assert (request["method"], request["status"]) == ("POST", 201)
    assert request["route"] == "/api/v1/billing/admin/payments/confirm"
    assert change["level"] == "INFO" and change["timestamp"].endswith("Z")


def test_payment_metrics_count_submissions_rejections_and_approvals(
        api: Api, paid_signup: PaidSignup, capsys: Any) -> None:
    admin_token = api.admin_token()
    capsys.readouterr()
    # When a payment is confirmed and rejected, then confirmed again and approved (twice)
    first = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert metrics(lines(capsys)) == {"PaymentsSubmitted": 1}
    api.reject(admin_token, first)
    assert metrics(lines(capsys)) == {"PaymentsRejected": 1}
    second = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2").body["id"]
    assert metrics(lines(capsys)) == {"PaymentsSubmitted": 1}
    assert api.approve(admin_token, second).status == 200
    documents = lines(capsys)
    assert metrics(documents) == {"PaymentsApproved": 1}
    [approved] = [d for d in documents if "PaymentsApproved" in d]
    assert approved["entity_id"] == second and approved["request_id"]
    # Then a second approval (409: its transaction is cancelled) logs and counts nothing
    assert api.approve(admin_token, second).status == 409
    documents = lines(capsys)
    assert metrics(documents) == {} and logs(documents, "state_change") == []


def test_server_errors_are_counted_and_logged_with_their_request(
        api: Api, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.admin_token()
    capsys.readouterr()

    def broken() -> None:
        raise RuntimeError("a bug")

    def unavailable() -> None:
        raise Unavailable("The data store is busy or unavailable; retry shortly.", retry_after=2)

    monkeypatch.setattr(admin_status, "system_status", broken)
    assert api.get("/api/v1/billing/admin/status", token=token).status == 500
    monkeypatch.setattr(admin_status, "system_status", unavailable)
    assert api.get("/api/v1/billing/admin/status", token=token).status == 503
    assert api.get("/api/v1/billing/plans").status == 200
    documents = lines(capsys)
    assert metrics(documents) == {"Errors": 2}
    assert [d["status"] for d in documents if "Errors" in d] == ["500", "503"]
    assert [r["level"] for r in logs(documents, "request")] == ["ERROR", "ERROR", "INFO"]
    # and the unexpected one's traceback is in a JSON line of its own request
    [trace] = [d for d in documents if "RuntimeError: a bug" in d.get("exception", "")]
    assert trace["request_id"] == logs(documents, "request")[0]["request_id"]


def test_keys_that_name_secrets_are_masked_at_any_depth() -> None:
    assert telemetry.redact({"user": {"email": "a@b.co", "password": "x"}, "Authorization": "Bearer",
                             "items": [{"access_token": "t"}], "jwt_secret": "s"}) == {
        "user": {"email": "a@b.co", "password": "[redacted]"}, "Authorization": "[redacted]",
        "items": [{"access_token": "[redacted]"}], "jwt_secret": "[redacted]"}
