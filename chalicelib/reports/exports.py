"""The admin's CSV exports of a date range: invoices, payments, the credit ledger, the money ledger.

The range is whole UTC days, `from` to `to` inclusive, at most MAX_DAYS; an item is in it by its
`created_at`. The items are read from the month index (`by_created_month`): one Query per month
of the range and shard, never a Scan. The file is answered as is when the function's response can
carry it (EXPORT_INLINE_MAX_BYTES); a larger one is written to the proofs bucket under `exports/`
and answered with a link valid LINK_SECONDS (the bucket's rules delete it after a day).
"""
from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pynamodb.models import Model

from chalicelib.core.clock import public_time
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Invalid, Unavailable
from chalicelib.core.money import format_minor
from chalicelib.reports.csv_file import Cell, render
from chalicelib.storage import store
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, amount_due
from chalicelib.storage.models.records import CreditLedgerModel, MoneyLedgerModel

MAX_DAYS = 366
LINK_SECONDS = 900
PREFIX = "exports/"
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
log = logging.getLogger("chalicelib.reports")


@dataclass(frozen=True)
class Export:
    """One export: its table, its columns and how an item becomes a row, in what order."""

    name: str
    model: type[Model]
    header: tuple[str, ...]
    row: Callable[[Any], Sequence[Cell]]
    order: Callable[[Any], tuple[str, ...]]
    shard_of: Callable[[Any], str]  # what the month index's shard was spread by


def _invoice_row(invoice: InvoiceModel) -> Sequence[Cell]:
    billing = plain(invoice.billing_snapshot)
    return (invoice.invoice_id, invoice.invoice_number, invoice.account_id, invoice.kind or "signup",
            invoice.plan, public_time(invoice.period_start), public_time(invoice.period_end),
            invoice.status, format_minor(invoice.amount_minor), format_minor(amount_due(invoice)),
            invoice.currency, public_time(invoice.created_at), invoice.due_date,
            public_time(invoice.paid_at), billing.get("billing_name"), billing.get("billing_email"),
            invoice.billing_country or billing.get("country"))


def _payment_row(payment: PaymentModel) -> Sequence[Cell]:
    from chalicelib.billing import fx
    from chalicelib.storage.models.billing import worth

    local = payment.rate is not None  # paid in a local currency at its quote's rate
    amount, currency = (worth(payment), fx.BASE) if local else (payment.amount_minor, payment.currency)
    return (payment.payment_id, payment.invoice_id, payment.account_id, payment.payment_method,
            payment.status, format_minor(amount), currency,
            format_minor(payment.amount_minor) if local else None, payment.currency if local else None,
            payment.manual_reference, public_time(payment.created_at),
            public_time(payment.decided_at), payment.decided_by)


def _credit_row(entry: CreditLedgerModel) -> Sequence[Cell]:
    return (entry.account_id, entry.entry_id, public_time(entry.created_at),
            entry.bucket or "allowance", entry.amount, entry.reason, entry.reference,
            entry.balance_after)


def _money_row(entry: MoneyLedgerModel) -> Sequence[Cell]:
    return (entry.account_id, entry.entry_id, public_time(entry.created_at),
            format_minor(entry.amount_minor), entry.currency, entry.reason, entry.reference)


def _entry_shard(entry: Any) -> str:
    return f"{entry.account_id}#{entry.entry_id}"


EXPORTS: dict[str, Export] = {export.name: export for export in (
    Export("invoices", InvoiceModel,
           ("id", "invoice_number", "account_id", "kind", "plan", "period_start", "period_end",
            "status", "amount", "amount_due", "currency", "created_at", "due_date", "paid_at",
            "billing_name", "billing_email", "billing_country"),
           _invoice_row, lambda i: (i.created_at, i.invoice_id), lambda i: i.invoice_id),
    Export("payments", PaymentModel,
           ("id", "invoice_id", "account_id", "payment_method", "status", "amount", "currency",
            "local_amount", "local_currency", "manual_reference", "submitted_at", "decided_at",
            "decided_by"),
           _payment_row, lambda p: (p.created_at, p.payment_id), lambda p: p.payment_id),
    Export("ledger", CreditLedgerModel,
           ("account_id", "entry_id", "created_at", "bucket", "amount", "reason", "reference",
            "balance_after"),
           _credit_row, lambda e: (e.created_at, e.account_id, e.ordered_at or "", e.entry_id),
           _entry_shard),
    Export("money-ledger", MoneyLedgerModel,
           ("account_id", "entry_id", "created_at", "amount", "currency", "reason", "reference"),
           _money_row, lambda e: (e.created_at, e.account_id, e.entry_id), _entry_shard),
)}


