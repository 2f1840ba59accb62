"""Proof of payment: a receipt or screenshot (PNG, JPEG or PDF, at most 5 MB) attached to a payment.

The file never passes through the API: the user asks for an upload form (`start_upload`) and the
browser POSTs the file straight to the private S3 bucket with a presigned POST whose policy pins the
object key, the declared content type and the size range. Each payment has one upload key,
`proofs/pending/<account>/<payment>`: a new upload replaces the last one, and the bucket's lifecycle
rule deletes what was never attached after a day. Then the user says it is there
(`complete_upload`): the API checks the stored object's size and sniffs its first bytes, since a
policy trusts the declared type; a file that is not what it claims, or too large, is deleted and
refused. A good one is copied (only if it is still the file that was checked) to a key of its own
under `proofs/<account>/<payment>/`, outside the lifecycle rule, and the upload is deleted. An admin
sees the proof through a presigned GET that expires within minutes.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.core import aws_clients
from chalicelib.core.clock import stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, Invalid, NotFound, Unavailable
from chalicelib.core.validation import Text, validate
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.billing import PaymentModel
from chalicelib.storage.store import TransactionCancelled, Tx

MAX_BYTES = 5 * 1024 * 1024
UPLOAD_SECONDS = 600
VIEW_SECONDS = 300
TYPES = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}
_SIGNATURES = (("image/png", b"\x89PNG\r\n\x1a\n"), ("image/jpeg", b"\xff\xd8\xff"),
               ("application/pdf", b"%PDF-"))
START = {"content_type": Text(
    required=True, max_len=40, check=lambda t: t.lower() if t.lower() in TYPES else None,
    check_message="must be image/png, image/jpeg or application/pdf", schema={"enum": list(TYPES)},
    doc="The file's type; the upload must match it, and its first bytes are checked after upload.")}
PENDING = "pending_approval"
log = logging.getLogger(__name__)

def s3_client() -> Any:
    """The S3 client of this container, made on first use (S3_ENDPOINT_URL points it at moto)."""
    return aws_clients.client("s3", get_settings().s3_endpoint_url, signature_version="s3v4",
                              connect_timeout=3, read_timeout=10, s3={"addressing_style": "path"},
                              retries={"max_attempts": 2, "mode": "standard"})


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file show, among those accepted."""
    for content_type, signature in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def _own_pending(principal: Principal, payment_id: str) -> PaymentModel:
    payment = store.get(PaymentModel, payment_id)
    if payment is None or payment.account_id != principal.account_id:
        raise NotFound("No such payment on your account.", code="payment_not_found")
    if payment.status != PENDING:
        raise Conflict("A proof can only be attached while the payment awaits approval.",
                       code="payment_not_pending", details={"status": payment.status})
    if payment.proof_key:
        raise Conflict("This payment already has a proof of payment.", code="proof_already_attached")
    return payment


def upload_key(payment: PaymentModel) -> str:
    """The one key a payment's uploads go to (each replaces the last; unattached ones expire)."""
    return f"proofs/pending/{payment.account_id}/{payment.payment_id}"


def _declared(key: str, stored_type: str | None) -> str | None:
    """The type the upload was declared as: the stored object's Content-Type, which the form's
    policy pins (an upload from before one key per payment: its key's extension)."""
    stored = (stored_type or "").split(";")[0].strip().lower()
    if stored in TYPES:
        return stored
    return next((t for t, ext in TYPES.items() if key.endswith("." + ext)), None)


