"""HTTP routes of the billing API: read the request, call one use case, return its result."""
from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from chalice import Chalice, CORSConfig, Rate, Response

from chalicelib import (
    accounts,
    admin,
    catalog,
    idempotency,
    jobs,
    notifications,
    openapi,
    payments,
    proofs,
    store,
    telemetry,
)
from chalicelib.auth import Principal, issue_token, principal_from_header
from chalicelib.config import get_settings, outbox_stream_arn
from chalicelib.errors import AppError, Forbidden
from chalicelib.validation import query_limit, read_json_object

app = Chalice(app_name="billing")
app.log.setLevel(logging.INFO)
telemetry.configure(app.log)  # JSON lines on stdout, with the request id

_JSON = {"Content-Type": "application/json"}
_CHALICE_ERRORS = {
    "MethodNotAllowedError": ("method_not_allowed", "This method is not allowed on this route."),
    "UnsupportedMediaType": ("unsupported_media_type", "Send the request body as application/json."),
    "BadRequestError": ("bad_request", "The request is malformed."),
    "BadRequest": ("bad_request", "The request is malformed."),
}
_ready = False
# Browsers may call the API from the web app's origin only (WEB_APP_URL), never from anywhere else.
_CORS = CORSConfig(allow_origin=get_settings().web_origin, allow_headers=["Idempotency-Key"],
                   expose_headers=["Retry-After", "Idempotent-Replayed"], max_age=600)


def error_response(error: AppError) -> Response:
    """An AppError in the API's JSON error shape."""
    headers = dict(_JSON)
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(body=error.to_body(), status_code=error.status, headers=headers)


def _internal_error() -> Response:
    return error_response(AppError("Something went wrong on our side; it has been logged."))


@app.middleware("http")
def _error_shape(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Give Chalice's own errors (405, 415, 500) the API's error shape."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        if response.status_code >= 500:
            return _internal_error()
        code, message = _CHALICE_ERRORS.get(body["Code"], ("bad_request", "The request is malformed."))
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() == "allow" or k.lower().startswith("access-control-")}
        response = Response(body={"error": {"code": code, "message": message, "details": {}}},
                            status_code=response.status_code, headers={**_JSON, **headers})
    return response


