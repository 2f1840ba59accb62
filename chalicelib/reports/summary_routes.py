"""Route of the monthly summary (admins)."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import VIEWER, Routes, query

routes = Routes(__name__, "Reports", "Figures for the business: MRR, collections, decision times.")


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
