"""Starting, cancelling and resuming a subscription (the customer's routes).

- `open_subscription`: a subscription `pending_payment` and its first (`signup`) invoice, due in
  INVOICE_DUE_DAYS, for a paid signup or for a trial, expired or cancelled account subscribing.
- cancel: `cancel_at_period_end`; an unpaid renewal is voided and no new one is issued; the jobs
  end the subscription at the period end. resume: undoes that before the period end (the
  renewal is issued again, as a new revision, if its time has come).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.accounts.views import account_view
from chalicelib.billing import balance, lifecycle
from chalicelib.billing.renewals import new_invoice
from chalicelib.billing.views import invoice_view, subscription_view
from chalicelib.catalog.plans import offered_method
from chalicelib.core.clock import new_id, now, parse_stamp, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.validation import SLUG, Obj, Text, country_code, email, validate
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.notifications import messages
from chalicelib.storage.models.accounts import AccountModel, UserModel
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import PAYABLE, InvoiceModel, SubscriptionModel
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.store import TransactionCancelled, Tx

CAN_SUBSCRIBE = ("trial", "expired", "cancelled", "suspended")


BILLING = {
    "billing_name": Text(required=True, max_len=200),
    "billing_email": email(required=True, doc="Lower-cased when stored."),
    "address_line1": Text(required=True, max_len=200),
    "address_line2": Text(max_len=200),
    "city": Text(required=True, max_len=100),
    "state": Text(max_len=100),
    "postal_code": Text(max_len=20),
    "country": country_code(required=True),
    "tax_id": Text(max_len=50),
}


def subscribe_fields() -> dict[str, Any]:
    return {
        "plan": Text(required=True, max_len=40, pattern=SLUG,
                     pattern_message="must be a plan slug such as starter",
                     doc="A self-serve paid plan (see GET /api/v1/billing/plans)."),
        "payment_method": Text(required=True, max_len=40, pattern=SLUG,
                               pattern_message="must be a method slug",
                               doc="Preferred method; must be offered in the billing country."),
        "billing": Obj(BILLING, name="BillingDetails",
                       doc="Billing details; required if the account has none stored."),
    }


def open_subscription(tx: Tx, account: AccountModel, plan: PlanModel, billing: dict[str, Any],
                      method: str | None, at: str, *, actor: str) -> tuple[SubscriptionModel, InvoiceModel]:
    """Add a subscription awaiting its first payment and that invoice to `tx`; point the account
    (not written here) at both."""
    snapshot = {k: v for k, v in billing.items() if v is not None}
    subscription = SubscriptionModel(
        new_id("sub"), account_id=account.account_id, plan=plan.slug, status="pending_payment",
        created_at=at, updated_at=at, billing_snapshot=snapshot, billing_country=billing["country"],
        preferred_payment_method=method, cancel_at_period_end=False, renewal_revision=0,
        balance_pending=True if balance.of(account) else None)  # its renewals take the balance
    due = (parse_stamp(at) + timedelta(days=get_settings().invoice_due_days)).date().isoformat()
    invoice = new_invoice(subscription, invoice_id=new_id("inv"), kind="signup", plan=plan,
                          amount_minor=plan.price_minor, credits=plan.credits, due_date=due, at=at,
                          period_number=None, period_start=None, period_end=None)
    account.subscription_id = subscription.subscription_id
    account.pending_invoice_id = invoice.invoice_id
    account.billing = snapshot
    tx.put("subscription", subscription, SubscriptionModel.subscription_id.does_not_exist())
    tx.put("invoice", invoice, InvoiceModel.invoice_id.does_not_exist())
    for entity_type, entity_id, status in (("subscription", subscription.subscription_id, "pending_payment"),
                                           ("invoice", invoice.invoice_id, "pending")):
        add_audit(tx, entity_type=entity_type, entity_id=entity_id, action="created",
                  from_status=None, to_status=status, actor=actor, at=at)
    return subscription, invoice


def paid_plan(slug: str) -> PlanModel:
    """A self-serve paid plan, or 422 plan_not_available."""
    plan = store.get(PlanModel, slug)
    if plan is None or not plan.self_serve or plan.price_minor <= 0:
        raise Invalid(f"The plan '{slug}' cannot be chosen.", code="plan_not_available",
                      details={"fields": {"plan": "is not a self-serve paid plan"}})
    return plan


def subscribe(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A trial, expired or cancelled account subscribes to a paid plan."""
    data = validate(body, subscribe_fields())
    account = store.get(AccountModel, principal.account_id)
    if account is None:
        raise NotFound("No such account.", code="account_not_found")
    current = store.get(SubscriptionModel, account.subscription_id) if account.subscription_id else None
    if (current is not None and current.status != "cancelled") or account.status not in CAN_SUBSCRIBE:
        raise Conflict("The account already has a subscription; change its plan instead.",
                       code="subscription_exists",
                       details={"status": current.status if current else account.status})
    plan = paid_plan(data["plan"])
    billing = data["billing"] or plain(account.billing) or (plain(current.billing_snapshot) if current else {})
    if not billing:
        raise Invalid("Billing details are needed to subscribe.",
                      details={"fields": {"billing": "is required (no billing details on file)"}})
    if offered_method(data["payment_method"], billing["country"]) is None:
        raise Invalid(f"The payment method '{data['payment_method']}' is not offered in "
                      f"{billing['country']}.", code="method_not_offered",
                      details={"fields": {"payment_method": "not offered for your country"}})
    at = stamp()
    tx = Tx()
    read_status, read_sub = account.status, account.subscription_id
    subscription, invoice = open_subscription(tx, account, plan, billing, data["payment_method"], at,
                                              actor=principal.user_id)
    status = "trial" if read_status == "trial" else "pending_payment"
    lifecycle.move_account(
        tx, account, status,
        [AccountModel.subscription_id.set(subscription.subscription_id),
         AccountModel.pending_invoice_id.set(invoice.invoice_id),
         AccountModel.billing.set(account.billing), AccountModel.billing_country.set(billing["country"])],
        action="subscribed", actor=principal.user_id, at=at,
        condition=(AccountModel.subscription_id == read_sub) if read_sub
        else AccountModel.subscription_id.does_not_exist())
    account.billing_country = billing["country"]
    user = store.get(UserModel, principal.email) or UserModel(principal.email, name=account.name)
    messages.queue_signup(tx, user=user, account=account, plan=plan, invoice=invoice, at=at,
                          message_key=invoice.invoice_id)
    response = {"subscription": subscription_view(subscription), "invoice": invoice_view(invoice),
                "account": account_view(account)}
    _commit(tx, response)
    return response


