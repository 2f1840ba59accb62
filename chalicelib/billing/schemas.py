"""Response schemas of billing, next to the views that build them (billing.views)."""
from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.shared import extended

SCHEMAS: dict[str, Any] = {
    "Subscription": {
        "type": "object",
        "required": [
            "id",
            "account_id",
            "plan",
            "status",
            "current_period_start",
            "current_period_end",
            "created_at",
            "cancel_at_period_end",
            "scheduled_plan",
            "next_invoice_at",
            "renewal_invoice_id",
            "upgrade_invoice_id",
            "suspends_at",
            "cancels_at",
        ],
        "properties": {
            "id": {"type": "string"},
            "account_id": {"type": "string"},
            "plan": {"type": "string"},
            "status": {"type": "string",
                       "enum": ["pending_payment", "active", "past_due", "suspended", "cancelled"]},
            "current_period_start": {"type": ["string", "null"], "format": "date-time"},
            "current_period_end": {"type": ["string", "null"], "format": "date-time"},
            "created_at": {"type": "string", "format": "date-time"},
            "cancel_at_period_end": {"type": "boolean"},
            "scheduled_plan": {"type": ["string", "null"],
                               "description": "A downgrade waiting for the period end."},
            "next_invoice_at": {"type": ["string", "null"], "format": "date-time",
                                "description": "When the next renewal invoice will be issued; null "
                                               "once it is issued, or if none will be (cancelling)."},
            "renewal_invoice_id": {"type": ["string", "null"]},
            "upgrade_invoice_id": {"type": ["string", "null"]},
            "suspends_at": {"type": ["string", "null"], "format": "date-time",
                            "description": "While past_due: when it is suspended if still unpaid."},
            "cancels_at": {"type": ["string", "null"], "format": "date-time",
                           "description": "While past_due or suspended: when it is cancelled if "
                                          "still unpaid."},
        },
    },
    "BillingSnapshot": {
        "type": "object",
        "description": ("The billing details copied into the invoice at signup (absent optional fields are "
                        "left out)."),
        "required": ["billing_name", "billing_email", "address_line1", "city", "country"],
        "properties": {
            "billing_name": {"type": "string"},
            "billing_email": {"type": "string"},
            "address_line1": {"type": "string"},
            "address_line2": {"type": "string"},
            "city": {"type": "string"},
            "state": {"type": "string"},
            "postal_code": {"type": "string"},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "tax_id": {"type": "string"},
        },
    },
    "Invoice": {
        "type": "object",
        "required": [
            "id",
            "invoice_number",
            "account_id",
            "subscription_id",
            "status",
            "amount",
            "currency",
            "plan",
            "billing_snapshot",
            "preferred_payment_method",
            "due_date",
            "created_at",
            "paid_at",
            "payment_reference",
            "kind",
            "period_start",
            "period_end",
            "amount_due",
            "amount_paid",
            "written_off",
            "balance_applied",
            "quotes",
        ],
        "properties": {
            "id": {"type": "string"},
            "invoice_number": {
                "type": "string",
                "pattern": "^INV-[0-9]{4}-[0-9]{6,}$",
                "examples": ["INV-2026-000042"],
            },
            "account_id": {"type": "string"},
            "subscription_id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "partially_paid", "paid", "void"]},
            "amount": {"$ref": "#/components/schemas/Amount"},
            "currency": {"$ref": "#/components/schemas/Currency"},
            "plan": {"type": "string"},
            "billing_snapshot": {"$ref": "#/components/schemas/BillingSnapshot"},
            "preferred_payment_method": {
                "type": ["string", "null"],
                "description": "The method chosen at signup, if any.",
            },
            "due_date": {"type": "string", "format": "date"},
            "created_at": {"type": "string", "format": "date-time"},
            "paid_at": {"type": ["string", "null"], "format": "date-time"},
            "payment_reference": {
                "type": ["string", "null"],
                "pattern": "^PR-[23456789ABCDEFGHJKMNPQRSTVWXY]{4}-[23456789ABCDEFGHJKMNPQRSTVWXY]{4}$",
                "description": ("What the payer writes in the transfer's description: `PR-` and 8 characters,"
                                " the last a check character that catches a mistyped or swapped character. "
                                "Null only on invoices made before references existed."),
                "examples": ["PR-7K4Q-X9MP"],
            },
            "kind": {"type": "string", "enum": ["signup", "renewal", "upgrade", "topup"]},
            "period_start": {"type": ["string", "null"], "format": "date-time"},
            "period_end": {"type": ["string", "null"], "format": "date-time"},
            "amount_due": {"$ref": "#/components/schemas/Amount"},
            "amount_paid": {"$ref": "#/components/schemas/Amount"},
            "written_off": {"$ref": "#/components/schemas/Amount",
                            "description": "Shortfalls within the method's tolerance, written off."},
            "balance_applied": {"$ref": "#/components/schemas/Amount",
                                "description": "Paid from the account's balance at issue."},
            "quotes": {"type": "array", "items": {"$ref": "#/components/schemas/Quote"},
                       "description": "amount = amount_paid + written_off + balance_applied + "
                                      "amount_due. `quotes`: the amount in each local currency of the "
                                      "country's methods, fixed at issue."},
        },
    },
    "Quote": {
        "type": "object",
        "required": ["currency", "amount", "rate", "amount_due"],
        "properties": {
            "currency": {"$ref": "#/components/schemas/Currency"},
            "amount": {"$ref": "#/components/schemas/Amount",
                       "description": "The amount due at issue in this currency: send exactly this."},
            "rate": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,6})?$",
                     "description": "Units of this currency per 1 unit of the invoice's, fixed at issue."},
            "amount_due": {"$ref": "#/components/schemas/Amount",
                           "description": "What is still due, in this currency at this rate."},
        },
    },
    "Payment": {
        "type": "object",
        "required": [
            "id",
            "invoice_id",
            "account_id",
            "status",
            "payment_method",
            "method_name",
            "amount",
            "currency",
            "manual_reference",
            "manual_notes",
            "admin_notes",
            "created_at",
            "decided_at",
            "decided_by",
            "proof",
            "settles",
            "applied",
            "written_off",
            "excess",
            "rate",
            "invoice_currency",
            "source",
            "statement_line_id",
            "approvals",
            "approvals_required",
            "reversal",
        ],
        "properties": {
            "id": {"type": "string"},
            "invoice_id": {"type": "string"},
            "account_id": {"type": "string"},
            "status": {"type": "string",
                       "enum": ["pending_approval", "succeeded", "failed", "reversed"],
                       "description": "reversed: it had succeeded, and an owner reversed it "
                                      "(`reversal`)."},
            "payment_method": {"type": "string"},
            "method_name": {"type": ["string", "null"],
                            "description": "The method's display name when it was confirmed, e.g. "
                                           "\"JazzCash\" (null in payments from before names)."},
            "amount": {"$ref": "#/components/schemas/Amount"},
            "currency": {"$ref": "#/components/schemas/Currency"},
            "manual_reference": {"type": "string"},
            "manual_notes": {"type": ["string", "null"]},
            "admin_notes": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "decided_by": {
                "type": ["string", "null"],
                "description": "Who decided: the admin's email on admin routes; on the "
                               "customer's own routes the role \"our billing team\".",
            },
            "proof": {"$ref": "#/components/schemas/Proof"},
            "settles": {"type": "string", "enum": ["full", "partial", "overpayment"],
                        "description": "What the payment settles of the invoice's amount due."},
            "applied": {"$ref": "#/components/schemas/Amount",
                        "description": "What it pays of the invoice, in the invoice's currency."},
            "written_off": {"$ref": "#/components/schemas/Amount"},
            "excess": {"$ref": "#/components/schemas/Amount",
                       "description": "An overpayment's excess, to the account's balance."},
            "rate": {"type": ["string", "null"],
                     "description": "The invoice's rate, when paid in a local currency."},
            "invoice_currency": {"$ref": "#/components/schemas/Currency"},
            "source": {"type": "string", "enum": ["confirmation", "statement"],
                       "description": "confirmation: the payer confirmed it; statement: an admin "
                                      "recorded it from a bank statement line (no one confirmed)."},
            "statement_line_id": {"type": ["string", "null"],
                                  "description": "The bank statement line its approval came from."},
            "approvals": {"$ref": "#/components/schemas/Approvals"},
            "reversal": {
                "type": ["object", "null"],
                "required": ["at", "by", "reason"],
                "properties": {"at": {"type": "string", "format": "date-time"},
                               "by": {"type": "string", "description": "The owner's email."},
                               "reason": {"type": "string"}},
                "description": "Who reversed the payment, when and why (null unless reversed).",
            },
            "approvals_required": {"type": "integer", "enum": [1, 2],
                                   "description": "2 for a payment worth more than "
                                                  "SECOND_APPROVAL_ABOVE: two admins approve it."},
        },
    },
    "AuditEvent": {
        "type": "object",
        "required": [
            "at",
            "entity_type",
            "entity_id",
            "action",
            "actor",
            "from_status",
            "to_status",
            "notes",
        ],
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "entity_type": {"type": "string"},
            "entity_id": {"type": "string"},
            "action": {"type": "string", "examples": ["submitted", "approved", "rejected"]},
            "actor": {"type": "string", "description": "A user id, an admin's email or system."},
            "from_status": {"type": ["string", "null"]},
            "to_status": {"type": "string"},
            "notes": {"type": ["string", "null"]},
        },
    },
    "InvoicePage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `?cursor=` for the next page; null on the last page.",
            },
        },
    },
    "PaymentPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `?cursor=` for the next page; null on the last page.",
            },
        },
    },
    "Proof": {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "required": ["content_type", "size", "uploaded_at"],
                "additionalProperties": False,
                "properties": {
                    "content_type": {"enum": ["image/png", "image/jpeg", "application/pdf"]},
                    "size": {"type": "integer", "minimum": 1, "maximum": 5242880},
                    "uploaded_at": {"type": "string", "format": "date-time"},
                },
            },
        ],
        "description": "The attached proof of payment (receipt or screenshot), or null.",
    },
    "ProofUpload": {
        "type": "object",
        "required": ["upload", "content_type", "max_bytes", "expires_in"],
        "properties": {
            "upload": {
                "type": "object",
                "required": ["url", "fields"],
                "properties": {
                    "url": {"type": "string", "format": "uri"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "description": ("POST the file as multipart/form-data to `url`: every `fields` entry, then "
                                "the file as `file` (last)."),
            },
            "content_type": {"type": "string"},
            "max_bytes": {"type": "integer", "const": 5242880},
            "expires_in": {"type": "integer", "description": "Seconds the form stays valid."},
        },
    },
}
SCHEMAS["PdfDocument"] = {
    "type": "string", "format": "binary", "contentMediaType": "application/pdf",
    "description": "A PDF document (its bytes; `Content-Disposition: inline; filename=...`).",
}
SCHEMAS["SubscriptionWithInvoice"] = {
    "type": "object",
    "required": ["subscription", "invoice"],
    "properties": {
        "subscription": {"$ref": "#/components/schemas/Subscription"},
        "invoice": {"anyOf": [{"$ref": "#/components/schemas/Invoice"}, {"type": "null"}],
                    "description": "The invoice to pay (null when nothing is to be paid)."},
        "account": {"$ref": "#/components/schemas/Account"},
    },
}
SCHEMAS["SubscriptionResult"] = {
    "type": "object",
    "required": ["subscription"],
    "properties": {"subscription": {"$ref": "#/components/schemas/Subscription"}},
}
SCHEMAS["PlanChangePreview"] = {
    "type": "object",
    "required": ["plan", "change", "amount", "currency", "credits", "effective_at"],
    "properties": {
        "plan": {"type": "string"},
        "change": {"type": "string", "enum": ["upgrade", "downgrade", "cancel_downgrade", "none"]},
        "amount": {"$ref": "#/components/schemas/Amount"},
        "currency": {"$ref": "#/components/schemas/Currency"},
        "credits": {"type": "integer", "minimum": 0,
                    "description": "Credits an upgrade adds once its invoice is approved."},
        "effective_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
SCHEMAS["PendingInvoice"] = extended(
    SCHEMAS["Invoice"],
    "The invoice awaiting payment, with its latest payment (or null when none was confirmed yet).",
    latest_payment={"anyOf": [{"$ref": "#/components/schemas/Payment"}, {"type": "null"}]},
)
SCHEMAS["FxRate"] = {
    "type": "object",
    "required": ["currency", "rate", "base", "updated_at", "updated_by", "history"],
    "properties": {
        "currency": {"$ref": "#/components/schemas/Currency"},
        "rate": {"type": "string", "description": "Units of `currency` per 1 `base`."},
        "base": {"$ref": "#/components/schemas/Currency"},
        "updated_at": {"type": "string", "format": "date-time"},
        "updated_by": {"type": "string"},
        "history": {"type": "array", "description": "Its changes, newest first (the last 20).",
                    "items": {"type": "object", "required": ["at", "by", "old_rate", "new_rate"],
                              "properties": {"at": {"type": "string", "format": "date-time"},
                                             "by": {"type": "string"},
                                             "old_rate": {"type": ["string", "null"]},
                                             "new_rate": {"type": "string"}}}},
    },
}
SCHEMAS["FxRateList"] = {
    "type": "object",
    "required": ["base", "currencies", "items"],
    "properties": {
        "base": {"$ref": "#/components/schemas/Currency"},
        "currencies": {"type": "array", "items": {"type": "string"},
                       "description": "The currencies a rate can be set for (the methods')."},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/FxRate"}},
    },
}
