"""Response schemas of credits, next to the views that build them (credits.consume, statement,
service_keys, entitlements)."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.schemas import ACCOUNT_STATUS

_BUCKETS = {"$ref": "#/components/schemas/CreditBuckets"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_USAGE = {"anyOf": [{"$ref": "#/components/schemas/CreditUsage"}, {"type": "null"}],
          "description": "A period's use of credits by day; null when there is no such period."}

SCHEMAS: dict[str, Any] = {
    "Consumption": {
        "type": "object",
        "required": ["entry_id", "account_id", "consumed", "credits", "credit_buckets"],
        "properties": {
            "entry_id": {"type": "string", "description": "The ledger entry (what release takes)."},
            "account_id": {"type": "string"},
            "consumed": {"type": "integer", "minimum": 1},
            "credits": {"type": "integer", "minimum": 0, "description": "The balance after."},
            "credit_buckets": _BUCKETS,
        },
    },
    "Entitlements": {
        "type": "object",
        "required": ["account_id", "status", "plan", "features", "credits", "credit_buckets",
                     "current_period_end", "can_use_credits"],
        "properties": {
            "account_id": {"type": "string"},
            "status": ACCOUNT_STATUS,
            "plan": {"type": "string", "description": "The plan's slug, e.g. `growth`."},
            "features": {"type": "array", "items": {"type": "string"},
                         "description": "The plan's features, as the catalog lists them."},
            "credits": {"type": "integer", "minimum": 0, "description": "allowance + extra."},
            "credit_buckets": _BUCKETS,
            "current_period_end": {**_TIME, "description": (
                "When the account's current period ends: a trial's end while it is a trial, else "
                "its subscription's `current_period_end` (the period paid for, or the one that "
                "ended unpaid while past due or suspended); null before the first payment.")},
            "can_use_credits": {"type": "boolean", "description": (
                "Whether `POST /api/v1/credits/consume` takes this account's credits, by its status "
                "(trial, active, past_due; the others are 409 `account_not_active`). A consumption "
                "also needs enough `credits`.")},
        },
    },
    "Release": {
        "type": "object",
        "required": ["entry_id", "released_entry_id", "account_id", "released", "credits",
                     "credit_buckets"],
        "properties": {
            "entry_id": {"type": "string", "description": "The release's own ledger entry."},
            "released_entry_id": {"type": "string"},
            "account_id": {"type": "string"},
            "released": {"type": "integer", "minimum": 0,
                         "description": "Credits given back (less than consumed when the "
                                        "allowance they came from has expired since)."},
            "credits": {"type": "integer", "minimum": 0},
            "credit_buckets": _BUCKETS,
        },
    },
    "LedgerEntry": {
        "type": "object",
        "required": ["id", "amount", "bucket", "reason", "reference", "created_at", "balance_after"],
        "properties": {
            "id": {"type": "string"},
            "amount": {"type": "integer", "description": "Negative for use, expiry, correction."},
            "bucket": {"type": "string", "enum": ["allowance", "extra", "both"]},
            "reason": {"type": "string", "examples": ["consumed", "allowance_granted", "topup"]},
            "reference": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "balance_after": {"type": ["integer", "null"],
                              "description": "The account's credits just after this entry."},
        },
    },
    "CreditUsageDay": {
        "type": "object", "required": ["date", "consumed"],
        "properties": {"date": {"type": "string", "format": "date"},
                       "consumed": {"type": "integer"}},
    },
    "CreditUsage": {
        "type": "object",
        "required": ["start", "end", "days"],
        "properties": {
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "days": {"type": "array", "items": {"$ref": "#/components/schemas/CreditUsageDay"}},
        },
    },
    "CreditStatement": {
        "type": "object",
        "required": ["credits", "credit_buckets", "allowance_expires_at", "items", "next_cursor",
                     "usage"],
        "properties": {
            "credits": {"type": "integer", "minimum": 0},
            "credit_buckets": _BUCKETS,
            "allowance_expires_at": {**_TIME, "description": "When the allowance resets (the "
                                                             "period's or the trial's end)."},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/LedgerEntry"},
                      "description": "Newest first."},
            "next_cursor": {"type": ["string", "null"]},
            "usage": {"type": "object", "required": ["current", "previous"],
                      "properties": {"current": _USAGE, "previous": _USAGE}},
        },
    },
    "NewServiceKey": {
        "type": "object",
        "required": ["id", "name", "key", "created_at"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                       "key": {"type": ["string", "null"], "pattern": "^sk_",
                               "description": "Shown once: null when a retry with the same "
                                              "Idempotency-Key replays the answer."},
                       "created_at": {"type": "string", "format": "date-time"}},
    },
    "ServiceKey": {
        "type": "object",
        "required": ["id", "name", "created_at", "created_by", "last_used_at", "revoked_at"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                       "created_at": {"type": "string", "format": "date-time"},
                       "created_by": {"type": "string"}, "last_used_at": _TIME,
                       "revoked_at": _TIME},
    },
    "ServiceKeyList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ServiceKey"}}},
    },
    "AdminAccount": {
        "type": "object",
        "required": ["account", "subscription", "credits", "users", "invoices", "payments", "history",
                     "hold"],
        "properties": {
            "account": {"$ref": "#/components/schemas/Account"},
            "subscription": {"anyOf": [{"$ref": "#/components/schemas/Subscription"}, {"type": "null"}]},
            "credits": {"$ref": "#/components/schemas/CreditStatement"},
            "users": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
            "hold": {"description": "Suspended by an owner: why, and the status it gets back.",
                     "anyOf": [{"type": "null"}, {
                         "type": "object", "required": ["reason", "status_after"],
                         "properties": {"reason": {"type": "string"},
                                        "status_after": {"type": "string"}}}]},
            "invoices": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"},
                         "description": "Newest first, at most 50."},
            "payments": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"},
                         "description": "Newest first, at most 50."},
            "history": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"},
                        "description": "Every state change of the account and its subscription, "
                                       "oldest first."},
        },
    },
    "AccountHeld": {
        "type": "object", "required": ["account"],
        "properties": {"account": {"$ref": "#/components/schemas/Account"}},
    },
    "AccountSearch": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["id", "name", "status", "plan", "billing_country", "matched"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                           "status": {"type": "string"}, "plan": {"type": "string"},
                           "billing_country": {"type": ["string", "null"]},
                           "matched": {"type": "string", "enum": ["email", "invoice_number",
                                                                  "payment_reference", "name"]}}}}},
    },
    "CreditGrant": {
        "type": "object",
        "required": ["entry", "account"],
        "properties": {"entry": {"$ref": "#/components/schemas/LedgerEntry"},
                       "account": {"$ref": "#/components/schemas/Account"}},
    },
}
