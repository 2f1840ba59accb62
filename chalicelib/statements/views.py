"""Statements and their lines on the wire, their lists, and the confirmations no line matched."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.admin.review import review_hints
from chalicelib.billing.payments import PENDING
from chalicelib.billing.views import payment_view
from chalicelib.core.clock import now, parse_stamp, public_time, stamp
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.core.validation import query_limit
from chalicelib.statements import matching
from chalicelib.statements.model import exponent
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import PaymentModel
from chalicelib.storage.models.statements import LISTING, MARKER, StatementLineModel, StatementModel

UNMATCHED_AFTER = timedelta(days=3)
COUNTED = (matching.MATCHED, matching.SUGGESTED, matching.UNMATCHED, matching.IGNORED)


def amount_text(minor: int | None, currency: str | None) -> str:
    """Minor units as a decimal string with the currency's decimals: -1234 EUR is "-12.34"."""
    minor = minor or 0
    places = exponent(currency or "")
    sign, digits = ("-" if minor < 0 else ""), str(abs(minor)).rjust(places + 1, "0")
    return sign + (f"{digits[:-places]}.{digits[-places:]}" if places else digits)


def statement_view(statement: StatementModel) -> dict[str, Any]:
    return {"id": statement.statement_id, "filename": statement.filename, "format": statement.format,
            "status": statement.status, "bank_account": statement.bank_account,
            "currency": statement.currency, "imported_at": public_time(statement.imported_at),
            "imported_by": statement.imported_by, "lines": statement.lines,
            "new_lines": statement.new_lines, "duplicate_lines": statement.duplicate_lines,
            **{status: getattr(statement, status) for status in COUNTED}}


def line_view(line: StatementLineModel) -> dict[str, Any]:
    match = plain(line.match) if line.match else None
    return {"id": line.line_id, "statement_id": line.statement_id, "booked_at": line.booked_at,
            "amount": amount_text(line.amount_minor, line.currency), "currency": line.currency,
            "description": line.description, "counterparty": line.counterparty,
            "bank_reference": line.bank_reference, "reference": line.reference,
            "status": line.status, "match": _match_view(match) if match else None,
            "payment_id": line.payment_id, "decided_at": public_time(line.decided_at),
            "decided_by": line.decided_by, "ignore_reason": line.ignore_reason,
            "exact": matching.exact(match) and line.status == matching.MATCHED}


def _match_view(match: dict[str, Any]) -> dict[str, Any]:
    evidence = match.get("evidence") or {}
    return {"invoice_id": match.get("invoice_id"), "invoice_number": match.get("invoice_number"),
            "invoice_status": match.get("invoice_status"), "account_id": match.get("account_id"),
            "account_name": match.get("account_name"),
            "amount_due": None if match.get("amount_due_minor") is None else amount_text(
                int(match["amount_due_minor"]), match.get("invoice_currency")),
            "invoice_currency": match.get("invoice_currency"),
            "payment_id": match.get("payment_id"), "candidates": list(match.get("candidates") or []),
            "typo": match.get("typo"),
            "evidence": {name: evidence.get(name, matching.NONE)
                         for name in ("payment_reference", "bank_reference", "amount", "payer")}}


def get_statement(statement_id: str) -> StatementModel:
    statement = store.get(StatementModel, statement_id) if statement_id.startswith("stm_") else None
    if statement is None:
        raise NotFound("No such statement.", code="statement_not_found")
    return statement


def statement_detail(statement_id: str) -> dict[str, Any]:
    """A statement with its import report and how many of its lines are in each status now."""
    statement = get_statement(statement_id)
    now_counts = {status: 0 for status in matching.STATUSES}
    with store.guard():
        for line in StatementLineModel.by_statement.query(statement.statement_id,
                                                          attributes_to_get=["status"]):
            now_counts[line.status] = now_counts.get(line.status, 0) + 1
    return {**statement_view(statement), "now": now_counts}


def list_statements(limit: int, cursor: str | None) -> dict[str, Any]:
    """Statements, newest first."""
    last = store.decode_cursor(cursor, {"listing": LISTING}, ("statement_id", "listing", "imported_at")
                               ) if cursor else None
    query = StatementModel.by_import_time.query(LISTING, scan_index_forward=False, limit=limit + 1,
                                                last_evaluated_key=last)
    items, next_cursor = store.page(query, limit, ("statement_id", "listing", "imported_at"))
    return {"items": [statement_view(s) for s in items], "next_cursor": next_cursor}


def list_lines(statement_id: str, status: str | None, limit_text: str | None,
               cursor: str | None) -> dict[str, Any]:
    """A statement's lines in the file's order, of one status when asked."""
    limit = query_limit(limit_text)
    if status not in (None, "", *matching.STATUSES):
        raise BadRequest(f"status must be one of {', '.join(matching.STATUSES)}.",
                         code="invalid_query", details={"fields": {"status": "unsupported value"}})
    statement = get_statement(statement_id)
    fields = ("line_id", "statement_id", "position")
    last = store.decode_cursor(cursor, {"statement_id": statement.statement_id}, fields) if cursor else None
    query = StatementLineModel.by_statement.query(
        statement.statement_id, limit=limit + 1, last_evaluated_key=last,
        filter_condition=(StatementLineModel.status == status) if status else None)
    items, next_cursor = store.page(query, limit, fields)
    return {"statement": statement_view(statement), "items": [line_view(line) for line in items],
            "next_cursor": next_cursor}


def unmatched_confirmations(limit: int, cursor: str | None) -> dict[str, Any]:
    """Payments awaiting approval for more than 3 days that no statement line has matched, oldest
    first: the confirmations to ask the payer (or the bank) about. A page holds the page of the
    approval queue's older payments less those a line matched, so it may be shorter than `limit`
    while `next_cursor` says there is more."""
    moment = now()
    before = stamp(moment - UNMATCHED_AFTER)
    page, next_cursor = store.merged_page(PaymentModel.approval_queue, PENDING, "created_at",
                                          "payment_id", limit, cursor,
                                          range_condition=PaymentModel.created_at < before)
    older = [p for p in page if p.created_at < before]
    if len(older) < len(page):  # past the 3 days (a later page's query starts at its cursor)
        next_cursor = None
    page = older
    markers = _markers([p.payment_id for p in page])
    items = [p for p in page if p.payment_id not in markers]
    account_ids = sorted({p.account_id for p in items})
    with store.guard():
        accounts = {a.account_id: a for a in AccountModel.batch_get(account_ids)} if account_ids else {}
    return {"items": [{**payment_view(p), **review_hints(p),
                       "account": {"id": p.account_id, "name": accounts[p.account_id].name
                                   if p.account_id in accounts else None},
                       "days_waiting": (moment - parse_stamp(p.created_at)).days} for p in items],
            "next_cursor": next_cursor}


def _markers(payment_ids: list[str]) -> set[str]:
    found: set[str] = set()
    with store.guard():
        for start in range(0, len(payment_ids), 100):
            keys = [MARKER + pid for pid in payment_ids[start:start + 100]]
            found |= {item.line_id.removeprefix(MARKER)
                      for item in StatementLineModel.batch_get(keys, attributes_to_get=["line_id"])}
    return found
