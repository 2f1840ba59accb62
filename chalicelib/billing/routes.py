"""Routes of billing for the customer: the subscription, invoices, payments, confirmations, proofs."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import BY_CALLER, PDF, USER, Body, Routes, query
from chalicelib.billing import changes, invoices, payments, proofs, subscriptions
from chalicelib.core.validation import query_limit

routes = Routes(__name__, "Billing", "The caller's invoices and payments.")

_PAGE_ERRORS = {400: "`invalid_query`: limit is not a whole number from 1 to 100; `invalid_cursor`: "
                     "the cursor is not one this list returned."}
_NOT_OWN_PAYMENT = "`payment_not_found`: no such payment on the caller's account."


@routes.get("/api/v1/billing/invoices", auth=USER, query=("Limit", "Cursor"),
            response=("InvoicePage", "A page of invoices."), errors=_PAGE_ERRORS)
def list_invoices(caller: Principal) -> dict[str, Any]:
    """The caller's invoices, newest first

    Only the caller's account's invoices.
    """
    return invoices.list_invoices(caller, query_limit(query("limit")), query("cursor"))


@routes.get("/api/v1/billing/invoices/{invoice_id}", auth=USER,
            response=("Invoice", "The invoice."),
            errors={404: "`invoice_not_found`: no such invoice on the caller's account."})
def get_invoice(caller: Principal, invoice_id: str) -> dict[str, Any]:
    """One of the caller's invoices

    Another account's invoice is 404, like a missing one.
    """
    return invoices.get_invoice(caller, invoice_id)


@routes.get("/api/v1/billing/invoices/{invoice_id}/pdf", auth=USER, media_type=PDF,
            response=("PdfDocument", "The invoice, or its receipt once paid, as a PDF document."),
            errors={404: "`invoice_not_found`: no such invoice on the caller's account."})
def get_invoice_pdf(caller: Principal, invoice_id: str) -> tuple[bytes, str]:
    """One of the caller's invoices as a PDF

    What a customer's accountant files: the seller and the buyer with their tax ids, the number
    and dates, the lines and totals, the local-currency quotes, and while unpaid the payment
    reference and how to pay with each method of the billing country; once paid, a receipt with
    the payments received and a PAID stamp. `Content-Disposition: inline;
    filename="INV-2026-000123.pdf"`. Send `Accept: application/pdf` (API Gateway returns the
    bytes only to a request whose first Accept type is that; any other is 406). Another
    account's invoice is 404, like a missing one.
    """
    from chalicelib.billing import documents  # with its layout: loaded on the first PDF

    return documents.own_invoice_pdf(caller, invoice_id)


@routes.get("/api/v1/billing/payments", auth=USER, query=("Limit", "Cursor"),
            response=("PaymentPage", "A page of payments."), errors=_PAGE_ERRORS)
def list_payments(caller: Principal) -> dict[str, Any]:
    """The caller's payments, newest first

    Only the caller's account's payments.
    """
    return invoices.list_payments(caller, query_limit(query("limit")), query("cursor"))


@routes.post(
    "/api/v1/billing/admin/payments/confirm", status=201, auth=USER, idempotent=BY_CALLER,
    body=Body("ConfirmPaymentRequest", payments.CONFIRM, "The payment's details."),
    response=("Payment", "The payment, awaiting approval."),
    errors={404: "`invoice_not_found`: no such invoice on the caller's account.",
            409: "`invoice_not_pending` (the invoice is paid or void, or changed meanwhile; "
                 "`details.status`), `payment_already_pending` (a payment awaits approval; "
                 "`details.payment_id`), `transaction_conflict` (retry); `duplicate_reference`: "
                 "this bank reference was already used with the same method on another payment "
                 "of the same account that has not failed (the same pair on another account's "
                 "payment is accepted, and both payments are flagged for the admin)",
            422: "`validation_failed` (a missing or invalid field, e.g. no manual_reference), "
                 "`amount_mismatch` (the amount is not the invoice's; `details.expected`, "
                 "`details.currency`), `method_not_offered` (not offered in the invoice's billing "
                 "country); `payment_reference_typo`: the reference contains a payment reference "
                 "(`PR-…`) whose check character is wrong"})
def confirm_payment(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Report a payment made outside the system

    A **user** route despite the `admin` in its (seed) path. Creates a payment
    `pending_approval` for one of the caller's pending invoices; an admin then approves or
    rejects it.
    """
    return payments.confirm(caller, body)


@routes.post(
    "/api/v1/billing/payments/{payment_id}/proof", status=201, auth=USER,
    body=Body("ProofUploadRequest", proofs.START, "The file to upload."),
    response=("ProofUpload", "The upload form."),
    errors={400: "`invalid_json` or `invalid_request` (an unknown field or a value of the wrong type).",
            404: _NOT_OWN_PAYMENT,
            409: "`payment_not_pending` (already decided) or `proof_already_attached`.",
            422: "`validation_failed`: `content_type` is not image/png, image/jpeg or "
                 "application/pdf."})