def start_upload(principal: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A presigned POST for one file of the declared type, at most 5 MB, to a key of this payment."""
    content_type = validate(body, START)["content_type"]
    payment = _own_pending(principal, payment_id)
    settings = get_settings()
    key = upload_key(payment)
    try:  # signed before the key is recorded: a form that cannot be made changes nothing
        form = s3_client().generate_presigned_post(
            settings.proof_bucket, key, Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, MAX_BYTES]],
            ExpiresIn=UPLOAD_SECONDS)
    except Exception as exc:  # noqa: BLE001 - signing needs credentials; none is a server fault
        raise Unavailable("Uploads are not available right now; retry shortly.", retry_after=5) from exc
    with store.guard():
        try:
            payment.update(actions=[PaymentModel.proof_upload_key.set(key)],
                           condition=(PaymentModel.status == PENDING)
                           & (PaymentModel.account_id == principal.account_id)
                           & PaymentModel.proof_key.does_not_exist())
        except Exception as exc:  # noqa: BLE001 - a failed condition: decided or attached meanwhile
            if store.aws_code(exc) == "ConditionalCheckFailedException":
                raise Conflict("The payment changed meanwhile; reload it.", code="payment_not_pending") from exc
            raise
    return {"upload": {"url": form["url"], "fields": form["fields"]}, "content_type": content_type,
            "max_bytes": MAX_BYTES, "expires_in": UPLOAD_SECONDS}


def complete_upload(principal: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Check the uploaded file (size, and type from its first bytes) and attach it to the payment."""
    from botocore.exceptions import BotoCoreError, ClientError

    validate(body, {})
    payment = _own_pending(principal, payment_id)
    key = payment.proof_upload_key
    if not key:
        raise Conflict("Ask for an upload first (POST .../proof).", code="proof_not_uploaded")
    bucket, client = get_settings().proof_bucket, s3_client()
    try:
        stored = client.head_object(Bucket=bucket, Key=key)
        head = client.get_object(Bucket=bucket, Key=key, Range="bytes=0-15",
                                 IfMatch=stored["ETag"])["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise _read_failure(exc) from exc
    size, found = int(stored["ContentLength"]), sniff(head)
    problem = None
    if size > MAX_BYTES:
        problem = Invalid(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", code="proof_too_large",
                          details={"fields": {"file": "at most 5 MB"}, "size": size})
    elif found is None or found != _declared(key, stored.get("ContentType")):
        problem = Invalid("The file is not a PNG, JPEG or PDF (its content does not match its type).",
                          code="proof_invalid_type",
                          details={"fields": {"file": "must be a PNG, JPEG or PDF"}})
    if problem is not None:
        try:
            client.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:  # refused files are deleted: retry once it can
            raise Unavailable("The file store is unavailable; retry shortly.", retry_after=2) from exc
        raise problem
    kept = _keep(client, bucket, payment, stored["ETag"], found)
    response = _attach(principal, payment, key, kept, found, size)
    _forget(client, bucket, key)
    return response


def _read_failure(exc: Exception) -> Exception:
    """What a failed read or copy of the upload answers (a BotoCoreError has no response: S3 is
    unreachable)."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    if code in ("404", "NoSuchKey", "NotFound"):
        return Conflict("No file was uploaded for this payment yet.", code="proof_not_uploaded")
    if code in ("412", "PreconditionFailed"):  # replaced by a new upload while it was checked
        return Conflict("A new file was uploaded meanwhile; say it is there again.",
                        code="proof_not_uploaded")
    return Unavailable("The file store is unavailable; retry shortly.", retry_after=2)


def _keep(client: Any, bucket: str, payment: PaymentModel, etag: str, content_type: str) -> str:
    """Copy the checked upload, only if it is still that file, to a key of its own."""
    from botocore.exceptions import BotoCoreError, ClientError

    kept = (f"proofs/{payment.account_id}/{payment.payment_id}/"
            f"{secrets.token_hex(8)}.{TYPES[content_type]}")
    try:
        client.copy_object(Bucket=bucket, Key=kept,
                           CopySource={"Bucket": bucket, "Key": payment.proof_upload_key},
                           CopySourceIfMatch=etag, ContentType=content_type,
                           MetadataDirective="REPLACE")
    except (ClientError, BotoCoreError) as exc:
        raise _read_failure(exc) from exc
    return kept


def _attach(principal: Principal, payment: PaymentModel, key: str, kept: str, found: str,
            size: int) -> dict[str, Any]:
    """Record the kept copy on the payment, once; a payment that changed meanwhile keeps nothing."""
    at = stamp()
    tx = Tx()
    tx.update("payment", payment,
              [PaymentModel.proof_key.set(kept), PaymentModel.proof_content_type.set(found),
               PaymentModel.proof_size.set(size), PaymentModel.proof_uploaded_at.set(at)],
              condition=(PaymentModel.status == PENDING) & (PaymentModel.proof_upload_key == key)
              & PaymentModel.proof_key.does_not_exist())
    add_audit(tx, entity_type="payment", entity_id=payment.payment_id, action="proof_attached",
              from_status=PENDING, to_status=PENDING, actor=principal.user_id, at=at,
              notes=f"{found}, {size} bytes")
    payment.proof_key, payment.proof_content_type = kept, found
    payment.proof_size, payment.proof_uploaded_at = size, at
    from chalicelib.billing.views import customer_payment_view

    response = customer_payment_view(payment)
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        _forget(s3_client(), get_settings().proof_bucket, kept)  # the copy nobody will point to
        raise Conflict("The payment changed meanwhile; nothing was attached.",
                       code="payment_not_pending") from exc
    return response


def _forget(client: Any, bucket: str, key: str) -> None:
    """Delete an object nothing points to. If S3 fails, the answer stands: an upload expires by
    the lifecycle rule, and a kept copy left behind is named in the log."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        log.warning("proof object %s left behind: %s", key, exc)


def ensure_bucket(web_origin: str) -> None:
    """Create the private proofs bucket where it is missing (local stores; the deployment template
    makes it in AWS), letting the web app's origin POST uploads to it."""
    client, bucket = s3_client(), get_settings().proof_bucket
    try:
        client.head_bucket(Bucket=bucket)
    except Exception:  # noqa: BLE001 - missing (404) or not ours: create it
        client.create_bucket(Bucket=bucket)
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [web_origin], "AllowedMethods": ["POST", "GET"], "AllowedHeaders": ["*"],
        "MaxAgeSeconds": 600}]})


def view_url(payment: PaymentModel) -> str | None:
    """A link to the proof that works for a few minutes (for the admin's review)."""
    if not payment.proof_key:
        return None
    try:
        return str(s3_client().generate_presigned_url(
            "get_object", Params={"Bucket": get_settings().proof_bucket, "Key": payment.proof_key,
                                  "ResponseContentType": payment.proof_content_type
                                  or "application/octet-stream",
                                  "ResponseContentDisposition": "inline"},
            ExpiresIn=VIEW_SECONDS))
    except Exception as exc:  # noqa: BLE001 - signing needs credentials; none is a server fault
        raise Unavailable("The receipt's link cannot be made right now; retry shortly.",
                          retry_after=5) from exc
