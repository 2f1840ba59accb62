"""The parts of the OpenAPI description that no capability owns: the document's info, the error
shape, money, the shared parameters and error responses, and the bearer scheme."""
from __future__ import annotations

import copy
from typing import Any

DESCRIPTION = """\
Billing for a SaaS sold with **manual payments** (bank transfer, wallets, Wise, PayPal ...).

**Manual payment workflow**

1. `POST /api/v1/auth/register` with `plan: free` (or no plan) starts a free trial: account
   `trial` with 1000 credits, no subscription, no invoice. A paid plan (`starter`, `growth`,
   `scale`) needs `billing` details and creates account `pending_payment`, subscription
   `pending_payment` and invoice `pending` for the plan price.
2. The user looks up how to pay with `GET /api/v1/billing/admin/payment-methods?country=PK`
   (public despite its path), pays outside the system, then reports it with
   `POST /api/v1/billing/admin/payments/confirm` (a **user** route despite its path), which
   creates a payment `pending_approval`.
3. An admin works the queue `GET /api/v1/billing/admin/payments?status=pending_approval` and
   either approves (payment `succeeded`, invoice `paid`, subscription and account `active`, the
   plan's credits granted once, all in one transaction) or rejects with a reason (payment
   `failed`, the invoice stays `pending`, and the user can confirm again).

**Conventions**

- JSON in and out, but for the PDF documents (`.../pdf`: `application/pdf`, asked for with
  `Accept: application/pdf`) and the admin's CSV exports (`.../exports/*.csv`: `text/csv`, or a
  link to the file when it is too large for one response). A request whose `Content-Type` is present and not
  `application/json` gets 415 on every route. Paths are declared without a trailing slash; a trailing slash reaches
  the same route.
- Money is a decimal string with exactly two decimals plus an ISO 4217 `currency`
  (`"amount": "89.00", "currency": "USD"`), never a number. Timestamps are ISO 8601 UTC to
  the second (`2026-11-27T10:15:00Z`). IDs are opaque strings.
- Text fields are trimmed of surrounding whitespace; control characters are rejected.
- Lists are `{"items": [...], "next_cursor": string|null}`; pass `?cursor=` to continue.
- Every error has the shape `{"error": {"code", "message", "details"}}`: 400 malformed
  (bad JSON, unknown field, wrong type, bad query value), 401 token or login, 403 admin
  route, 404 not found (also another account's), 409 state conflict, 413 body over 16 KiB,
  406 a PDF asked for without `Accept: application/pdf`, 415 not JSON, 422 well-formed but
  invalid (a missing required field is 422, not 400),
  503 data store busy or unavailable (with `Retry-After`). Any route can answer 500
  `internal_error` for an unexpected failure.
- A method a path does not declare gets 405 `method_not_allowed` with an `Allow` header; a
  path that is not declared here gets 404 `route_not_found`.
"""

