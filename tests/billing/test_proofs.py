"""Proof of payment: presigned upload straight to a private bucket, checked after upload, shown to admins."""
from __future__ import annotations

import base64
import json
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from chalicelib.billing import proofs
from chalicelib.core.config import get_settings
from chalicelib.storage.models.billing import PaymentModel
from ops import integrity
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, PASSWORD, Api, LiveStack, PaidSignup, http
from tests.helpers import assert_error, audit_of, store_unchanged
from tests.helpers import PNG, multipart

PDF = b"%PDF-1.7\n" + b"0" * 64


@pytest.fixture
def payment(api: Api, paid_signup: PaidSignup) -> str:
    return api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]


def _start(api: Api, token: str, payment_id: str, content_type: str = "image/png"):
    return api.post(f"/api/v1/billing/payments/{payment_id}/proof", {"content_type": content_type},
                    token=token)


def _complete(api: Api, token: str, payment_id: str):
    return api.post(f"/api/v1/billing/payments/{payment_id}/proof/complete", token=token)


def _put(key: str, data: bytes, content_type: str = "image/png") -> None:
    """What the browser's POST does: the object arrives in the bucket (moto runs in process here)."""
    proofs.s3_client().put_object(Bucket=get_settings().proof_bucket, Key=key, Body=data,
                                  ContentType=content_type)


def _exists(key: str) -> bool:
    listed = proofs.s3_client().list_objects_v2(Bucket=get_settings().proof_bucket, Prefix=key)
    return listed.get("KeyCount", 0) > 0


def test_the_upload_form_pins_key_type_and_size_in_its_policy(
        api: Api, paid_signup: PaidSignup, payment: str) -> None:
    reply = _start(api, paid_signup.token, payment)
    assert reply.status == 201, reply.body
    fields = reply.body["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 5 * 1024 * 1024] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"key": fields["key"]} in conditions and {"bucket": get_settings().proof_bucket} in conditions
    # One key per payment, under the prefix the bucket's lifecycle rule expires
    assert fields["key"] == f"proofs/pending/{paid_signup.account_id}/{payment}"
    assert fields["Content-Type"] == "image/png"
    assert PaymentModel.get(payment).proof_upload_key == fields["key"]
    assert reply.body["max_bytes"] == 5 * 1024 * 1024
    # A second form (another file, another type) signs the same key: it replaces the first upload
    again = _start(api, paid_signup.token, payment, "application/pdf").body["upload"]["fields"]
    policy = json.loads(base64.b64decode(again["policy"]))
    assert again["key"] == fields["key"] and {"key": fields["key"]} in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert PaymentModel.get(payment).proof_upload_key == fields["key"]


def test_a_real_png_is_attached_and_the_admin_gets_a_short_lived_link(
        api: Api, paid_signup: PaidSignup, payment: str) -> None:
    key = _start(api, paid_signup.token, payment).body["upload"]["fields"]["key"]
    _put(key, PNG)
    reply = _complete(api, paid_signup.token, payment)
    assert reply.status == 200, reply.body
    assert reply.body["proof"]["content_type"] == "image/png"
    assert reply.body["proof"]["size"] == len(PNG)
    stored = PaymentModel.get(payment)
    assert (stored.proof_content_type, stored.status) == ("image/png", "pending_approval")
    # Kept under a key of its own, outside the expiring prefix; the upload itself is gone
    assert stored.proof_key.startswith(f"proofs/{paid_signup.account_id}/{payment}/")
    assert stored.proof_key.endswith(".png") and _exists(stored.proof_key) and not _exists(key)
    assert audit_of(payment)[-1][0] == "proof_attached"
    detail = api.get(f"/api/v1/billing/admin/payments/{payment}", token=api.admin_token()).body
    url = detail["proof_url"]
    assert "X-Amz-Expires=300" in url and "X-Amz-Signature=" in url
    assert detail["payment"]["proof"]["size"] == len(PNG)
    checked = integrity.verify()
    assert checked.ok, "\n".join(checked.lines())
    # The user's own list shows that a proof is attached, never a link to it
    mine = api.get("/api/v1/billing/payments", token=paid_signup.token).body["items"][0]
    assert mine["proof"]["content_type"] == "image/png" and "proof_url" not in mine


@pytest.mark.parametrize("declared, data, code", [
    ("image/png", b"GIF89a" + b"\x00" * 20, "proof_invalid_type"),
    ("image/png", b"<html><script>alert(1)</script>", "proof_invalid_type"),
    ("application/pdf", PNG, "proof_invalid_type"),  # a PNG declared as a PDF
    ("image/jpeg", PDF, "proof_invalid_type"),
    ("image/png", PNG + b"\x00" * (5 * 1024 * 1024), "proof_too_large"),
], ids=["gif", "html", "png_as_pdf", "pdf_as_jpeg", "oversized"])
def test_a_file_of_the_wrong_type_or_too_large_is_refused_and_deleted(
        api: Api, paid_signup: PaidSignup, payment: str, declared: str, data: bytes, code: str) -> None:
    key = _start(api, paid_signup.token, payment, declared).body["upload"]["fields"]["key"]
    _put(key, data, declared)
    reply = _complete(api, paid_signup.token, payment)
    assert_error(reply, 422, code)
    assert not _exists(key)
    assert PaymentModel.get(payment).proof_key is None


def test_completing_before_uploading_is_409(api: Api, paid_signup: PaidSignup, payment: str) -> None:
    assert_error(_complete(api, paid_signup.token, payment), 409, "proof_not_uploaded")
    _start(api, paid_signup.token, payment)
    assert_error(_complete(api, paid_signup.token, payment), 409, "proof_not_uploaded")


@pytest.mark.parametrize("content_type", ["image/gif", "text/html", "", "image/png; x=1"])
def test_only_png_jpeg_and_pdf_may_be_uploaded(api: Api, paid_signup: PaidSignup, payment: str,
                                               content_type: str) -> None:
    with store_unchanged():
        assert_error(_start(api, paid_signup.token, payment, content_type), 422, "validation_failed")


def test_another_accounts_payment_and_a_decided_one_take_no_proof(
        api: Api, paid_signup: PaidSignup, payment: str) -> None:
    other = api.register("other@khan.pk").body["access_token"]
    with store_unchanged():
        assert_error(_start(api, other, payment), 404, "payment_not_found")
        assert_error(_complete(api, other, payment), 404, "payment_not_found")
    api.approve(api.admin_token(), payment)
    assert_error(_start(api, paid_signup.token, payment), 409, "payment_not_pending")


def test_a_second_proof_is_refused(api: Api, paid_signup: PaidSignup, payment: str) -> None:
    key = _start(api, paid_signup.token, payment).body["upload"]["fields"]["key"]
    _put(key, PNG)
    assert _complete(api, paid_signup.token, payment).status == 200
    assert_error(_start(api, paid_signup.token, payment), 409, "proof_already_attached")


# S3 faults: 503 in the error shape, nothing attached, and the same request works afterwards ---------
# moto's S3 cannot throttle or go away, so a botocore `before-call` hook on the app's S3 client
# raises what S3 would (as test_faults.py does for DynamoDB).

def s3_throttled(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                        "ResponseMetadata": {"HTTPStatusCode": 503}}, operation)


