"""Signup: a free trial at once, or a paid plan with its first invoice awaiting payment."""
from __future__ import annotations

import json
from typing import Any

from chalicelib.accounts.auth import hash_password
from chalicelib.accounts.fields import NEW_PASSWORD
from chalicelib.accounts.views import account_view
from chalicelib.accounts import trials
from chalicelib.billing.subscriptions import BILLING, open_subscription
from chalicelib.billing.views import invoice_view, subscription_view
from chalicelib.catalog.reference_data import GLOBAL
from chalicelib.core.clock import new_id, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, Invalid, TooManyRequests
from chalicelib.core.secrets import keyed_hash
from chalicelib.core.validation import SLUG, Obj, Text, email, validate
from chalicelib.credits.ledger import add_credit
from chalicelib.notifications import messages
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel, UserModel, name_attributes
from chalicelib.storage.models.catalog import PaymentMethodModel, PlanModel
from chalicelib.storage.store import TransactionCancelled, Tx

FREE_PLAN = "free"


ADMIN_PLAN = "internal"




REGISTER = {
    "email": email(required=True, doc="Lower-cased; must not be registered yet (409)."),
    "password": NEW_PASSWORD,
    "name": Text(required=True, max_len=100),
    "account_name": Text(max_len=100, doc="Defaults to `name`."),
    "plan": Text(max_len=40, pattern=SLUG, pattern_message="must be a plan slug such as starter",
                 schema={"default": "free"},
                 doc="A self-serve plan slug (see GET /api/v1/billing/plans); `free` when absent. "
                     "`internal` or an unknown slug is 422 plan_not_available."),
    "billing": Obj(BILLING, name="BillingDetails",
                   doc="Billing details; required for a paid plan."),
    "payment_method": Text(max_len=40, pattern=SLUG, pattern_message="must be a method slug",
                           doc="Preferred method for a paid plan; must be offered in the billing "
                               "country (else 422 method_not_offered). Ignored for free."),
}

# What the field spec cannot say: a paid plan needs billing details (RegisterRequest's if/then).
REGISTER_SCHEMA = {
    "if": {"required": ["plan"], "properties": {"plan": {"type": "string", "not": {"const": FREE_PLAN}}}},
    "then": {"required": ["billing"], "properties": {"billing": {"type": "object"}}},
}


def signup_scope(raw_body: bytes | None) -> str:
    """Whose Idempotency-Keys a signup uses: a keyed hash of its email (one namespace per email)."""
    try:
        body = json.loads(raw_body or b"")
        address = body.get("email") if isinstance(body, dict) else None
    except (ValueError, UnicodeDecodeError):
        address = None
    normalized = address.strip().lower() if isinstance(address, str) else ""
    return keyed_hash(b"signup:" + normalized.encode())[:32]