def date_range(first: str | None, last: str | None) -> tuple[date, date]:
    """The `from` and `to` query parameters as dates: each YYYY-MM-DD, `from` not after `to`, at
    most MAX_DAYS days from the one to the other (both counted); else 422 `validation_failed`."""
    problems: dict[str, str] = {}
    days = {name: _day(raw, name, problems) for name, raw in (("from", first), ("to", last))}
    if problems:
        raise Invalid("from and to must be dates (YYYY-MM-DD).", details={"fields": problems})
    start, end = days["from"], days["to"]
    assert start is not None and end is not None
    if start > end:
        raise Invalid("from is after to.", details={"fields": {"from": "must not be after to"}})
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(f"An export covers at most {MAX_DAYS} days.",
                      details={"fields": {"to": f"at most {MAX_DAYS} days from from, both counted"},
                               "max_days": MAX_DAYS})
    return start, end


def _day(raw: str | None, name: str, problems: dict[str, str]) -> date | None:
    if raw is None or raw == "":
        problems[name] = "required"
        return None
    try:
        if _DAY.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    problems[name] = "must be a date, YYYY-MM-DD"
    return None


def _months(start: date, end: date) -> Iterator[str]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def items(export: Export, start: date, end: date) -> list[Any]:
    """The export's items made from `start` to `end` (UTC days, inclusive), in its order."""
    model = export.model
    index = model.by_created_month  # type: ignore[attr-defined]
    # Stored times are `YYYY-MM-DDTHH:MM:SS.ffffffZ`: each day's sorts after the bare date, and
    # none is the bare date of the day after, so `between` holds exactly the range's days.
    within = model.created_at.between(start.isoformat(), (end + timedelta(days=1)).isoformat())  # type: ignore[attr-defined]
    found: list[Any] = []
    for month in _months(start, end):
        for shard in store.spreads(month):
            with store.guard():
                found += index.query(shard, within)
    return sorted(found, key=export.order)


def export(name: str, first: str | None, last: str | None) -> tuple[str, str] | dict[str, Any]:
    """The CSV file of an export, as (text, filename) when the response can carry it, else the
    link to it in S3: {"url", "expires_at", "rows", "bytes"}."""
    start, end = date_range(first, last)
    chosen = EXPORTS[name]
    text, rows = render(chosen.header, (chosen.row(item) for item in items(chosen, start, end)))
    filename = f"{name}-{start.isoformat()}-{end.isoformat()}.csv"
    carried = len(json.dumps(text)) - 2  # as the function's JSON response carries the body
    inline = carried <= get_settings().export_inline_max_bytes
    data = text.encode("utf-8")
    log.info("export", extra={"fields": {"export": name, "from": start.isoformat(),
                                         "to": end.isoformat(), "rows": rows, "bytes": len(data),
                                         "delivered": "inline" if inline else "link"}})
    if inline:
        return text, filename
    return _link(data, filename, rows)


def _link(data: bytes, filename: str, rows: int) -> dict[str, Any]:
    """Store the file in the private bucket and sign a GET of it for LINK_SECONDS."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.billing.proofs import s3_client

    bucket, client = get_settings().proof_bucket, s3_client()
    key = f"{PREFIX}{filename[:-4]}-{secrets.token_hex(8)}.csv"
    try:
        client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/csv; charset=utf-8",
                          ContentDisposition=f'attachment; filename="{filename}"')
        url = str(client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                ExpiresIn=LINK_SECONDS))
    except (ClientError, BotoCoreError) as exc:
        raise Unavailable("The export cannot be stored right now; retry shortly.",
                          retry_after=5) from exc
    return {"url": url, "expires_at": _expiry(url), "rows": rows, "bytes": len(data)}


def _expiry(url: str) -> str:
    """When a presigned URL stops working: its signing time (real time, as S3 checks it) plus
    its lifetime."""
    query = parse_qs(urlsplit(url).query)
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    expires = signed + timedelta(seconds=int(query["X-Amz-Expires"][0]))
    return expires.strftime("%Y-%m-%dT%H:%M:%SZ")
