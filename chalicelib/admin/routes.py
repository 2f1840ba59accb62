"""Routes of the admin's desk: the approval queue, decisions, lookups, status, failed emails."""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalicelib.accounts.auth import Principal
from chalicelib.admin import review, status
from chalicelib.admin.fields import REASON
from chalicelib.api.routing import APPROVER, BY_CALLER, OWNER, PDF, VIEWER, Body, Routes, query
from chalicelib.billing import fx, payments
from chalicelib.core.validation import query_limit

routes = Routes(__name__, "Admin", "The approval queue and decisions (admins).")


@routes.get("/api/v1/billing/admin/payments", auth=VIEWER, query=("QueueStatus", "Limit", "Cursor"),
            response=("ApprovalQueuePage", "A page of the queue."),
            errors={400: "`invalid_query`: status is not pending_approval, or limit is not a whole "
                         "number from 1 to 100; `invalid_cursor`."})
def list_approval_queue(caller: Principal) -> dict[str, Any]:
    """The approval queue, oldest first

    Payments awaiting approval, each with its account's id and name.
    """
    return review.approval_queue(query("status"), query_limit(query("limit")), query("cursor"))


@routes.get("/api/v1/billing/admin/renewals", auth=VIEWER, query=("Limit", "Cursor"),
            response=("RenewalPage", "A page of unpaid renewal invoices."),
            errors={400: "`invalid_query` (limit) or `invalid_cursor`."})
def list_renewals(caller: Principal) -> dict[str, Any]:
    """Unpaid renewal invoices, soonest due first

    Each with its subscription's state (active, past_due, suspended) and account, and whether a
    payment awaits approval.
    """
    return review.renewals(query_limit(query("limit")), query("cursor"))


@routes.get("/api/v1/billing/admin/payments/{payment_id}", auth=VIEWER,
            response=("PaymentDetail", "The payment."),
            errors={404: "`payment_not_found`.",
                    409: "`transaction_conflict`: a concurrent change, retry."})
def get_payment_detail(caller: Principal, payment_id: str) -> dict[str, Any]:
    """A payment with its invoice, account and history

    Any account's payment. `history` lists every state change of the payment: when, who,
    from → to, notes.
    """
    return review.payment_detail(payment_id)


@routes.post(
    "/api/v1/billing/admin/payments/{payment_id}/approve", auth=APPROVER, idempotent=BY_CALLER,
    body=Body("ApproveRequest", payments.APPROVE, "Optional; an empty body is accepted.",
              required=False, empty_ok=True),
    response=("Approval", "Approved."),
    also={202: ("FirstApproval", "The first of two approvals (a payment worth more than "
                                 "SECOND_APPROVAL_ABOVE): recorded; nothing else changed.")},
    errors={403: "`own_account`: the payment is of an account the admin belongs to.",
            404: "`payment_not_found`.",
            409: "`payment_not_pending` (already succeeded or failed; `details.status`), "
                 "`second_approver_required` (this admin gave the first approval), "
                 "`state_conflict` (its invoice, subscription or account changed or is missing), "
                 "`transaction_conflict` (retry). Nothing changes",
            422: "`validation_failed`: admin_notes too long or with control characters"})