def register(body: dict[str, Any]) -> dict[str, Any]:
    """Create a user and account: a free trial, or a paid plan awaiting payment."""
    data = validate(body, REGISTER)
    plan_slug = data["plan"] or FREE_PLAN
    billing = data["billing"]
    paid = plan_slug != FREE_PLAN
    if paid and billing is None:
        raise Invalid("A paid plan needs billing details.",
                      details={"fields": {"billing": "is required for a paid plan"}})
    country = billing["country"] if billing else None
    wanted_method = data["payment_method"] if paid else None
    windows = _windows(data["email"], billing)
    keys: list[tuple[Any, ...]] = [(PlanModel, plan_slug), (UserModel, data["email"])]
    if wanted_method:
        keys += [(PaymentMethodModel, country, wanted_method),
                 (PaymentMethodModel, GLOBAL, wanted_method)]
    for window in windows:
        keys += window.keys()
    plan, existing, *rest = store.transact_get(*keys)
    methods, counts = rest[:len(rest) - 2 * len(windows)], rest[len(rest) - 2 * len(windows):]
    _throttle(windows, counts)
    if plan is None or not plan.self_serve:
        raise Invalid(f"The plan '{plan_slug}' cannot be chosen at signup.",
                      code="plan_not_available", details={"fields": {"plan": "is not a self-serve plan"}})
    if existing is not None:
        raise Conflict("An account with this email already exists.", code="email_taken")
    if wanted_method and not any(m is not None and m.enabled for m in methods):
        raise _method_not_offered(wanted_method, country)

    at = stamp()
    user = UserModel(data["email"], user_id=new_id("usr"), account_id=new_id("acc"),
                     name=data["name"], password_hash=hash_password(data["password"]),
                     role="user", created_at=at)
    name = data["account_name"] or data["name"]
    account = AccountModel(user.account_id, name=name,
                           credits=0, plan=plan_slug, owner_user_id=user.user_id,
                           billing_country=country, created_at=at, updated_at=at, status="trial",
                           allowance=0, extra=0, owner_email=user.email,
                           **name_attributes(user.account_id, name))
    tx = Tx()
    tx.put("user", user, UserModel.email.does_not_exist())
    for n, window in enumerate(windows):
        tx.update(f"throttle:{n}", window.counter(), window.count_actions())
    subscription = invoice = None
    if paid:
        account.status = "pending_payment"
        subscription, invoice = open_subscription(tx, account, plan, billing, wanted_method, at,
                                                  actor=user.user_id)
    else:
        account.credits = account.allowance = account.allowance_granted = plan.credits
        trials.start(account, at)
        account.allowance_since = at
        add_credit(tx, account_id=account.account_id, entry_id="trial", amount=plan.credits,
                   reason="trial_grant", reference=None, actor=user.user_id, at=at,
                   balance_after=plan.credits)
    tx.put("account", account, AccountModel.account_id.does_not_exist())
    add_audit(tx, entity_type="account", entity_id=account.account_id, action="created",
              from_status=None, to_status=account.status, actor=user.user_id, at=at)
    messages.queue_signup(tx, user=user, account=account, plan=plan, invoice=invoice, at=at)
    messages.queue_verification(tx, address=user.email, at=at)
    tx.count(f"accounts_{account.status}", 1)
    from chalicelib.accounts import sessions  # loaded on the first signup or login

    refresh_token = sessions.start(tx, user, at)
    response = {**sessions.token_pair(user, refresh_token), "account": account_view(account),
                "subscription": subscription_view(subscription), "invoice": invoice_view(invoice)}
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        if "user" in exc.failed:
            raise Conflict("An account with this email already exists.", code="email_taken") from exc
        raise
    return response


def _windows(email: str, billing: dict[str, Any] | None) -> list[Any]:
    """The throttles a signup counts in: its client address's signups, and the signups that name
    a billing contact other than the user's own address (each sends that address a verification
    email: a stranger's address cannot be sent more than a few)."""
    from chalicelib.accounts.throttle import Window, client_address

    settings = get_settings()
    found = [Window(b"signup-client:", client_address(), settings.signup_max_per_client,
                    settings.signup_window_seconds)]
    contact = ((billing or {}).get("billing_email") or "").strip().lower()
    if contact and contact != email.strip().lower():
        found.append(Window(b"signup-contact:", contact, settings.signup_max_per_contact,
                            settings.signup_window_seconds))
    return found


def _throttle(windows: list[Any], counts: list[Any]) -> None:
    waits = [window.wait(counts[2 * n], counts[2 * n + 1]) for n, window in enumerate(windows)]
    if any(waits):
        raise TooManyRequests("Too many signups from here, or naming this billing email; try "
                              "again later.", code="too_many_signups", retry_after=max(waits))


def _method_not_offered(method: str, country: str | None) -> Invalid:
    where = f"in {country}" if country else "globally"
    return Invalid(f"The payment method '{method}' is not offered {where}.",
                   code="method_not_offered", details={"fields": {"payment_method": "not offered"}})
