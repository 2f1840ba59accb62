"""Routes of the admin's reports: the monthly summary and unpaid invoices by age (viewers), CSV
exports (owners)."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import CSV, OWNER, VIEWER, Routes, query

routes = Routes(__name__, "Reports", "The monthly summary, aging of unpaid invoices and CSV exports "
                                    "(admins).")
EXPORTS = "/api/v1/billing/admin/exports"
_LINK = ("ExportLink", "Or, for a file larger than one response carries (EXPORT_INLINE_MAX_BYTES, "
                       "5 MB): `application/json`, a link to the file in S3, valid 15 minutes.")
_RANGE = {422: "`validation_failed`: `from` or `to` missing or not a date (YYYY-MM-DD), `from` after "
               "`to`, or more than 366 days from one to the other, both counted (`details.fields` "
               "says which). Nothing is written."}
_EXPORT = dict(auth=OWNER, query=("ExportFrom", "ExportTo"), media_type=CSV, instead=_LINK,
               errors=_RANGE)


@routes.get("/api/v1/billing/admin/reports/summary", auth=VIEWER, query=("ReportFrom", "ReportTo"),
            response=("ReportSummary", "Each month of the range, oldest first."),
            errors={422: "`validation_failed`: a month that is not YYYY-MM, `from` after `to`, "
                         "`to` after the current month, or `from` more than 24 months back."})
def report_summary(caller: Principal) -> dict[str, Any]:
    """The monthly summary

    Kept by the transactions that change the figures (monthly aggregates, summed over their
    shards), so it costs the same few reads at any size: MRR and active subscriptions at each
    month's end, new and churned subscriptions, invoiced and collected money (USD; a payment in
    another currency at its invoice's quote rate) by method and billing country, approvals,
    rejections, reversals, and the median and 90th percentile hours from confirmation to decision.
    """
    from chalicelib.reports import summary

    return summary.summary(query("from"), query("to"))


@routes.get("/api/v1/billing/admin/reports/aging", auth=VIEWER,
            response=("AgingReport", "The buckets and the oldest unpaid invoices."))
def get_aging_report(caller: Principal) -> dict[str, Any]:
    """Unpaid invoices by days past due

    The invoices `pending` or `partially_paid` (the open-invoices index, every shard), counted in
    five buckets by days past due: `current` (not yet past due), `1-7`, `8-30`, `31-60`, `61+`,
    each with the sum of their amounts due (USD, summed in cents); and the 20 oldest by due date.
    Days past due are whole days: the UTC date of now minus the due date, and 0 when that is not
    positive. An invoice is due through the whole of its due date (UTC): 0 days past due on that
    day, 1 from 00:00 UTC the day after.
    """
    from chalicelib.reports import aging

    return aging.report()


@routes.get(EXPORTS + "/invoices.csv", response=("InvoicesCsv", "The invoices made in the range."),
            **_EXPORT)
def export_invoices(caller: Principal) -> Any:
    """Invoices as CSV

    Every invoice created from `from` to `to` (whole UTC days, both included), oldest first.
    **Owners only**: a copy of every customer's billing details leaves the product.
    """
    from chalicelib.reports import exports

    return exports.export("invoices", query("from"), query("to"))


@routes.get(EXPORTS + "/payments.csv", response=("PaymentsCsv", "The payments made in the range."),
            **_EXPORT)
def export_payments(caller: Principal) -> Any:
    """Payments as CSV

    Every payment submitted (or recorded from a statement line) from `from` to `to` (whole UTC
    days, both included), oldest first, whatever its status now. **Owners only**.
    """
    from chalicelib.reports import exports

    return exports.export("payments", query("from"), query("to"))


@routes.get(EXPORTS + "/ledger.csv", response=("LedgerCsv", "The credit entries of the range."),
            **_EXPORT)
def export_ledger(caller: Principal) -> Any:
    """The credit ledger as CSV

    Every credit entry written from `from` to `to` (whole UTC days, both included), of every
    account, oldest first: grants, uses, releases, expiries, corrections, with the account's
    credits after each. The money balance's entries are the money-ledger export. **Owners only**.
    """
    from chalicelib.reports import exports

    return exports.export("ledger", query("from"), query("to"))


@routes.get(EXPORTS + "/money-ledger.csv",
            response=("MoneyLedgerCsv", "The money entries of the range."), **_EXPORT)
def export_money_ledger(caller: Principal) -> Any:
    """The money ledger as CSV

    Every entry of the accounts' money balances written from `from` to `to` (whole UTC days, both
    included), oldest first: overpayments in, paid parts of voided invoices in, applications to
    invoices and reversals out (negative). **Owners only**.
    """
    from chalicelib.reports import exports

    return exports.export("money-ledger", query("from"), query("to"))
