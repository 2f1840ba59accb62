"""Import a statement: parse it, keep each line once, ever, and match the new ones.

1. The file is parsed whole first (parse.py): a file that is not a statement is refused before
   anything is written.
2. Each line's fingerprint (bank account, booking date, amount, currency, and its text and
   reference with case, spaces and punctuation ignored) is its key. The keys already stored are
   read in batches of 100; the others are claimed with conditional puts, up to 100 in one
   transaction: when another import claimed some meanwhile, the transaction is cancelled, those
   are counted as duplicates and the rest is claimed again. So the same file twice, two
   overlapping files, or two imports at once store every line once.
3. Matching (matching.py) reads what it compares with once for the whole statement: the open
   invoices (Query of the open-invoice index, every shard), the pending confirmations (Query of
   the approval queue), the invoices of references not among the open ones (Query of the
   reference index, one per such reference), the methods' tolerances and the account names
   (BatchGetItem). No Scan, and no lookup per line.
4. If writing fails part-way, what this import wrote is deleted again and the error answered.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.billing import settlement
from chalicelib.catalog.reference_data import GLOBAL
from chalicelib.core.clock import new_id, stamp
from chalicelib.core.errors import Conflict, Invalid, PayloadTooLarge
from chalicelib.core.validation import validate
from chalicelib.statements import matching, views
from chalicelib.statements.fields import IMPORT, MAX_BASE64
from chalicelib.statements.model import MAX_BYTES, Line, Statement
from chalicelib.statements.parse import parse
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import (
    OPEN_INVOICE,
    PAYABLE,
    InvoiceModel,
    PaymentModel,
)
from chalicelib.storage.models.catalog import PaymentMethodModel
from chalicelib.storage.models.statements import MARKER, StatementLineModel, StatementModel
from chalicelib.storage.store import TransactionCancelled, Tx

log = logging.getLogger(__name__)

TX_ITEMS = 100  # DynamoDB's limit of items in one transaction
BATCH_KEYS = 100  # BatchGetItem's limit of keys
OPEN_LOOKBACK = timedelta(days=60)  # open invoices due this long before a line are read at once
DESCRIPTION_LIMIT = 2000  # characters of a line's text kept (a camt.053 line may hold pages)

def fingerprint(line: Line) -> str:
    """The key of a line: the same booking in this file or another has the same one."""
    text = "|".join(_normalized(part) for part in (line.description, line.reference))
    raw = "\x1f".join([_normalized(line.account or ""), line.booked_at.isoformat(),
                       str(line.amount_minor), line.currency, text])
    return "sl_" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _normalized(text: str | None) -> str:
    return "".join(char for char in (text or "").upper() if char.isalnum())


def decode_file(data: dict[str, Any]) -> bytes:
    """The file's bytes; 413 over 4 MB, 422 when it is not base64."""
    text = "".join(data["content_base64"].split())
    if len(text) > MAX_BASE64:
        raise _too_large((len(text) // 4) * 3)
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("content_base64 is not base64.", code="validation_failed",
                      details={"fields": {"content_base64": "is not base64"}}) from exc
    if len(content) > MAX_BYTES:
        raise _too_large(len(content))
    return content


def _too_large(size: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is {size:,} bytes; a statement may be at most "
                           f"{MAX_BYTES // (1024 * 1024)} MB ({MAX_BYTES:,} bytes).",
                           code="statement_too_large", details={"size": size, "limit": MAX_BYTES})


def import_statement(admin: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Parse, keep the new lines, match them; the import report."""
    data = validate(body, IMPORT)
    content = decode_file(data)
    parsed = parse(data["filename"], content, data["format"])
    if not parsed.lines:
        raise Invalid("The statement has no booked lines.", code="statement_invalid",
                      details={"element": "lines"})
    at = stamp()
    statement = StatementModel(new_id("stm"), status="importing", filename=data["filename"][:255],
                               format=parsed.format, bank_account=parsed.account,
                               currency=parsed.currency, imported_at=at, imported_by=admin.email,
                               lines=len(parsed.lines))
    unique: dict[str, tuple[int, Line]] = {}
    for position, line in enumerate(parsed.lines):
        unique.setdefault(fingerprint(line), (position, line))
    known = _existing(list(unique))
    fresh = {key: value for key, value in unique.items() if key not in known}
    book = load_book(parsed, [line for _, line in fresh.values()])
    found = {key: matching.match(line, book) for key, (_, line) in fresh.items()}
    names = _account_names({f.invoice.account_id for f in found.values() if f.invoice})
    rows = [_line_item(statement, key, position, line, found[key], names, at)
            for key, (position, line) in fresh.items()]
    with store.guard():
        statement.save(condition=StatementModel.statement_id.does_not_exist())
    try:
        claimed = _claim(rows, found)
        counts = {status: 0 for status in (matching.MATCHED, matching.SUGGESTED, matching.UNMATCHED,
                                           matching.IGNORED)}
        for row in claimed:
            counts[row.status] += 1
        statement.status, statement.new_lines = "imported", len(claimed)
        statement.duplicate_lines = len(parsed.lines) - len(claimed)
        for status, count in counts.items():
            setattr(statement, status, count)
        with store.guard():
            statement.save()
    except BaseException:
        _undo(statement, rows)
        raise
    return views.statement_view(statement)


def _existing(keys: list[str]) -> set[str]:
    found: set[str] = set()
    with store.guard():
        for start in range(0, len(keys), BATCH_KEYS):
            found |= {item.line_id for item in StatementLineModel.batch_get(
                keys[start:start + BATCH_KEYS], attributes_to_get=["line_id"])}
    return found


def _line_item(statement: StatementModel, key: str, position: int, line: Line,
               found: matching.Found, names: dict[str, str], at: str) -> StatementLineModel:
    return StatementLineModel(
        key, statement_id=statement.statement_id, position=f"{position:06d}",
        booked_at=line.booked_at.isoformat(), amount_minor=line.amount_minor, currency=line.currency,
        description=line.description[:DESCRIPTION_LIMIT], counterparty=line.counterparty,
        bank_reference=line.bank_reference, reference=line.reference, bank_account=line.account,
        status=found.status, match=found.match_map(names), created_at=at)


def _claim(rows: list[StatementLineModel], found: dict[str, matching.Found]) -> list[StatementLineModel]:
    """Put each line unless it exists (then it is a duplicate); the lines this import stored."""
    marked: set[str] = set()
    claimed: list[StatementLineModel] = []
    batch: list[tuple[StatementLineModel, StatementLineModel | None]] = []
    size = 0
    for row in rows:
        payment = found[row.line_id].payment
        marker = None
        if row.status == matching.MATCHED and payment is not None and payment.payment_id not in marked:
            marked.add(payment.payment_id)
            marker = StatementLineModel(MARKER + payment.payment_id, matched_line_id=row.line_id,
                                        created_at=row.created_at)
        items = 2 if marker else 1
        if size + items > TX_ITEMS:
            claimed += _claim_batch(batch)
            batch, size = [], 0
        batch.append((row, marker))
        size += items
    if batch:
        claimed += _claim_batch(batch)
    return claimed


def _claim_batch(batch: list[tuple[StatementLineModel, StatementLineModel | None]]
                 ) -> list[StatementLineModel]:
    pending = list(batch)
    for attempt in range(8):
        if not pending:
            return []
        tx = Tx()
        for index, (row, marker) in enumerate(pending):
            tx.put(f"line#{index}", row, StatementLineModel.line_id.does_not_exist())
            if marker is not None:
                tx.put(f"marker#{index}", marker)
        try:
            tx.commit()
            return [row for row, _ in pending]
        except TransactionCancelled as exc:  # another import stored these lines first
            taken = {int(label.split("#")[1]) for label in exc.failed if label.startswith("line#")}
            pending = [pair for index, pair in enumerate(pending) if index not in taken]
        except Conflict as exc:
            if exc.code != "transaction_conflict" or attempt == 7:
                raise
            time.sleep(0.02 * 2 ** attempt)  # a concurrent import writing the same lines
    raise Conflict("Another import of the same lines is in progress; retry shortly.",
                   code="transaction_conflict", retry_after=1)


def _undo(statement: StatementModel, rows: list[StatementLineModel]) -> None:
    """Delete what a failed import wrote (its lines, their markers, the statement)."""
    try:
        for row in rows:
            try:
                row.delete(condition=StatementLineModel.statement_id == statement.statement_id)
            except Exception:  # noqa: BLE001 - not ours, or not written
                continue
            payment_id = plain(row.match).get("payment_id") if row.match else None
            if payment_id:
                marker = StatementLineModel(MARKER + payment_id)
                try:
                    marker.delete(condition=StatementLineModel.matched_line_id == row.line_id)
                except Exception:  # noqa: BLE001
                    pass
        statement.delete()
    except Exception:  # noqa: BLE001 - the original error is what the caller must see
        log.exception("could not remove the failed import %s", statement.statement_id)


# What matching compares with -------------------------------------------------------------------

def load_book(parsed: Statement, lines: list[Line]) -> matching.Book:
    """Open invoices, pending confirmations, the invoices of references found, tolerances."""
    credits = [line for line in lines if line.amount_minor > 0]
    if not credits:
        return matching.Book({}, [], [], lambda invoice, payment: Decimal(0))
    earliest = (min(line.booked_at for line in credits) - OPEN_LOOKBACK).isoformat()
    with store.guard():
        open_invoices = [invoice for shard in store.spreads(OPEN_INVOICE)
                         for invoice in InvoiceModel.open_by_due_date.query(
                             shard, InvoiceModel.due_date >= earliest)
                         if invoice.status in PAYABLE]
        pending = [payment for shard in store.spreads("pending_approval")
                   for payment in PaymentModel.approval_queue.query(shard)]
    by_reference = {invoice.payment_reference: invoice for invoice in open_invoices
                    if invoice.payment_reference}
    by_id = {invoice.invoice_id: invoice for invoice in open_invoices}
    missing = sorted({payment.invoice_id for payment in pending} - set(by_id))
    for invoice in _batch(InvoiceModel, missing):
        by_id[invoice.invoice_id] = invoice
        if invoice.payment_reference:
            by_reference[invoice.payment_reference] = invoice
    wanted = {ref for line in credits for ref in matching.found_references(matching.searchable(line))[0]}
    with store.guard():
        for ref in sorted(wanted - set(by_reference)):
            invoice = next(iter(InvoiceModel.by_reference.query(ref, limit=1)), None)
            if invoice is not None:
                by_reference[ref] = invoice
    invoices = [*by_reference.values()]
    return matching.Book(by_reference, [i for i in by_id.values() if i.status in PAYABLE], pending,
                         _tolerances(invoices, pending))


def _batch(model: Any, keys: Iterable[Any]) -> list[Any]:
    keys = list(keys)
    items: list[Any] = []
    with store.guard():
        for start in range(0, len(keys), BATCH_KEYS):
            items += list(model.batch_get(keys[start:start + BATCH_KEYS]))
    return items


def _tolerances(invoices: list[InvoiceModel], pending: list[PaymentModel]) -> Any:
    """tolerance(invoice, payment): the percent of the payment's method, else of the invoice's
    preferred one, in the invoice's country (else the global method), else the setting's."""
    wanted: set[tuple[str, str]] = set()
    countries = {invoice.invoice_id: invoice.billing_country for invoice in invoices}
    for invoice in invoices:
        if invoice.preferred_payment_method:
            wanted |= {(invoice.billing_country, invoice.preferred_payment_method),
                       (GLOBAL, invoice.preferred_payment_method)}
    for payment in pending:
        country = countries.get(payment.invoice_id)
        wanted |= {(GLOBAL, payment.payment_method)} | (
            {(country, payment.payment_method)} if country else set())
    methods = {(m.country, m.payment_method): m
               for m in _batch(PaymentMethodModel, sorted(key for key in wanted if key[0]))}
    cache: dict[tuple[str, str | None], Decimal] = {}

    def tolerance(invoice: InvoiceModel, payment: PaymentModel | None) -> Decimal:
        slug = payment.payment_method if payment else invoice.preferred_payment_method
        key = (invoice.billing_country, slug)
        if key not in cache:
            method = methods.get(key) or methods.get((GLOBAL, slug or ""))
            cache[key] = settlement.tolerance(method) if method else (
                settlement.default_tolerance())
        return cache[key]
    return tolerance


def _account_names(account_ids: set[str]) -> dict[str, str]:
    return {account.account_id: account.name for account in _batch(AccountModel, sorted(account_ids))}