def start_proof_upload(caller: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Get a form to upload a proof of payment

    For one of the caller's payments awaiting approval: a presigned POST to the private
    proofs bucket that accepts exactly one file of the declared type (PNG, JPEG or PDF), 1
    byte to 5 MB, for 10 minutes. Then call `.../proof/complete`.
    """
    return proofs.start_upload(caller, payment_id, body)


@routes.post(
    "/api/v1/billing/payments/{payment_id}/proof/complete", auth=USER, idempotent=BY_CALLER,
    body=Body("EmptyRequest", {}, "Nothing, or an empty object.", required=False,
              empty_ok=True),
    response=("Payment", "The payment with its proof."),
    errors={400: "`invalid_json` or `invalid_request` (a body other than `{}`)",
            404: _NOT_OWN_PAYMENT,
            409: "`proof_not_uploaded` (no form asked for, or no file uploaded with it), "
                 "`payment_not_pending`, `proof_already_attached`",
            422: "`proof_invalid_type` (not a PNG, JPEG or PDF, or not the declared type) or "
                 "`proof_too_large` (over 5 MB)"})
def complete_proof_upload(caller: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Attach the uploaded proof of payment

    Checks the uploaded file's size and its type from its first bytes; a file that is not
    what it claims, or over 5 MB, is deleted and refused. No body (or `{}`).
    """
    return proofs.complete_upload(caller, payment_id, body)


_NO_SUBSCRIPTION = "`subscription_not_found`: the account has no subscription."
_EMPTY = Body("EmptyRequest", {}, "Nothing, or an empty object.", required=False, empty_ok=True)
_CHANGE_409 = ("`subscription_not_active` (`details.status`), `cancel_scheduled` (resume first), "
               "`change_pending` (one change at a time; `details`), `renewal_already_paid` (the next "
               "period is paid for the current plan), `renewal_payment_pending` (a payment on the "
               "issued renewal awaits approval), `period_ending` (an upgrade with nothing left of "
               "the period to pay for)")


@routes.post(
    "/api/v1/billing/subscription", status=201, auth=USER, idempotent=BY_CALLER,
    body=Body("SubscribeRequest", subscriptions.subscribe_fields(), "The plan and how to pay."),
    response=("SubscriptionWithInvoice", "The subscription awaiting its first payment, and its invoice."),
    errors={409: "`subscription_exists`: the account has a subscription that is not cancelled.",
            422: "`validation_failed` (e.g. `billing` when none is on file), `plan_not_available` "
                 "(free, internal or unknown), `method_not_offered`."})
def subscribe(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Subscribe to a paid plan

    For a `trial`, `expired` or `cancelled` account. A trial stays `trial` (its credits usable)
    until the invoice is approved; its remaining trial credits then move to `extra`.
    """
    return subscriptions.subscribe(caller, body)


@routes.get("/api/v1/billing/subscription/change-preview", auth=USER, query=("Plan",),
            response=("PlanChangePreview", "What the change would do, priced now."),
            errors={404: _NO_SUBSCRIPTION, 409: _CHANGE_409,
                    422: "`validation_failed` (no plan), `plan_not_available`."})
def preview_plan_change(caller: Principal) -> dict[str, Any]:
    """Preview a plan change

    The prorated amount and credits of an upgrade, or when a downgrade takes effect; changes
    nothing.
    """
    return changes.preview(caller, query("plan"))


@routes.post(
    "/api/v1/billing/subscription/change", auth=USER, idempotent=BY_CALLER,
    body=Body("PlanChangeRequest", changes.CHANGE, "The plan to change to."),
    response=("SubscriptionWithInvoice", "The subscription, and an upgrade's invoice (or null)."),
    errors={404: _NO_SUBSCRIPTION, 409: _CHANGE_409,
            422: "`validation_failed`, `plan_not_available` (free, internal or unknown)."})
def change_plan(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Upgrade, downgrade, or keep the current plan

    A higher price: an `upgrade` invoice for the price difference times the unused part of the
    period (half-up to the cent); the plan switches when it is approved. A lower price:
    `scheduled_plan`, from the period end. The current plan cancels a waiting change.
    """
    return changes.change_plan(caller, body)


@routes.post(
    "/api/v1/billing/subscription/cancel", auth=USER, idempotent=BY_CALLER, body=_EMPTY,
    response=("SubscriptionResult", "The subscription, ending at its period end."),
    errors={404: _NO_SUBSCRIPTION,
            409: "`subscription_not_active`, `renewal_already_paid`, `renewal_payment_pending`."})
def cancel_subscription(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Cancel at the period end

    The service and credits last until `current_period_end`; an unpaid renewal invoice is
    voided and no new one is issued. Cancelling twice changes nothing.
    """
    return subscriptions.cancel(caller, body)


@routes.post(
    "/api/v1/billing/subscription/resume", auth=USER, idempotent=BY_CALLER, body=_EMPTY,
    response=("SubscriptionResult", "The subscription, renewing again."),
    errors={404: _NO_SUBSCRIPTION, 409: "`subscription_not_active`, `not_cancelling`."})
def resume_subscription(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Undo a cancellation before the period ends

    The renewal invoice is issued again by the next job run if its time has come.
    """
    return subscriptions.resume(caller, body)
