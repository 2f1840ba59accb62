"""Response schemas of the reports: the monthly summary, the aging report, the CSV files, the link
to a large one."""
from __future__ import annotations

from typing import Any

from chalicelib.reports.aging import BUCKETS, OLDEST
from chalicelib.reports.exports import EXPORTS, LINK_SECONDS
from chalicelib.storage.models.reports import HISTOGRAM_BOUNDS

_AMOUNT = {"$ref": "#/components/schemas/Amount"}
_BUCKET = {"type": "string", "enum": [name for name, _, _ in BUCKETS]}
_CSV_RULES = (
    "RFC 4180 text in UTF-8 (no byte-order mark): a header row, then one row per item; CRLF after "
    "every row; a field holding a comma, a double quote or a line break is quoted, a double quote "
    "inside doubled. Money as `89.00` (two decimals, a `-` for a negative amount), times ISO 8601 "
    "UTC, an empty field for nothing. **Formulas never run**: a cell starting with `=`, `+`, `-`, "
    "`@`, a tab or a carriage return gets a `'` before it (`'=HYPERLINK(...)`, `'+1-2`), except a "
    "cell that is exactly a decimal number (`-5.00`, `-100`), which a spreadsheet reads as that "
    "number and never runs. Columns: ")


def _csv(name: str, more: str) -> dict[str, Any]:
    columns = ", ".join(f"`{column}`" for column in EXPORTS[name].header)
    return {"type": "string", "contentMediaType": "text/csv",
            "description": f"{_CSV_RULES}{columns}. {more}"}


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
    "AgingReport": {
        "type": "object", "required": ["as_of", "currency", "buckets", "total", "oldest"],
        "properties": {
            "as_of": {"type": "string", "format": "date-time",
                      "description": "The time the days past due are counted at (now)."},
            "currency": {"$ref": "#/components/schemas/Currency"},
            "buckets": {
                "type": "array", "minItems": len(BUCKETS), "maxItems": len(BUCKETS),
                "description": "Always the five, in this order: " + ", ".join(
                    f"`{name}`" for name, _, _ in BUCKETS) + ".",
                "items": {"type": "object", "required": ["bucket", "count", "amount_due"],
                          "properties": {"bucket": _BUCKET,
                                         "count": {"type": "integer", "minimum": 0},
                                         "amount_due": {**_AMOUNT, "description":
                                                        "What is still due on them, summed."}}}},
            "total": {"type": "object", "required": ["count", "amount_due"],
                      "properties": {"count": {"type": "integer", "minimum": 0},
                                     "amount_due": _AMOUNT}},
            "oldest": {
                "type": "array", "maxItems": OLDEST,
                "description": f"The {OLDEST} unpaid invoices due first (past due or not), by due "
                               "date.",
                "items": {"type": "object",
                          "required": ["id", "invoice_number", "account_id", "account_name",
                                       "billing_name", "billing_email", "kind", "status",
                                       "amount_due", "currency", "due_date", "days_past_due",
                                       "bucket"],
                          "properties": {
                              "id": {"type": "string"}, "invoice_number": {"type": "string"},
                              "account_id": {"type": "string"},
                              "account_name": {"type": ["string", "null"]},
                              "billing_name": {"type": ["string", "null"]},
                              "billing_email": {"type": ["string", "null"]},
                              "kind": {"type": "string",
                                       "enum": ["signup", "renewal", "upgrade", "topup"]},
                              "status": {"type": "string", "enum": ["pending", "partially_paid"]},
                              "amount_due": _AMOUNT,
                              "currency": {"$ref": "#/components/schemas/Currency"},
                              "due_date": {"type": "string", "format": "date"},
                              "days_past_due": {"type": "integer", "minimum": 0,
                                                "description": "Whole days: the UTC date of now "
                                                               "minus the due date, 0 if not "
                                                               "positive."},
                              "bucket": _BUCKET}}}}},
    "InvoicesCsv": _csv("invoices", "`amount` is the total, `amount_due` what is still to pay; "
                                    "`period_start`/`period_end` are empty for a top-up."),
    "PaymentsCsv": _csv("payments", "`amount` is in the invoice's currency (what the payment "
                                    "brings, at its quote's rate when paid in a local currency: "
                                    "then `local_amount`/`local_currency` say what was paid); "
                                    "`submitted_at` is when it was confirmed or recorded."),
    "LedgerCsv": _csv("ledger", "`amount` is in credits (negative for a use, an expiry or a take "
                                "back); `balance_after` the account's credits after it (empty for "
                                "entries written before balances were kept)."),
    "MoneyLedgerCsv": _csv("money-ledger", "`amount` is money in `currency`, negative for what "
                                           "left the balance."),
    "ExportLink": {
        "type": "object", "required": ["url", "expires_at", "rows", "bytes"],
        "description": f"A file too large for one response: it is in S3, private, for "
                       f"{LINK_SECONDS // 60} minutes through this link (then ask again).",
        "properties": {
            "url": {"type": "string", "format": "uri",
                    "description": "A presigned GET of the CSV file (the same content as the "
                                   "inline answer), valid until `expires_at`."},
            "expires_at": {"type": "string", "format": "date-time"},
            "rows": {"type": "integer", "minimum": 0, "description": "Rows, not counting the header."},
            "bytes": {"type": "integer", "minimum": 0, "description": "The file's size (UTF-8)."}}},
    "ReportMonth": {"type": "object", "required": list(_MONTH_PROPERTIES),
                    "properties": _MONTH_PROPERTIES},
    "ReportSummary": {"type": "object", "required": ["currency", "months"], "properties": {
        "currency": {"type": "string", "enum": ["USD"]},
        "months": {"type": "array", "items": {"$ref": "#/components/schemas/ReportMonth"}}}},
}