def approve_payment(caller: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Approve a payment awaiting approval

    In one transaction: payment `succeeded`, invoice `paid`, subscription `active` (period
    starts), account `active` with the plan's credits added, one credit-ledger entry. A
    second approval changes nothing. A payment worth more than SECOND_APPROVAL_ABOVE (500.00 in
    the invoice's currency) needs two admins: the first approval answers 202 with `approvals`
    and changes nothing else; the second, by another admin, approves.
    """
    from chalicelib.admin import approve

    return approve.approve(caller, payment_id, body)


@routes.post(
    "/api/v1/billing/admin/payments/{payment_id}/reject", auth=APPROVER, idempotent=BY_CALLER,
    body=Body("RejectRequest", payments.REJECT, "The reason for the rejection.", empty_ok=True),
    response=("Rejection", "Rejected."),
    errors={404: "`payment_not_found`.",
            409: "`payment_not_pending` (already decided; `details.status`), `state_conflict`, "
                 "`transaction_conflict` (retry). Nothing changes",
            422: "`validation_failed`: admin_notes missing (an empty body included), too long or "
                 "with control characters"})
def reject_payment(caller: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Reject a payment awaiting approval

    The payment becomes `failed` with the admin's notes; the invoice stays `pending` and the
    user can confirm a payment again.
    """
    return payments.reject(caller, payment_id, body)


@routes.post(
    "/api/v1/billing/admin/payments/{payment_id}/reverse", auth=OWNER, idempotent=BY_CALLER,
    body=Body("ReverseRequest", REASON, "Why the payment is reversed.", empty_ok=True),
    response=("Reversal", "Reversed."),
    errors={403: "`own_account`: the payment is of an account the admin belongs to.",
            404: "`payment_not_found`.",
            409: "`payment_not_reversible` (not succeeded; `details.status`), `not_reversible` (an "
                 "upgrade's payment), `state_conflict` (its invoice is not paid or partly paid, a "
                 "payment of it or of a later invoice awaits approval, a later period is paid, or "
                 "something changed meanwhile), `transaction_conflict` (retry). Nothing changes",
            422: "`validation_failed`: reason missing (an empty body included), too long or with "
                 "control characters"})
def reverse_payment(caller: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Reverse a succeeded payment

    For a transfer the bank sent back, a chargeback or a forged receipt, in one transaction:
    payment `reversed`; its invoice due again (`pending`, or `partially_paid` while other
    payments of it stand); the credits it brought taken back from what is left of them (credits
    already used stay used); an overpayment's excess taken back from what is left of the
    balance; for a signup or the running period's renewal, subscription and account
    `past_due` with the grace starting now. Emailed to the payer; audited. An upgrade's payment
    is not reversed (409 `not_reversible`).
    """
    from chalicelib.billing import reversal

    return reversal.reverse(caller, payment_id, body)


@routes.get("/api/v1/billing/admin/invoices/by-reference/{reference}", auth=VIEWER,
            response=("InvoiceLookup", "The invoice, its account and payments."),
            errors={404: "`invoice_not_found`: a valid reference that no invoice has.",
                    422: "`invalid_reference`: not a payment reference, or its check character "
                         "does not match (a typo)."})
def invoice_by_reference(caller: Principal, reference: str) -> dict[str, Any]:
    """Find the invoice of a payment reference

    For matching a bank statement line: the invoice whose `payment_reference` this is (case,
    spaces and dashes do not matter), with its account and payments. A reference whose check
    character does not match is a typo: 422 `invalid_reference`, not 404.
    """
    # API Gateway hands over path parameters decoded, `chalice local` as sent: "PR%207K4Q..." both
    # ways is the same reference (one never holds a "%").
    return review.invoice_by_reference(unquote(reference))


@routes.get("/api/v1/billing/admin/invoices/{invoice_id}/pdf", auth=VIEWER,
            media_type=PDF,
            response=("PdfDocument", "The invoice, or its receipt once paid, as a PDF document."),
            errors={404: "`invoice_not_found`."})
def get_any_invoice_pdf(caller: Principal, invoice_id: str) -> tuple[bytes, str]:
    """Any account's invoice as a PDF

    The document the customer gets from `GET /billing/invoices/{invoice_id}/pdf`. Send
    `Accept: application/pdf` (any other first Accept type is 406).
    """
    from chalicelib.billing import documents  # with its layout: loaded on the first PDF

    return documents.invoice_pdf(invoice_id)


@routes.get("/api/v1/billing/admin/status", auth=VIEWER, response=("SystemStatus", "The counters."))
def get_system_status(caller: Principal) -> dict[str, Any]:
    """System status counters

    Plans configured, payment methods enabled, accounts by status and payments awaiting
    approval.
    """
    return status.system_status()


@routes.get("/api/v1/billing/admin/notifications", auth=VIEWER,
            query=("NotificationStatus", "Limit", "Cursor"),
            response=("NotificationPage", "A page of failed emails."),
            errors={400: "`invalid_query`: status is not failed, or limit is not a whole number "
                         "from 1 to 100; `invalid_cursor`."})
def list_failed_notifications(caller: Principal) -> dict[str, Any]:
    """Emails given up on

    Emails (signup, payment submitted, approved, rejected) are written to an outbox in the
    transaction of the change they tell about and sent after the commit; a failed send is
    retried with backoff, then parked as `failed`. This lists the parked ones, newest first.
    """
    return status.failed_notifications(query("status"), query_limit(query("limit")), query("cursor"))


@routes.get("/api/v1/billing/admin/fx-rates", auth=VIEWER,
            response=("FxRateList", "The current rates, each with its recent changes."))
def list_fx_rates(caller: Principal) -> dict[str, Any]:
    """Exchange rates

    Units of each local currency per 1 unit of the invoice currency; new invoices are quoted at
    them (issued ones keep the quotes fixed on them).
    """
    return fx.list_rates()


@routes.put("/api/v1/billing/admin/fx-rates/{currency}", auth=OWNER, idempotent=BY_CALLER,
            body=Body("FxRateRequest", fx.SET_RATE, "The new rate."),
            response=("FxRate", "The rate as set, with its history."),
            errors={409: "`state_conflict`: it was changed meanwhile.",
                    422: "`currency_not_supported` (not a payment method's currency; "
                         "`details.currencies`), `validation_failed` (not a decimal string with at "
                         "most 6 decimals, or 0)."})
def set_fx_rate(caller: Principal, currency: str, body: dict[str, Any]) -> dict[str, Any]:
    """Set an exchange rate

    Kept with who set it and the rate it replaced. Invoices issued from now on are quoted at it.
    """
    return fx.set_rate(caller, currency, body)