def s3_unreachable(operation: str) -> Exception:
    return EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")


S3_FAULTS = {"throttled": s3_throttled, "unreachable": s3_unreachable}


@pytest.fixture
def s3_fault() -> Iterator[Callable[[str, Callable[[str], Exception]], Callable[[], None]]]:
    """s3_fault(operation, fault): every call of that S3 operation ("*": of any) fails until the
    returned function is called or the test ends."""
    events = proofs.s3_client().meta.events
    added: list[tuple[str, Any]] = []

    def add(operation: str, fault: Callable[[str], Exception]) -> Callable[[], None]:
        def fail(model: Any = None, **_: Any) -> None:
            raise fault(getattr(model, "name", operation))
        event = "before-call.s3" if operation == "*" else f"before-call.s3.{operation}"
        events.register(event, fail)
        added.append((event, fail))
        return lambda: events.unregister(event, fail)

    yield add
    for event, handler in added:
        events.unregister(event, handler)


@pytest.mark.parametrize("fault", S3_FAULTS)
def test_the_upload_form_is_signed_without_calling_s3_so_an_s3_outage_does_not_stop_it(
        api: Api, paid_signup: PaidSignup, payment: str, s3_fault: Any, fault: str) -> None:
    s3_fault("*", S3_FAULTS[fault])
    reply = _start(api, paid_signup.token, payment)
    assert reply.status == 201, reply.body
    assert PaymentModel.get(payment).proof_upload_key == reply.body["upload"]["fields"]["key"]


@pytest.mark.parametrize("error", [NoCredentialsError(),
                                   EndpointConnectionError(endpoint_url="http://169.254.170.2/creds")],
                         ids=["no_credentials", "credentials_unreachable"])
