"""Response schemas of bank statements, next to the views that build them (statements.views)."""
from __future__ import annotations

from typing import Any

from chalicelib.admin.schemas import SCHEMAS as ADMIN
from chalicelib.api.openapi.shared import extended

_EVIDENCE = {"type": "string", "enum": ["exact", "within_tolerance", "partial", "over", "none"]}
_STATUS = {"type": "string", "enum": ["matched", "suggested", "unmatched", "ignored", "applied"]}
_SIGNED = {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "examples": ["24964.50", "-12.00"],
           "description": "The line's amount with its currency's decimals; negative: money out."}
_COUNTS = {name: {"type": "integer", "minimum": 0} for name in (
    "lines", "new_lines", "duplicate_lines", "matched", "suggested", "unmatched", "ignored")}
_NULLABLE = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "Statement": {
        "type": "object",
        "description": ("An imported statement and its import report: `lines` in the file, "
                        "`new_lines` stored by this import and `duplicate_lines` already stored (by "
                        "this or another file), and how the new ones matched."),
        "required": ["id", "filename", "format", "status", "bank_account", "currency",
                     "imported_at", "imported_by", *_COUNTS],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"}, "filename": {"type": "string"},
            "format": {"type": "string", "enum": ["csv", "mt940", "camt053"]},
            "status": {"type": "string", "enum": ["importing", "imported"]},
            "bank_account": {**_NULLABLE, "description": "The statement's IBAN or account number."},
            "currency": {**_NULLABLE, "description": "When all its lines have one."},
            "imported_at": {"type": "string", "format": "date-time"},
            "imported_by": {"type": "string"}, **_COUNTS,
        },
    },
    "StatementPage": {
        "type": "object", "required": ["items", "next_cursor"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Statement"}},
                       "next_cursor": _NULLABLE},
    },
    "StatementLineMatch": {
        "type": "object",
        "description": ("The invoice (and pending payment) a line matched or is suggested for, the "
                        "other candidates, the mistyped reference if any, and the evidence per "
                        "criterion."),
        "required": ["invoice_id", "invoice_number", "invoice_status", "account_id", "account_name",
                     "amount_due", "invoice_currency", "payment_id", "candidates", "typo", "evidence"],
        "additionalProperties": False,
        "properties": {
            "invoice_id": _NULLABLE, "invoice_number": _NULLABLE, "invoice_status": _NULLABLE,
            "account_id": _NULLABLE, "account_name": _NULLABLE,
            "amount_due": {**_NULLABLE, "description": "The invoice's amount due at the import."},
            "invoice_currency": _NULLABLE,
            "payment_id": {**_NULLABLE, "description": "The pending confirmation, if any."},
            "candidates": {"type": "array", "items": {"type": "string"},
                           "description": "Every invoice considered, the chosen one first."},
            "typo": {**_NULLABLE, "description": "A reference in the line whose check character "
                                                 "is wrong, as written (e.g. PR-7K4Q-X9MN)."},
            "evidence": {
                "type": "object", "additionalProperties": False,
                "required": ["payment_reference", "bank_reference", "amount", "payer"],
                "properties": {"payment_reference": _EVIDENCE, "bank_reference": _EVIDENCE,
                               "amount": _EVIDENCE, "payer": _EVIDENCE},
            },
        },
    },
    "StatementLine": {
        "type": "object",
        "required": ["id", "statement_id", "booked_at", "amount", "currency", "description",
                     "counterparty", "bank_reference", "reference", "status", "match", "payment_id",
                     "decided_at", "decided_by", "ignore_reason", "exact"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"}, "statement_id": {"type": "string"},
            "booked_at": {"type": "string", "format": "date"}, "amount": _SIGNED,
            "currency": {"$ref": "#/components/schemas/Currency"},
            "description": {"type": "string"}, "counterparty": _NULLABLE,
            "bank_reference": _NULLABLE, "reference": _NULLABLE, "status": _STATUS,
            "match": {"anyOf": [{"$ref": "#/components/schemas/StatementLineMatch"}, {"type": "null"}]},
            "payment_id": {**_NULLABLE, "description": "The payment an applied line approved or recorded."},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "decided_by": _NULLABLE, "ignore_reason": _NULLABLE,
            "exact": {"type": "boolean",
                      "description": "\"Apply all exact matches\" takes it: matched by an exact "
                                     "payment reference, amount within tolerance, one candidate."},
        },
    },
    "StatementLinePage": {
        "type": "object", "required": ["statement", "items", "next_cursor"],
        "properties": {"statement": {"$ref": "#/components/schemas/Statement"},
                       "items": {"type": "array", "items": {"$ref": "#/components/schemas/StatementLine"}},
                       "next_cursor": _NULLABLE},
    },
    "StatementLineApplied": {
        "type": "object",
        "required": ["payment", "invoice", "subscription", "account", "line"],
        "properties": {**ADMIN["Approval"]["properties"],
                       "line": {"$ref": "#/components/schemas/StatementLine"}},
    },
    "StatementLineFirstApproval": {
        "type": "object", "required": ["line", "payment", "approvals", "approvals_required"],
        "properties": {"line": {"$ref": "#/components/schemas/StatementLine"},
                       "payment": {"$ref": "#/components/schemas/Payment"},
                       "approvals": {"$ref": "#/components/schemas/Approvals"},
                       "approvals_required": {"type": "integer", "const": 2}},
    },
    "StatementLineIgnored": {
        "type": "object", "required": ["line"],
        "properties": {"line": {"$ref": "#/components/schemas/StatementLine"}},
    },
    "ExactMatchesApplied": {
        "type": "object", "required": ["statement_id", "applied", "skipped", "failed", "items",
                                       "awaiting_second_approval"],
        "properties": {
            "statement_id": {"type": "string"},
            "awaiting_second_approval": {
                "type": "array", "items": {"type": "string"},
                "description": "Lines worth more than SECOND_APPROVAL_ABOVE: this click gave their "
                               "payments the first of two approvals; another admin approves them "
                               "in the approval queue."},
            "applied": {"type": "integer", "minimum": 0},
            "skipped": {"type": "integer", "minimum": 0,
                        "description": "Matched lines that are not exact, or were applied meanwhile."},
            "failed": {"type": "array", "items": {
                "type": "object", "required": ["line_id", "code", "message"],
                "properties": {"line_id": {"type": "string"}, "code": {"type": "string"},
                               "message": {"type": "string"}}}},
            "items": {"type": "array", "items": {
                "type": "object", "required": ["line_id", "payment_id", "invoice_id", "invoice_status"],
                "properties": {"line_id": {"type": "string"}, "payment_id": {"type": "string"},
                               "invoice_id": {"type": "string"},
                               "invoice_status": {"type": "string"}}}},
        },
    },
    "UnmatchedConfirmationPage": {
        "type": "object", "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array",
                      "items": {"$ref": "#/components/schemas/UnmatchedConfirmation"}},
            "next_cursor": _NULLABLE,
        },
    },
}
SCHEMAS["StatementDetail"] = extended(
    SCHEMAS["Statement"], "A statement, its import report, and its lines by status now.",
    now={"type": "object", "description": "How many of its lines are in each status now.",
         "required": list(_STATUS["enum"]),
         "properties": {name: {"type": "integer", "minimum": 0} for name in _STATUS["enum"]}})
SCHEMAS["UnmatchedConfirmation"] = extended(
    ADMIN["QueuedPayment"], "A payment awaiting approval for 3 days or more that no statement "
                            "line has matched.",
    days_waiting={"type": "integer", "minimum": 3})
