"""Response schemas of the admin's desk, next to the functions that build them (admin.review,
admin.status).
"""
from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.shared import extended
from chalicelib.billing.schemas import SCHEMAS as BILLING

# What an approval or a reversal answers: the payment and everything it changed, as they are now.
_AFTER_DECISION: dict[str, Any] = {
    "type": "object",
    "required": ["payment", "invoice", "subscription", "account"],
    "properties": {
        "payment": {"$ref": "#/components/schemas/Payment"},
        "invoice": {"$ref": "#/components/schemas/Invoice"},
        "subscription": {"$ref": "#/components/schemas/Subscription"},
        "account": {"$ref": "#/components/schemas/Account"},
    },
}

SCHEMAS: dict[str, Any] = {
    "InvoicePaymentReference": {
        "type": ["string", "null"],
        "description": ("The invoice's payment reference (what the payer was asked to write in the "
                        "transfer's description)."),
    },
    "ReviewFlags": {
        "type": "object",
        "required": ["reference_matches", "near_duplicate_of", "resubmits", "reference_clash_with"],
        "additionalProperties": False,
        "description": "Hints for the review.",
        "properties": {
            "reference_matches": {
                "type": "boolean",
                "description": "The payer's bank reference contains the invoice's payment reference.",
            },
            "near_duplicate_of": {
                "type": "array",
                "items": {"type": "string"},
                "description": ("Payments of the same account, method and amount in the 24 hours "
                                "before this one (flagged, not refused); the invoice's rejected "
                                "payments are not among them (see `resubmits`)."),
            },
            "resubmits": {
                "type": ["object", "null"],
                "required": ["payment_id", "rejection_reason"],
                "additionalProperties": False,
                "properties": {"payment_id": {"type": "string"},
                               "rejection_reason": {"type": ["string", "null"]}},
                "description": ("The invoice's payment rejected last before this one was "
                                "confirmed, with the admin's reason; null if none was."),
            },
            "reference_clash_with": {
                "type": "array",
                "items": {"type": "string"},
                "description": ("Payments of other accounts with the same method and bank "
                                "reference (flagged on both, not refused: one may be a claim of "
                                "another's genuine reference)."),
            },
        },
    },
    "ApprovalQueuePage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/QueuedPayment"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `?cursor=` for the next page; null on the last page.",
            },
        },
    },
    "PaymentDetail": {
        "type": "object",
        "required": [
            "payment",
            "invoice",
            "account",
            "history",
            "payment_reference",
            "flags",
            "proof_url",
        ],
        "properties": {
            "payment": {"$ref": "#/components/schemas/Payment"},
            "invoice": {"anyOf": [{"$ref": "#/components/schemas/Invoice"}, {"type": "null"}]},
            "account": {"anyOf": [{"$ref": "#/components/schemas/Account"}, {"type": "null"}]},
            "history": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/AuditEvent"},
                "description": "Every state change of the payment, oldest first.",
            },
            "payment_reference": {"$ref": "#/components/schemas/InvoicePaymentReference"},
            "flags": {"$ref": "#/components/schemas/ReviewFlags"},
            "proof_url": {
                "type": ["string", "null"],
                "format": "uri",
                "description": "A link to the proof of payment that works for 5 minutes, or null.",
            },
        },
    },
    "Approval": _AFTER_DECISION,
    "FirstApproval": {
        "type": "object",
        "required": ["payment", "approvals", "approvals_required"],
        "properties": {
            "payment": {"$ref": "#/components/schemas/Payment"},
            "approvals": {"$ref": "#/components/schemas/Approvals"},
            "approvals_required": {"type": "integer", "const": 2},
        },
    },
    "Approvals": {
        "type": "array",
        "description": "Who approved and when: the first of two approvals, then the deciding one.",
        "items": {"type": "object", "required": ["by", "at"],
                  "properties": {"by": {"type": "string"},
                                 "at": {"type": "string", "format": "date-time"}}},
    },
    "Reversal": _AFTER_DECISION,
    "Rejection": {
        "type": "object",
        "required": ["payment", "invoice"],
        "properties": {
            "payment": {"$ref": "#/components/schemas/Payment"},
            "invoice": {"$ref": "#/components/schemas/Invoice"},
        },
    },
    "SystemStatus": {
        "type": "object",
        "required": [
            "plans_configured",
            "payment_methods_enabled",
            "accounts",
            "payments_pending_approval",
        ],
        "properties": {
            "plans_configured": {"type": "integer", "minimum": 0},
            "payment_methods_enabled": {"type": "integer", "minimum": 0},
            "accounts": {
                "type": "object",
                "required": ["trial", "pending_payment", "active", "past_due", "suspended", "expired",
                             "cancelled", "total"],
                "properties": {
                    "trial": {"type": "integer"},
                    "pending_payment": {"type": "integer"},
                    "active": {"type": "integer"},
                    "past_due": {"type": "integer"},
                    "suspended": {"type": "integer"},
                    "expired": {"type": "integer"},
                    "cancelled": {"type": "integer"},
                    "total": {"type": "integer"},
                },
            },
            "payments_pending_approval": {"type": "integer"},
        },
        "description": ("Summed from sharded counters kept in the same transactions as the changes they count"
                        " (no table scan)."),
    },
    "InvoiceLookup": {
        "type": "object",
        "required": ["invoice", "account", "payments"],
        "properties": {
            "invoice": {"$ref": "#/components/schemas/Invoice"},
            "account": {"anyOf": [{"$ref": "#/components/schemas/Account"}, {"type": "null"}]},
            "payments": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Payment"},
                "description": "The invoice's payments, oldest first.",
            },
        },
    },
}
SCHEMAS["QueuedPayment"] = extended(
    BILLING["Payment"], "A payment awaiting approval with its account's name and owner's email.",
    account={"type": "object", "required": ["id", "name", "owner_email"],
             "properties": {"id": {"type": "string"}, "name": {"type": ["string", "null"]},
                            "owner_email": {"type": ["string", "null"], "format": "email",
                                            "description": "Tells apart accounts of one name."}}},
    payment_reference={"$ref": "#/components/schemas/InvoicePaymentReference"},
    flags={"$ref": "#/components/schemas/ReviewFlags"},
)
SCHEMAS["QueuedRenewal"] = extended(
    BILLING["Invoice"], "An unpaid renewal invoice with its subscription's and account's state.",
    payment_pending={"type": "boolean", "description": "A payment on it awaits approval."},
    subscription={"anyOf": [{"type": "null"}, {
        "type": "object", "required": ["id", "status", "plan", "current_period_end"],
        "properties": {"id": {"type": "string"}, "status": {"type": "string"},
                       "plan": {"type": "string"},
                       "current_period_end": {"type": ["string", "null"], "format": "date-time"}}}]},
    account={"anyOf": [{"type": "null"}, {
        "type": "object", "required": ["id", "name", "status"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                       "status": {"type": "string"}}}]},
)
SCHEMAS["RenewalPage"] = {
    "type": "object",
    "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/QueuedRenewal"}},
                   "next_cursor": {"type": ["string", "null"]}},
}
