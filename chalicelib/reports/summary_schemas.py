"""Response schemas of the monthly summary."""
from __future__ import annotations

from typing import Any

from chalicelib.storage.models.reports import HISTOGRAM_BOUNDS

_MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
_BY = {"type": "object", "additionalProperties": _MONEY}
_HOURS = {"type": ["number", "null"], "minimum": 0}
_COUNT = {"type": "integer"}
_MONTH_PROPERTIES: dict[str, Any] = {
    "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
    "mrr": {**_MONEY, "description": "The monthly prices of the subscriptions active or past due "
                                     "at the month's end."},
    "active_subscriptions": {**_COUNT, "description": "Active or past due at the month's end."},
    "new_subscriptions": {**_COUNT, "description": "First activated in the month."},
    "churned": {**_COUNT, "description": "Cancelled in the month after being paid for."},
    "invoiced": {**_MONEY, "description": "The amounts of the invoices issued in the month."},
    "collected": {**_MONEY, "description": "Approved payments less reversed ones, in USD (a local "
                                           "payment at its invoice's quote rate)."},
    "collected_by_method": {**_BY, "description": "`collected` by payment method."},
    "collected_by_country": {**_BY, "description": "`collected` by the invoice's billing country."},
    "approvals": _COUNT, "rejections": _COUNT,
    "reversals": {**_COUNT, "description": "Succeeded payments reversed in the month."},
    "median_hours_to_decision": {**_HOURS, "description": (
        "From confirmation to approval or rejection (statement-recorded payments excluded), from "
        "the month's histogram: within one bucket of the exact value; null without decisions.")},
    "p90_hours_to_decision": _HOURS,
    "decisions_by_hours": {"type": "array", "items": _COUNT, "description": (
        "The histogram: decisions in under " + ", ".join(f"{b}" for b in HISTOGRAM_BOUNDS)
        + " hours, and over the last.")},
}

SCHEMAS: dict[str, Any] = {
    "ReportMonth": {"type": "object", "required": list(_MONTH_PROPERTIES),
                    "properties": _MONTH_PROPERTIES},
    "ReportSummary": {"type": "object", "required": ["currency", "months"], "properties": {
        "currency": {"type": "string", "enum": ["USD"]},
        "months": {"type": "array", "items": {"$ref": "#/components/schemas/ReportMonth"}}}},
}
