"""The admin's account lookups: search by email, account-name prefix, invoice number or payment
reference (each through a key or an index: never a Scan), and an account's whole page.

Names are found by prefix through the sparse, sharded `by_name` index of accounts
(`models.accounts.name_attributes`): its partition is the name's first letter or digit
(`name#<c>`), its sort key the name in lower case with the account id; a query is one partition,
`begins_with` the prefix typed.
"""
from __future__ import annotations

import re
from typing import Any

from chalicelib.accounts.views import account_view, user_view
from chalicelib.billing import references
from chalicelib.billing.views import event_view, invoice_view, payment_view, subscription_view
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.credits.statement import statement
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel, UserModel, name_key
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.records import AuditEventModel

INVOICE_NUMBER = re.compile(r"^INV-\d{4}-\d{6}$", re.IGNORECASE)
SEARCH_LIMIT = 20
DETAIL_ITEMS = 50


def _summary(account: AccountModel, matched: str) -> dict[str, Any]:
    return {"id": account.account_id, "name": account.name, "status": account.status,
            "plan": account.plan, "billing_country": account.billing_country, "matched": matched}


def search(q: str | None) -> dict[str, Any]:
    """Accounts that `q` names: an email (exact), an invoice number, a payment reference, else a
    name prefix (at least 2 characters), up to SEARCH_LIMIT."""
    text = (q or "").strip()
    if len(text) < 2 or len(text) > 200:
        raise BadRequest("q must be 2 to 200 characters: an email, an invoice number, a payment "
                         "reference or the start of an account's name.", code="invalid_query",
                         details={"fields": {"q": "2 to 200 characters"}})
    found: list[tuple[str, str]] = []  # (account id, what matched)
    with store.guard():
        if "@" in text:
            user = store.get(UserModel, text.lower())
            if user is not None and user.role == "user":
                found.append((user.account_id, "email"))
        elif INVOICE_NUMBER.match(text):
            for invoice in InvoiceModel.by_number.query(text.upper(), limit=1):
                found.append((invoice.account_id, "invoice_number"))
        elif references.is_valid(text):
            reference = references.format_reference(references.compact(text).removeprefix(references.PREFIX))
            for invoice in InvoiceModel.by_reference.query(reference, limit=1):
                found.append((invoice.account_id, "payment_reference"))
        if not found and "@" not in text:
            partition, prefix = name_key(text)
            for account in AccountModel.by_name.query(partition, AccountModel.name_sort.startswith(prefix),
                                                      limit=SEARCH_LIMIT):
                found.append((account.account_id, "name"))
    ids = list(dict.fromkeys(account_id for account_id, _ in found))
    with store.guard():
        accounts = {a.account_id: a for a in AccountModel.batch_get(ids)} if ids else {}
    matched = dict(found)
    return {"items": [_summary(accounts[i], matched[i]) for i in ids if i in accounts]}


def detail(account_id: str) -> dict[str, Any]:
    """An account with its users, subscription, invoices, payments (newest first), credits and
    the history of the account and its subscription."""
    account = store.get(AccountModel, account_id)
    if account is None:
        raise NotFound("No such account.", code="account_not_found")
    sub = store.get(SubscriptionModel, account.subscription_id) if account.subscription_id else None
    with store.guard():
        users = list(UserModel.by_account.query(account_id))
        invoices = list(InvoiceModel.by_account.query(account_id, scan_index_forward=False,
                                                      limit=DETAIL_ITEMS))
        payments = list(PaymentModel.by_account.query(account_id, scan_index_forward=False,
                                                      limit=DETAIL_ITEMS))
        history = list(AuditEventModel.query(account_id))
        if sub is not None:
            history += list(AuditEventModel.query(sub.subscription_id))
    history.sort(key=lambda event: event.at)
    return {"account": account_view(account), "subscription": subscription_view(sub),
            "users": [user_view(user) for user in users],
            "hold": {"reason": account.held, "status_after": account.held_status or "active"}
            if account.held else None,
            "invoices": [invoice_view(invoice) for invoice in invoices],
            "payments": [payment_view(payment) for payment in payments],
            "credits": statement(account, 25, None),
            "history": [event_view(event) for event in history]}
