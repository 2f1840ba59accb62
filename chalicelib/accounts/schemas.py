"""Response schemas of accounts, next to the views that build them (accounts.views)."""
from __future__ import annotations

from typing import Any

SCHEMAS: dict[str, Any] = {
    "User": {
        "type": "object",
        "required": ["id", "email", "name", "role", "account_id", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["user", "admin"]},
            "account_id": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "Account": {
        "type": "object",
        "required": ["id", "name", "status", "credits", "plan", "billing_country", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["trial", "pending_payment", "active", "suspended"],
            },
            "credits": {"type": "integer"},
            "plan": {"type": "string"},
            "billing_country": {"type": ["string", "null"], "pattern": "^[A-Z]{2}$"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "Token": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "user"],
        "properties": {
            "access_token": {
                "type": "string",
                "description": "A JWT; send as `Authorization: Bearer <token>`.",
            },
            "token_type": {"type": "string", "const": "Bearer"},
            "expires_in": {"type": "integer", "minimum": 1, "description": "Lifetime in seconds."},
            "user": {"$ref": "#/components/schemas/User"},
        },
    },
    "Registration": {
        "type": "object",
        "required": [
            "access_token",
            "token_type",
            "expires_in",
            "user",
            "account",
            "subscription",
            "invoice",
        ],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "const": "Bearer"},
            "expires_in": {"type": "integer", "minimum": 1},
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