@app.middleware("http")
def _observe(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Give every log line of a request its request id; log the request; count server errors."""
    context = event.context or {}
    lambda_context = getattr(app, "lambda_context", None)
    request_id = (context.get("requestId") or getattr(lambda_context, "aws_request_id", None)
                  or uuid.uuid4().hex)
    started, status = time.perf_counter(), 500
    with telemetry.scope(request_id=request_id):
        try:
            response = get_response(event)
            status = response.status_code
            return response
        finally:
            telemetry.request_done(method=event.method, route=context.get("resourcePath", ""),
                                   path=context.get("path", ""), status=status,
                                   duration_ms=(time.perf_counter() - started) * 1000)


def _ensure_ready() -> None:
    global _ready
    if not _ready:
        store.init()
        _ready = True


class Idempotent:
    """How a route takes an Idempotency-Key: whose keys (scope), and what is kept of the response."""

    def __init__(self, scope: Callable[[], str], redact: Callable[[Any], Any] | None = None,
                 restore: Callable[[Any], Any] | None = None) -> None:
        self.scope, self.redact, self.restore = scope, redact, restore


def route(path: str, methods: tuple[str, ...] = ("GET",), status: int = 200,
          idempotent: Idempotent | None = None) -> Callable[..., Any]:
    """Register a route whose AppErrors become JSON error responses."""
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handler(**params: str) -> Response:
            try:
                _ensure_ready()
                key = idempotency.read_key(app.current_request.headers) if idempotent else None
                if idempotent is None or key is None:
                    return Response(body=view(**params), status_code=status, headers=dict(_JSON))
                return _run_idempotent(idempotent, key, path, params, status, view)
            except AppError as error:
                if error.status >= 500:
                    app.log.error("%s failed: %s", path, error.code, exc_info=error.status != 503)
                return error_response(error)
        return app.route(path, methods=list(methods), cors=_CORS)(handler)
    return decorator


def _run_idempotent(spec: Idempotent, key: str, path: str, params: dict[str, str], status: int,
                    view: Callable[..., Any]) -> Response:
    scope = spec.scope()
    print_ = idempotency.fingerprint(path, params, app.current_request.raw_body)
    outcome = idempotency.run(scope, key, print_, status, lambda: view(**params), spec.redact)
    if isinstance(outcome, idempotency.Replay):
        body = spec.restore(outcome.body) if spec.restore else outcome.body
        return Response(body=body, status_code=outcome.status_code,
                        headers={**_JSON, "Idempotent-Replayed": "true"})
    return Response(body=outcome[1], status_code=outcome[0], headers=dict(_JSON))


def _principal(role: str = "user") -> Principal:
    principal = principal_from_header(app.current_request.headers.get("authorization"))
    telemetry.annotate(actor=principal.user_id)
    if role == "admin" and not principal.is_admin:
        raise Forbidden("This route is for admins.")
    return principal


def _body(optional: bool = False) -> dict[str, Any]:
    raw = app.current_request.raw_body
    if optional and not (raw or b"").strip():
        return {}
    return read_json_object(raw, get_settings().max_body_bytes)


def _query(name: str) -> str | None:
    return (app.current_request.query_params or {}).get(name)


# Idempotency-Key scopes: a user's keys are theirs alone; a signup's belong to its email.

def _user_keys() -> str:
    return _principal().user_id


def _admin_keys() -> str:
    return _principal("admin").user_id


def _signup_keys() -> str:
    return "signup:" + accounts.signup_scope(app.current_request.raw_body)


_TOKEN_FIELDS = ("access_token", "token_type", "expires_in")


def _without_token(body: dict[str, Any]) -> dict[str, Any]:
    """What a signup keeps of its response: everything but the access token."""
    return {k: v for k, v in body.items() if k not in _TOKEN_FIELDS}


def _with_fresh_token(body: dict[str, Any]) -> dict[str, Any]:
    """A replayed signup gets a newly issued token for the same user."""
    user = body["user"]
    token, ttl = issue_token(Principal(user["id"], user["account_id"], user["email"], user["role"]))
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, **body}


_SIGNUP = Idempotent(_signup_keys, redact=_without_token, restore=_with_fresh_token)
_USER = Idempotent(_user_keys)
_ADMIN = Idempotent(_admin_keys)


# Auth ----------------------------------------------------------------------------------------

@route("/api/v1/auth/register", methods=("POST",), status=201, idempotent=_SIGNUP)
def register() -> dict[str, Any]:
    return accounts.register(_body())


@route("/api/v1/auth/login", methods=("POST",))
def login() -> dict[str, Any]:
    return accounts.login(_body())


@route("/api/v1/auth/me")
def me() -> dict[str, Any]:
    return accounts.me(_principal())


# Catalog (public) ----------------------------------------------------------------------------

@route("/api/v1/billing/plans")
def plans() -> dict[str, Any]:
    return catalog.list_plans()


@route("/api/v1/billing/admin/payment-methods")
def payment_methods() -> list[dict[str, Any]]:
    return catalog.methods_for_country(catalog.parse_country(_query("country")))


# Billing (user) ------------------------------------------------------------------------------

@route("/api/v1/billing/invoices")
def invoices() -> dict[str, Any]:
    return payments.list_invoices(_principal(), query_limit(_query("limit")), _query("cursor"))


@route("/api/v1/billing/invoices/{invoice_id}")
def invoice(invoice_id: str) -> dict[str, Any]:
    return payments.get_invoice(_principal(), invoice_id)


@route("/api/v1/billing/payments")
def my_payments() -> dict[str, Any]:
    return payments.list_payments(_principal(), query_limit(_query("limit")), _query("cursor"))


@route("/api/v1/billing/admin/payments/confirm", methods=("POST",), status=201, idempotent=_USER)
def confirm_payment() -> dict[str, Any]:
    principal = _principal()
    return payments.confirm(principal, _body())


@route("/api/v1/billing/payments/{payment_id}/proof", methods=("POST",), status=201)
def start_proof_upload(payment_id: str) -> dict[str, Any]:
    return proofs.start_upload(_principal(), payment_id, _body())


@route("/api/v1/billing/payments/{payment_id}/proof/complete", methods=("POST",), idempotent=_USER)
def complete_proof_upload(payment_id: str) -> dict[str, Any]:
    principal = _principal()
    return proofs.complete_upload(principal, payment_id, _body(optional=True))


# Admin ---------------------------------------------------------------------------------------

@route("/api/v1/billing/admin/payments")
def approval_queue() -> dict[str, Any]:
    _principal("admin")
    return admin.approval_queue(_query("status"), query_limit(_query("limit")), _query("cursor"))


@route("/api/v1/billing/admin/payments/{payment_id}")
def payment_detail(payment_id: str) -> dict[str, Any]:
    _principal("admin")
    return admin.payment_detail(payment_id)


@route("/api/v1/billing/admin/payments/{payment_id}/approve", methods=("POST",), idempotent=_ADMIN)
def approve_payment(payment_id: str) -> dict[str, Any]:
    principal = _principal("admin")
    return payments.approve(principal, payment_id, _body(optional=True))


@route("/api/v1/billing/admin/payments/{payment_id}/reject", methods=("POST",), idempotent=_ADMIN)
def reject_payment(payment_id: str) -> dict[str, Any]:
    principal = _principal("admin")
    return payments.reject(principal, payment_id, _body(optional=True))


@route("/api/v1/billing/admin/invoices/by-reference/{reference}")
def invoice_by_reference(reference: str) -> dict[str, Any]:
    _principal("admin")
    # API Gateway hands over path parameters decoded, `chalice local` as sent: "PR%207K4Q..." both
    # ways is the same reference (one never holds a "%").
    return admin.invoice_by_reference(unquote(reference))


@route("/api/v1/billing/admin/status")
def system_status() -> dict[str, Any]:
    _principal("admin")
    return admin.system_status()


# Description ---------------------------------------------------------------------------------

@route("/api/v1/openapi.json")
def openapi_spec() -> dict[str, Any]:
    return openapi.spec()


# Notifications -------------------------------------------------------------------------------

@route("/api/v1/billing/admin/notifications")
def failed_notifications() -> dict[str, Any]:
    _principal("admin")
    return admin.failed_notifications(_query("status"), query_limit(_query("limit")), _query("cursor"))


# Email delivery: after the commit, from the outbox table's stream; a schedule retries. ------------

_OUTBOX_STREAM_ARN = outbox_stream_arn()  # set in .chalice/config.json once the table exists

if _OUTBOX_STREAM_ARN:
    @app.on_dynamodb_record(stream_arn=_OUTBOX_STREAM_ARN, batch_size=10)
    def deliver_new_emails(event: Any) -> None:
        """Send the emails just written to the outbox (the stream's INSERTs)."""
        _ensure_ready()
        ids = [record.keys["message_id"]["S"] for record in event if record.event_name == "INSERT"]
        notifications.deliver_many(ids)


@app.schedule(Rate(1, unit=Rate.HOURS))
def billing_jobs(event: Any) -> None:
    """Reminders before the due date, voiding after the grace period, overdue-review alerts."""
    _ensure_ready()
    app.log.info("billing jobs: %s", jobs.run().counts())


@app.schedule(Rate(5, unit=Rate.MINUTES))
def drain_outbox(event: Any) -> None:
    """Retry the emails that are due again (failed sends back off) and any the stream missed."""
    _ensure_ready()
    deliveries = notifications.drain()
    if deliveries:
        outcomes: dict[str, int] = {}
        for delivery in deliveries:
            outcomes[delivery.outcome] = outcomes.get(delivery.outcome, 0) + 1
        app.log.info("outbox drained: %s", outcomes)
