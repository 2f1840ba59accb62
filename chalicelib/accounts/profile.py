"""The caller's own view: user, account, subscription and the invoice awaiting payment."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.accounts.views import account_view, user_view
from chalicelib.billing.views import customer_payment_view, invoice_view, subscription_view
from chalicelib.core.errors import Unauthorized
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel, UserModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel


def me(principal: Principal) -> dict[str, Any]:
    """The caller's user, account, subscription and the invoice awaiting payment."""
    user, account = store.transact_get((UserModel, principal.email), (AccountModel, principal.account_id))
    if user is None or account is None or user.user_id != principal.user_id:
        raise Unauthorized("The account of this token no longer exists.", code="invalid_token")
    keys: list[tuple[Any, ...]] = []
    if account.subscription_id:
        keys.append((SubscriptionModel, account.subscription_id))
    if account.pending_invoice_id:
        keys.append((InvoiceModel, account.pending_invoice_id))
    found = store.transact_get(*keys)
    subscription = found.pop(0) if account.subscription_id else None
    invoice = found.pop(0) if account.pending_invoice_id else None
    pending = None
    if invoice is not None:
        with store.guard():
            latest = next(iter(PaymentModel.by_invoice.query(
                invoice.invoice_id, scan_index_forward=False, limit=1)), None)
        pending = {**invoice_view(invoice), "latest_payment": customer_payment_view(latest)}
    return {"user": user_view(user), "account": account_view(account),
            "subscription": subscription_view(subscription), "pending_invoice": pending}