def _own_subscription(principal: Principal) -> tuple[AccountModel, SubscriptionModel]:
    account = store.get(AccountModel, principal.account_id)
    sub = store.get(SubscriptionModel, account.subscription_id) if account and account.subscription_id else None
    if account is None or sub is None:
        raise NotFound("The account has no subscription.", code="subscription_not_found")
    return account, sub


def not_active(sub: SubscriptionModel) -> Conflict:
    return Conflict(f"The subscription is {sub.status}; only an active subscription can be changed.",
                    code="subscription_not_active", details={"status": sub.status})


def cancel(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Cancel at the period end (the service and credits last until then)."""
    validate(body, {})
    account, sub = _own_subscription(principal)
    if sub.status != "active":
        raise not_active(sub)
    if sub.cancel_at_period_end:
        return {"subscription": subscription_view(sub)}
    if (sub.paid_through or 0) > (sub.period or 0):
        raise Conflict("The next period is already paid; it can be cancelled once it starts.",
                       code="renewal_already_paid")
    at = stamp()
    tx = Tx()
    actions: list[Any] = [SubscriptionModel.cancel_at_period_end.set(True)]
    renewal = store.get(InvoiceModel, sub.renewal_invoice_id) if sub.renewal_invoice_id else None
    if renewal is not None and renewal.status in PAYABLE:
        if renewal.pending_payment_id:
            raise Conflict("A payment for the renewal invoice awaits approval; cancel after it is "
                           "decided.", code="renewal_payment_pending")
        lifecycle.void_invoice(tx, renewal, "cancelled_by_customer", principal.user_id, at)
        actions.append(SubscriptionModel.renewal_invoice_id.remove())
        if account.pending_invoice_id == renewal.invoice_id:
            tx.update("account", account, [AccountModel.pending_invoice_id.remove()],
                      condition=AccountModel.pending_invoice_id == renewal.invoice_id)
    sub.cancel_at_period_end, sub.renewal_invoice_id = True, None
    lifecycle.move_subscription(tx, sub, "active", actions, action="cancel_requested",
                                actor=principal.user_id, at=at,
                                condition=SubscriptionModel.cancel_at_period_end == False)  # noqa: E712
    response = {"subscription": subscription_view(sub)}
    _commit(tx, response)
    return response


def resume(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Undo a cancellation before the period ends."""
    validate(body, {})
    _, sub = _own_subscription(principal)
    if sub.status != "active":
        raise not_active(sub)
    if not sub.cancel_at_period_end:
        raise Conflict("The subscription is not being cancelled.", code="not_cancelling")
    moment = now()
    at = stamp(moment)
    tx = Tx()
    sub.cancel_at_period_end = False
    revision = (sub.renewal_revision or 0) + 1
    sub.renewal_revision = revision
    lifecycle.move_subscription(tx, sub, "active", [
        SubscriptionModel.cancel_at_period_end.set(False),
        SubscriptionModel.renewal_revision.set(revision)],
        action="cancel_withdrawn", actor=principal.user_id, at=at,
        condition=SubscriptionModel.cancel_at_period_end == True)  # noqa: E712
    response = {"subscription": subscription_view(sub)}
    _commit(tx, response)
    return response


def _commit(tx: Tx, response: dict[str, Any]) -> None:
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        raise Conflict("The subscription or account changed meanwhile; nothing was changed.",
                       code="state_conflict", details={"failed": exc.failed}) from exc
