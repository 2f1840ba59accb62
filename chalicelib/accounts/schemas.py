"""Response schemas of accounts, next to the views that build them (accounts.views)."""
from __future__ import annotations

from typing import Any

ACCOUNT_STATUS: dict[str, Any] = {
    "type": "string",
    "enum": ["trial", "pending_payment", "active", "past_due", "suspended", "expired", "cancelled"],
}

SCHEMAS: dict[str, Any] = {
    "User": {
        "type": "object",
        "required": ["id", "email", "name", "role", "account_id", "email_verified", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["user", "admin"]},
            "admin_role": {"type": ["string", "null"], "enum": ["owner", "approver", "viewer", None],
                           "description": "An admin's role (null for a user): what the console "
                                          "shows them."},
            "account_id": {"type": "string"},
            "email_verified": {
                "type": "boolean",
                "description": ("Whether the user's address is verified (its link opened). Until "
                                "it is, it receives no email but the verification and reset "
                                "emails; the others wait and are sent once it is."),
            },
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "Account": {
        "type": "object",
        "required": ["id", "name", "status", "credits", "credit_buckets", "trial_ends_at", "balance",
                     "balance_currency", "plan", "billing_country", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "status": ACCOUNT_STATUS,
            "credits": {"type": "integer", "minimum": 0,
                        "description": "allowance + extra; the sum of the account's ledger."},
            "credit_buckets": {"$ref": "#/components/schemas/CreditBuckets"},
            "trial_ends_at": {"type": ["string", "null"], "format": "date-time",
                              "description": "When a trial ends (null unless `trial`)."},
            "balance": {"$ref": "#/components/schemas/Amount"},
            "balance_currency": {"type": ["string", "null"]},
            "plan": {"type": "string"},
            "billing_country": {"type": ["string", "null"], "pattern": "^[A-Z]{2}$"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "CreditBuckets": {
        "type": "object",
        "description": ("`allowance`: the plan's credits for the current period (a trial's credits "
                        "during the trial), reset each period; `extra`: carried-over trial credits, "
                        "top-ups and grants, never expiring. Use takes from `allowance` first."),
        "required": ["allowance", "extra"],
        "properties": {"allowance": {"type": "integer", "minimum": 0},
                       "extra": {"type": "integer", "minimum": 0}},
    },
    "Token": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "refresh_token", "user"],
        "properties": {
            "access_token": {
                "type": "string",
                "description": "A JWT; send as `Authorization: Bearer <token>`.",
            },
            "token_type": {"type": "string", "const": "Bearer"},
            "expires_in": {"type": "integer", "minimum": 1,
                           "description": "The access token's lifetime in seconds (900)."},
            "refresh_token": {
                "type": "string",
                "description": ("Gets a new pair at POST /api/v1/auth/refresh, once (a second use "
                                "ends the session); valid 30 days from its issue."),
            },
            "user": {"$ref": "#/components/schemas/User"},
        },
    },
    "Accepted": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}},
        "description": "The same answer whether or not an account has the email.",
    },
    "EmailVerified": {
        "type": "object",
        "required": ["email", "verified_at", "released"],
        "properties": {
            "email": {"type": "string", "format": "email"},
            "verified_at": {"type": "string", "format": "date-time"},
            "released": {"type": "integer", "minimum": 0,
                         "description": "How many held emails are now sent."},
        },
    },
    "VerificationQueued": {
        "type": "object",
        "required": ["addresses"],
        "properties": {"addresses": {
            "type": "array", "items": {"type": "string", "format": "email"},
            "description": "The addresses a new link was sent to (none: all are verified)."}},
    },
    "Registration": {
        "type": "object",
        "required": [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "user",
            "account",
            "subscription",
            "invoice",
        ],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "const": "Bearer"},
            "expires_in": {"type": "integer", "minimum": 1},
            "refresh_token": {"type": "string"},
            "user": {"$ref": "#/components/schemas/User"},
            "account": {"$ref": "#/components/schemas/Account"},
            "subscription": {
                "anyOf": [{"$ref": "#/components/schemas/Subscription"}, {"type": "null"}],
            },
            "invoice": {"anyOf": [{"$ref": "#/components/schemas/Invoice"}, {"type": "null"}]},
        },
        "description": "`subscription` and `invoice` are null for a free trial.",
    },
    "Me": {
        "type": "object",
        "required": ["user", "account", "subscription", "pending_invoice"],
        "properties": {
            "user": {"$ref": "#/components/schemas/User"},
            "account": {"$ref": "#/components/schemas/Account"},
            "subscription": {
                "anyOf": [{"$ref": "#/components/schemas/Subscription"}, {"type": "null"}],
            },
            "pending_invoice": {
                "anyOf": [{"$ref": "#/components/schemas/PendingInvoice"}, {"type": "null"}],
            },
        },
    },
}

SCHEMAS["Admin"] = {
    "type": "object",
    "required": ["id", "email", "name", "admin_role", "disabled", "invited", "invitation_expires_at",
                 "invited_by", "created_at"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string"},
        "admin_role": {"type": "string", "enum": ["owner", "approver", "viewer"]},
        "disabled": {"type": "boolean"},
        "invited": {"type": "boolean", "description": "Invited, the invitation not accepted yet."},
        "invitation_expires_at": {"type": ["string", "null"], "format": "date-time"},
        "invited_by": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
SCHEMAS["AdminList"] = {
    "type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Admin"}}},
}
