"""Response schemas of the catalog, next to the views that build them (catalog.views)."""
from __future__ import annotations

from typing import Any

SCHEMAS: dict[str, Any] = {
    "Plan": {
        "type": "object",
        "required": ["slug", "name", "price", "currency", "billing_cycle", "credits", "features"],
        "properties": {
            "slug": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
            "name": {"type": "string"},
            "price": {"$ref": "#/components/schemas/Amount"},
            "currency": {"$ref": "#/components/schemas/Currency"},
            "billing_cycle": {"type": "string", "examples": ["monthly"]},
            "credits": {"type": "integer"},
            "features": {"type": "array", "items": {"type": "string"}},
        },
    },
    "PaymentMethod": {
        "type": "object",
        "required": ["id", "payment_method", "display_name", "instructions", "country", "details"],
        "properties": {
            "id": {"type": "string"},
            "payment_method": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
            "display_name": {"type": "string"},
            "instructions": {"type": "string"},
            "country": {
                "type": ["string", "null"],
                "pattern": "^[A-Z]{2}$",
                "description": "ISO 3166-1 alpha-2, or null for a global method.",
            },
            "details": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": ("What a payer needs: account_title, bank_name, account_number, iban, swift, "
                                "wallet_number, email, currency, ..."),
            },
        },
    },
    "Pack": {
        "type": "object",
        "description": "Credits bought once, into the `extra` bucket (they never expire).",
        "required": ["slug", "name", "credits", "price", "currency"],
        "properties": {"slug": {"type": "string", "examples": ["pack_1000"]},
                       "name": {"type": "string"}, "credits": {"type": "integer", "minimum": 1},
                       "price": {"$ref": "#/components/schemas/Amount"},
                       "currency": {"$ref": "#/components/schemas/Currency"}},
    },
    "PlanList": {
        "type": "object",
        "required": ["items", "packs"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Plan"}},
                       "packs": {"type": "array", "items": {"$ref": "#/components/schemas/Pack"},
                                 "description": "Top-up packs (POST /api/v1/billing/topups)."}},
    },
    "PaymentMethodList": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/PaymentMethod"},
        "description": "Enabled global methods, then the country's, each in display order.",
    },
}
