"""The caller's own invoices and payments, page by page."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.billing.views import customer_payment_view, invoice_view
from chalicelib.core.errors import NotFound
from chalicelib.storage import store
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel


def own_invoice(principal: Principal, invoice_id: str) -> InvoiceModel:
    invoice = store.get(InvoiceModel, invoice_id)
    if invoice is None or invoice.account_id != principal.account_id:
        raise NotFound("No such invoice on your account.", code="invoice_not_found")
    return invoice


_ACCOUNT_PAGE_KEY = ("account_id", "created_at")


def list_invoices(principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
    """The caller's invoices, newest first."""
    return _account_page(InvoiceModel, ("invoice_id",), invoice_view, principal, limit, cursor)


def list_payments(principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
    """The caller's payments, newest first."""
    return _account_page(PaymentModel, ("payment_id",), customer_payment_view, principal, limit,
                         cursor)


def _account_page(model: Any, table_key: tuple[str, ...], view: Any, principal: Principal,
                  limit: int, cursor: str | None) -> dict[str, Any]:
    fields = table_key + _ACCOUNT_PAGE_KEY
    start = store.decode_cursor(cursor, {"account_id": principal.account_id}, fields) if cursor else None
    query = model.by_account.query(principal.account_id, scan_index_forward=False, limit=limit + 1,
                                   last_evaluated_key=start)
    items, next_cursor = store.page(query, limit, fields)
    return {"items": [view(item) for item in items], "next_cursor": next_cursor}


def get_invoice(principal: Principal, invoice_id: str) -> dict[str, Any]:
    """One of the caller's invoices (404 for another account's)."""
    return invoice_view(own_invoice(principal, invoice_id))