def test_a_receipt_link_that_cannot_be_signed_is_503_and_the_detail_works_after(
        api: Api, paid_signup: PaidSignup, payment: str, monkeypatch: pytest.MonkeyPatch,
        error: Exception) -> None:
    # Given a payment with its receipt attached
    key = _start(api, paid_signup.token, payment).body["upload"]["fields"]["key"]
    _put(key, PNG)
    assert _complete(api, paid_signup.token, payment).status == 200
    admin = api.admin_token()

    def cannot_sign(*_: Any, **__: Any) -> None:
        raise error

    # When the admin opens the payment while the container cannot sign
    monkeypatch.setattr(proofs.s3_client(), "generate_presigned_url", cannot_sign)
    with store_unchanged():
        reply = api.get(f"/api/v1/billing/admin/payments/{payment}", token=admin)
    # Then 503 with Retry-After (not a 500), and once signing works the detail has its link
    assert_error(reply, 503, "service_unavailable")
    assert reply.headers["retry-after"] == "5"
    monkeypatch.undo()
    again = api.get(f"/api/v1/billing/admin/payments/{payment}", token=admin)
    assert again.status == 200 and "X-Amz-Signature=" in again.body["proof_url"]


@pytest.mark.parametrize("error", [NoCredentialsError(),
                                   EndpointConnectionError(endpoint_url="http://169.254.170.2/creds")],
                         ids=["no_credentials", "credentials_unreachable"])
def test_an_upload_form_that_cannot_be_signed_is_503_and_changes_nothing(
        api: Api, paid_signup: PaidSignup, payment: str, monkeypatch: pytest.MonkeyPatch,
        error: Exception) -> None:
    # Given the container cannot sign (its credentials are missing or cannot be fetched)
    def cannot_sign(*_: Any, **__: Any) -> None:
        raise error

    monkeypatch.setattr(proofs.s3_client(), "generate_presigned_post", cannot_sign)
    # When the user asks for an upload form
    with store_unchanged():
        reply = _start(api, paid_signup.token, payment)
    # Then 503 with Retry-After, and the payment expects no upload
    assert_error(reply, 503, "service_unavailable")
    assert reply.headers["retry-after"] == "5"
    assert PaymentModel.get(payment).proof_upload_key is None
    # And once signing works, the same request gets its form
    monkeypatch.undo()
    again = _start(api, paid_signup.token, payment)
    assert again.status == 201, again.body
    assert PaymentModel.get(payment).proof_upload_key == again.body["upload"]["fields"]["key"]


@pytest.mark.parametrize("fault", S3_FAULTS)
@pytest.mark.parametrize("operation", ["HeadObject", "GetObject"])
def test_completing_while_s3_fails_is_503_attaches_nothing_and_works_after(
        api: Api, paid_signup: PaidSignup, payment: str, s3_fault: Any, operation: str,
        fault: str) -> None:
    # Given an uploaded PNG, and S3 failing on reading it
    key = _start(api, paid_signup.token, payment).body["upload"]["fields"]["key"]
    _put(key, PNG)
    recover = s3_fault(operation, S3_FAULTS[fault])
    # When the user says it is there
    with store_unchanged():
        reply = _complete(api, paid_signup.token, payment)
    # Then 503 with Retry-After, nothing attached, the file kept
    assert_error(reply, 503, "service_unavailable")
    assert reply.headers["retry-after"] == "2"
    assert PaymentModel.get(payment).proof_key is None
    recover()
    assert _exists(key)
    # And once S3 is back, the same request attaches it
    done = _complete(api, paid_signup.token, payment)
    assert done.status == 200, done.body
    assert _exists(PaymentModel.get(payment).proof_key) and not _exists(key)
    assert [entry[0] for entry in audit_of(payment)].count("proof_attached") == 1


@pytest.mark.parametrize("fault", S3_FAULTS)
def test_a_refused_file_that_s3_cannot_delete_is_503_and_refused_again_once_it_can(
        api: Api, paid_signup: PaidSignup, payment: str, s3_fault: Any, fault: str) -> None:
    # Given a file that is not what it claims, and S3 failing on deleting it
    key = _start(api, paid_signup.token, payment).body["upload"]["fields"]["key"]
    _put(key, b"GIF89a" + b"\x00" * 20)
    recover = s3_fault("DeleteObject", S3_FAULTS[fault])
    # When the user says it is there
    with store_unchanged():
        reply = _complete(api, paid_signup.token, payment)
    # Then 503 in the error shape (not a 500), nothing attached
    assert_error(reply, 503, "service_unavailable")
    assert reply.headers["retry-after"] == "2"
    recover()
    # And once S3 is back, the retry refuses the file and deletes it
    assert_error(_complete(api, paid_signup.token, payment), 422, "proof_invalid_type")
    assert not _exists(key)
    assert PaymentModel.get(payment).proof_key is None