INFO: dict[str, Any] = {
    "title": "Billing API",
    "version": "1.0.0",
    "description": DESCRIPTION,
    "license": {"name": "Proprietary: all rights reserved", "identifier": "LicenseRef-Proprietary"},
}
SERVERS: list[dict[str, Any]] = [{"url": "/", "description": "This deployment (paths carry /api/v1)."}]
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "pattern": "^[a-z][a-z0-9_]*$",
                        "description": "Stable snake_case code, e.g. amount_mismatch.",
                    },
                    "message": {"type": "string", "description": "A human sentence."},
                    "details": {
                        "type": "object",
                        "additionalProperties": True,
                        "description": ("Context; `fields` maps each offending field to its problem (400 and "
                                        "422)."),
                        "properties": {
                            "fields": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
    "Amount": {
        "type": "string",
        "pattern": "^[0-9]+\\.[0-9]{2}$",
        "examples": ["89.00"],
        "description": "Money: a decimal string with exactly two decimals.",
    },
    "Currency": {
        "type": "string",
        "pattern": "^[A-Z]{3}$",
        "examples": ["USD"],
        "description": "ISO 4217 code.",
    },
    "OpenApiDocument": {
        "type": "object",
        "required": ["openapi", "info", "paths"],
        "additionalProperties": True,
        "properties": {"openapi": {"type": "string", "pattern": "^3\\.1\\.\\d+$"},
                       "info": {"type": "object"}, "paths": {"type": "object"}},
    },
}
PARAMETERS: dict[str, Any] = {
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Page size; anything but a whole number from 1 to 100 is 400.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
    },
    "Cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": ("The `next_cursor` of the previous page (opaque); a cursor this list did not return "
                        "is 400 invalid_cursor."),
        "schema": {"type": "string"},
    },
    "Country": {
        "name": "country",
        "in": "query",
        "required": False,
        "description": ("ISO 3166-1 alpha-2 country code, any case, surrounding spaces ignored (e.g. PK); an "
                        "unassigned code is 400. Empty or absent: global methods only."),
        "schema": {"type": "string", "pattern": "^(\\s*[A-Za-z]{2}\\s*)?$"},
        "example": "PK",
    },
    "IdempotencyKeyRequired": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "description": ("One per unit of work (400 `idempotency_key_required` without): a retry with the "
                        "same key and body answers the first response (`Idempotent-Replayed: true`) and "
                        "changes nothing; the same key with another body is 422 `idempotency_key_reused`."),
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    },
    "Plan": {
        "name": "plan",
        "in": "query",
        "required": True,
        "description": "The plan to change to (a self-serve paid plan's slug).",
        "schema": {"type": "string", "maxLength": 40},
        "example": "growth",
    },
    "QueueStatus": {
        "name": "status",
        "in": "query",
        "required": False,
        "description": ("Only `pending_approval` (the approval queue) is supported, and empty means the same;"
                        " any other value is 400."),
        "schema": {
            "type": "string",
            "enum": ["pending_approval", ""],
            "default": "pending_approval",
        },
    },
    "NotificationStatus": {
        "name": "status",
        "in": "query",
        "required": False,
        "description": ("Only `failed` (emails given up on) is supported, and empty means the same; any other"
                        " value is 400."),
        "schema": {"type": "string", "enum": ["failed", ""], "default": "failed"},
    },
    "InvoiceId": {
        "name": "invoice_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    },
    "KeyId": {
        "name": "key_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    "Currency": {
        "name": "currency",
        "in": "path",
        "required": True,
        "description": "An ISO 4217 code of a payment method's currency, e.g. PKR.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 8},
    },
    "AccountId": {
        "name": "account_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    },
    "AccountQuery": {
        "name": "q",
        "in": "query",
        "required": True,
        "description": ("A user's email, an invoice number, a payment reference, or the start of an "
                        "account's name (2 to 200 characters)."),
        "schema": {"type": "string", "minLength": 2, "maxLength": 200},
        "example": "Khan Med",
    },
    "AdminId": {
        "name": "admin_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    },
    "StatementId": {
        "name": "statement_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    },
    "EndpointId": {
        "name": "endpoint_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    "DeliveryId": {
        "name": "delivery_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    "ReportFrom": {
        "name": "from",
        "in": "query",
        "required": False,
        "description": "The first month, YYYY-MM (at most 24 months back; default: 11 months before `to`).",
        "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
    },
    "ReportTo": {
        "name": "to",
        "in": "query",
        "required": False,
        "description": "The last month, YYYY-MM (not after the current one, its default).",
        "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
    },
    "DeliveryStatus": {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "Only the deliveries in this status; empty or absent: all.",
        "schema": {"type": "string", "enum": ["pending", "delivered", "failed", ""]},
    },
    "LineId": {
        "name": "line_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    },
    "LineStatus": {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "Only the lines in this status; empty or absent: all.",
        "schema": {"type": "string",
                   "enum": ["matched", "suggested", "unmatched", "ignored", "applied", ""]},
    },
    "PaymentId": {
        "name": "payment_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    },
    "Reference": {
        "name": "reference",
        "in": "path",
        "required": True,
        "description": "A payment reference as read off a statement line (case, spaces and dashes do "
                       "not matter).",
        "schema": {"type": "string", "minLength": 1},
        "examples": {"reference": {"value": "PR-7K4Q-X9MP"}},
    },
    "ExportFrom": {
        "name": "from",
        "in": "query",
        "required": True,
        "description": ("The first day of the export (YYYY-MM-DD, UTC), included. Missing, not such a "
                        "date, or after `to`: 422 `validation_failed`."),
        "schema": {"type": "string", "format": "date"},
        "example": "2026-01-01",
    },
    "ExportTo": {
        "name": "to",
        "in": "query",
        "required": True,
        "description": ("The last day of the export (YYYY-MM-DD, UTC), included; at most 366 days "
                        "from `from`, both counted (a year, a leap year too), else 422 "
                        "`validation_failed`."),
        "schema": {"type": "string", "format": "date"},
        "example": "2026-01-31",
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": ("Makes a retry safe: the same key with the same body returns the first response again"
                        " (with `Idempotent-Replayed: true`) and changes nothing, even when the retries "
                        "arrive at the same time; the same key with another body or route is 422 "
                        "`idempotency_key_reused`. Keys are the caller's own (a signup's belong to its email)"
                        " and kept 24 hours. A request that fails keeps nothing, so its key can be used "
                        "again."),
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": "^[\\x21-\\x7e]+$",
        },
    },
}
RESPONSES: dict[str, Any] = {
    "Unauthorized": {
        "description": ("`missing_token`, `invalid_token` (forged, tampered, wrong scheme, or the account no "
                        "longer exists) or `token_expired`."),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "Forbidden": {
        "description": "`forbidden`: an admin route called with a user token.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "PayloadTooLarge": {
        "description": "`payload_too_large`: the body is over 16 KiB.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "UnsupportedMediaType": {
        "description": "`unsupported_media_type`: a Content-Type other than application/json.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "InternalError": {
        "description": "`internal_error`: an unexpected failure (logged; no details leak).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "ServiceUnavailable": {
        "description": ("`service_unavailable`: the data store is busy or unreachable; retry after "
                        "`Retry-After` seconds."),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 0},
            },
        },
    },
    "TooManyRequests": {
        "description": ("`too_many_login_attempts`: too many failed logins for this email; retry after "
                        "`Retry-After` seconds."),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
            },
        },
    },
}
SECURITY_SCHEMES: dict[str, Any] = {
    "serviceKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sk_<id>_<secret>",
        "description": ("A service key of the SaaS's own backend (POST /api/v1/billing/admin/service-keys);"
                        " a user's or admin's token is 403 on these routes."),
    },
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": ("The access_token from register or login (HS256, expires after expires_in seconds). "
                        "Roles: user, admin."),
    },
}


def extended(base: dict[str, Any], description: str, **properties: Any) -> dict[str, Any]:
    """`base`'s object schema with more properties, all required: for a view that shows an entity
    with a few fields more (the queue's payment, the pending invoice), declared once."""
    schema = copy.deepcopy(base)
    schema["required"] = [*base["required"], *properties]
    schema["properties"] = {**schema["properties"], **properties}
    schema["description"] = description
    return schema
