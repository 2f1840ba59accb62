"""Top-ups: a `topup` invoice for a pack of credits, paid like any invoice (reference, confirm,
approve, proofs, duplicates); its approval adds the pack's credits to `extra` (approval.py). For
accounts whose credits are in use: `active` and `past_due`."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.billing import approval, balance, renewals
from chalicelib.billing.references import new_reference
from chalicelib.billing.views import invoice_view
from chalicelib.catalog.plans import offered_method, pack
from chalicelib.core.clock import new_id, now, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.validation import SLUG, Text, validate
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import OPEN_INVOICE, InvoiceModel, SubscriptionModel
from chalicelib.storage.store import TransactionCancelled, Tx

CAN_TOP_UP = ("active", "past_due")
TOPUP = {
    "pack": Text(required=True, max_len=40, pattern=SLUG, pattern_message="must be a pack slug",
                 doc="A pack of GET /api/v1/billing/plans (`packs`), e.g. pack_1000."),
    "payment_method": Text(required=True, max_len=40, pattern=SLUG,
                           pattern_message="must be a method slug",
                           doc="A method offered in the account's billing country."),
}


def buy(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A topup invoice for the pack, awaiting payment (the account's pending invoice if it has none)."""
    data = validate(body, TOPUP)
    item = pack(data["pack"])
    if item is None:
        raise Invalid(f"There is no pack '{data['pack']}'.", code="pack_not_available",
                      details={"fields": {"pack": "is not a pack of the catalog"}})
    account = store.get(AccountModel, principal.account_id)
    if account is None:
        raise NotFound("No such account.", code="account_not_found")
    if account.status not in CAN_TOP_UP or not account.subscription_id:
        raise Conflict(f"The account is {account.status}; credits can be bought by active and "
                       "past-due accounts.", code="account_not_active",
                       details={"status": account.status})
    sub = store.get(SubscriptionModel, account.subscription_id)
    billing = plain(sub.billing_snapshot) if sub else {}
    country = (sub.billing_country if sub else None) or account.billing_country
    if offered_method(data["payment_method"], country) is None:
        raise Invalid(f"The payment method '{data['payment_method']}' is not offered in {country}.",
                      code="method_not_offered",
                      details={"fields": {"payment_method": "not offered for your country"}})
    at = stamp()
    year = at[:4]
    number = store.next_sequence(f"invoice_number#{year}")
    invoice_id = new_id("inv")
    invoice = InvoiceModel(
        invoice_id, invoice_number=f"INV-{year}-{number:06d}", account_id=account.account_id,
        subscription_id=account.subscription_id, status="pending", amount_minor=item["price_minor"],
        currency=item["currency"], plan=item["slug"], plan_credits=item["credits"],
        billing_snapshot=billing, billing_country=country or "",
        preferred_payment_method=data["payment_method"],
        due_date=(now() + timedelta(days=get_settings().invoice_due_days)).date().isoformat(),
        created_at=at, payment_reference=new_reference(), open=store.spread(OPEN_INVOICE, invoice_id),
        kind="topup", created_month=store.spread(at[:7], invoice_id))
    tx = Tx()
    renewals.settle(tx, invoice, balance.of(account), actor=principal.user_id, at=at)
    tx.put("invoice", invoice, InvoiceModel.invoice_id.does_not_exist())
    add_audit(tx, entity_type="invoice", entity_id=invoice_id, action="created", from_status=None,
              to_status="pending", actor=principal.user_id, at=at)
    if invoice.status == "paid" and sub is not None:  # the balance covers it: credits at once
        add_audit(tx, entity_type="invoice", entity_id=invoice_id, action="paid_from_balance",
                  from_status="pending", to_status="paid", actor=principal.user_id, at=at)
        approval.apply(tx, None, invoice, sub, account, principal.user_id, now(), None)
    elif not account.pending_invoice_id:
        tx.update("account", account, [AccountModel.pending_invoice_id.set(invoice_id)],
                  condition=AccountModel.pending_invoice_id.does_not_exist())
    response = invoice_view(invoice)
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        raise Conflict("The account changed meanwhile; nothing was changed.", code="state_conflict",
                       details={"failed": exc.failed}) from exc
    return response