def test_a_new_upload_replaces_the_last_and_only_the_last_is_attached(
        api: Api, paid_signup: PaidSignup, payment: str) -> None:
    # Given a PNG uploaded, then a PDF uploaded to the form of a second request
    key = _start(api, paid_signup.token, payment).body["upload"]["fields"]["key"]
    _put(key, PNG)
    assert _start(api, paid_signup.token, payment, "application/pdf").body["upload"]["fields"]["key"] == key
    _put(key, PDF, "application/pdf")
    # When the user says it is there, the PDF is attached and nothing else is left in the bucket
    done = _complete(api, paid_signup.token, payment)
    assert done.status == 200, done.body
    stored = PaymentModel.get(payment)
    assert (stored.proof_content_type, stored.proof_size) == ("application/pdf", len(PDF))
    listed = proofs.s3_client().list_objects_v2(Bucket=get_settings().proof_bucket,
                                                Prefix=f"proofs/pending/{paid_signup.account_id}/")
    assert listed.get("KeyCount", 0) == 0
    kept = proofs.s3_client().get_object(Bucket=get_settings().proof_bucket, Key=stored.proof_key)
    assert kept["Body"].read() == PDF and kept["ContentType"] == "application/pdf"


def test_a_payment_decided_while_its_file_is_copied_keeps_no_copy(
        api: Api, paid_signup: PaidSignup, payment: str) -> None:
    # Given an uploaded PNG, and the payment rejected just after the file is copied
    key = _start(api, paid_signup.token, payment).body["upload"]["fields"]["key"]
    _put(key, PNG)
    copied: list[str] = []

    def decided_meanwhile(params: dict[str, Any], **_: Any) -> None:
        copied.append(params["Key"])
        PaymentModel.get(payment).update(actions=[PaymentModel.status.set("rejected")])

    events = proofs.s3_client().meta.events
    events.register("provide-client-params.s3.CopyObject", decided_meanwhile)
    try:
        reply = _complete(api, paid_signup.token, payment)
    finally:
        events.unregister("provide-client-params.s3.CopyObject", decided_meanwhile)
    # Then 409, nothing attached, and the copy nobody points to is deleted
    assert_error(reply, 409, "payment_not_pending")
    assert PaymentModel.get(payment).proof_key is None
    assert copied and copied[0].startswith(f"proofs/{paid_signup.account_id}/{payment}/")
    assert not _exists(copied[0])


def test_an_upload_s3_cannot_delete_after_attaching_is_logged_and_the_proof_attached(
        api: Api, paid_signup: PaidSignup, payment: str, s3_fault: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    key = _start(api, paid_signup.token, payment).body["upload"]["fields"]["key"]
    _put(key, PNG)
    s3_fault("DeleteObject", s3_throttled)
    capsys.readouterr()
    done = _complete(api, paid_signup.token, payment)
    assert done.status == 200, done.body
    assert _exists(PaymentModel.get(payment).proof_key)
    assert _exists(key)  # left to the lifecycle rule
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(entry.get("level") == "WARNING" and key in entry["message"] for entry in logged)


# Over real HTTP: the browser's multipart POST to the (moto) bucket, then the admin's link ------------

@pytest.mark.live
def test_the_form_uploads_over_http_and_the_admin_downloads_it(live_stack: LiveStack, tmp_path: Path) -> None:
    base = live_stack.base_url
    email = f"{uuid.uuid4().hex[:8]}@example.pk"
    signup = http("POST", f"{base}/api/v1/auth/register", {
        "email": email, "password": PASSWORD, "name": "Proof", "plan": "starter", "billing": BILLING_PK})
    token, invoice = signup.body["access_token"], signup.body["invoice"]
    payment = http("POST", f"{base}/api/v1/billing/admin/payments/confirm", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": f"BT-{uuid.uuid4().hex[:8]}"}, token=token).body["id"]
    form = http("POST", f"{base}/api/v1/billing/payments/{payment}/proof", {"content_type": "image/png"},
                token=token).body["upload"]
    body, content_type = multipart(form["fields"], PNG, "receipt.png")
    request = urllib.request.Request(form["url"], data=body, method="POST",
                                     headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201, 204)
    done = http("POST", f"{base}/api/v1/billing/payments/{payment}/proof/complete", token=token)
    assert done.status == 200, done.body
    admin = http("POST", f"{base}/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    detail = http("GET", f"{base}/api/v1/billing/admin/payments/{payment}", token=admin.body["access_token"])
    with urllib.request.urlopen(detail.body["proof_url"], timeout=10) as response:
        assert response.read() == PNG
