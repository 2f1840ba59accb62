"""Unpaid invoices by how long they are past due (the admin's aging report).

Read from the open-invoices index (`open_by_due_date`, one Query per shard, never a Scan): the
invoices that are `pending` or `partially_paid`. Each counts in one bucket by its days past due
(see `days_past_due`), with what is still due on it; the 20 oldest by due date are listed, with
their accounts' names read in one batch.
"""
from __future__ import annotations

from datetime import date, timezone
from typing import Any

from chalicelib.core.clock import now, public_time, stamp
from chalicelib.core.money import INVOICE_CURRENCY, format_minor
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import OPEN_INVOICE, PAYABLE, InvoiceModel, amount_due

# (name, fewest days past due, most); "current" is not yet past due.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0), ("1-7", 1, 7), ("8-30", 8, 30), ("31-60", 31, 60), ("61+", 61, None))
OLDEST = 20


def days_past_due(due_date: str, today: date) -> int:
    """Whole days past due on `today` (the UTC date of now): `today` minus the due date, in days,
    and 0 when that is not positive. An invoice is due through the whole of its due date (UTC):
    0 on that day and before, 1 from 00:00 UTC the day after, 7 a week after, and so on."""
    return max(0, (today - date.fromisoformat(due_date[:10])).days)


def bucket_of(days: int) -> str:
    """The bucket of an invoice this many days past due."""
    return next(name for name, low, high in BUCKETS if days >= low and (high is None or days <= high))


def open_invoices() -> list[InvoiceModel]:
    """Every unpaid invoice: each shard of the open-invoices index, oldest due first."""
    found: list[InvoiceModel] = []
    for shard in store.spreads(OPEN_INVOICE):
        with store.guard():
            found += InvoiceModel.open_by_due_date.query(
                shard, filter_condition=InvoiceModel.status.is_in(*PAYABLE))
    return sorted(found, key=lambda i: (i.due_date, i.created_at, i.invoice_id))


def report() -> dict[str, Any]:
    """The aging report as of now (`clock.now()`): counts and amounts due per bucket, the oldest.
    Amounts are summed in minor units; every invoice is in USD (the plans' and packs' currency)."""
    moment = now()
    today = moment.astimezone(timezone.utc).date()
    invoices = open_invoices()
    totals = {name: [0, 0] for name, _, _ in BUCKETS}
    for invoice in invoices:
        total = totals[bucket_of(days_past_due(invoice.due_date, today))]
        total[0] += 1
        total[1] += amount_due(invoice)
    oldest = invoices[:OLDEST]
    return {
        "as_of": public_time(stamp(moment)), "currency": INVOICE_CURRENCY,
        "buckets": [{"bucket": name, "count": count, "amount_due": format_minor(due)}
                    for name, (count, due) in totals.items()],
        "total": {"count": len(invoices),
                  "amount_due": format_minor(sum(due for _, due in totals.values()))},
        "oldest": _oldest_view(oldest, today),
    }


def _oldest_view(invoices: list[InvoiceModel], today: date) -> list[dict[str, Any]]:
    ids = sorted({invoice.account_id for invoice in invoices})
    with store.guard():  # one BatchGetItem: at most 20 accounts
        names = {a.account_id: a.name for a in AccountModel.batch_get(ids)} if ids else {}
    items = []
    for invoice in invoices:
        days = days_past_due(invoice.due_date, today)
        billing = plain(invoice.billing_snapshot)
        items.append({
            "id": invoice.invoice_id, "invoice_number": invoice.invoice_number,
            "account_id": invoice.account_id, "account_name": names.get(invoice.account_id),
            "billing_name": billing.get("billing_name"), "billing_email": billing.get("billing_email"),
            "kind": invoice.kind or "signup", "status": invoice.status,
            "amount_due": format_minor(amount_due(invoice)), "currency": invoice.currency,
            "due_date": invoice.due_date, "days_past_due": days, "bucket": bucket_of(days)})
    return items
