"""Signup (free trial or paid plan), login, the caller's own view, and admin users."""
from __future__ import annotations

import json
import math
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib import notifications, store
from chalicelib.auth import Principal, hash_password, issue_token, verify_password
from chalicelib.clock import new_id, now, stamp
from chalicelib.config import get_settings
from chalicelib.errors import Conflict, Invalid, TooManyRequests, Unauthorized
from chalicelib.models import (
    AccountModel,
    CounterModel,
    InvoiceModel,
    OPEN_INVOICE,
    LoginFailureModel,
    PaymentMethodModel,
    PaymentModel,
    PlanModel,
    SubscriptionModel,
    UserModel,
)
from chalicelib.records import add_audit, add_credit
from chalicelib.references import new_reference
from chalicelib.reference_data import GLOBAL
from chalicelib.store import TransactionCancelled, Tx
from chalicelib.token_secret import keyed_hash
from chalicelib.validation import SLUG, Obj, Text, country_code, email, validate
from chalicelib.views import account_view, invoice_view, payment_view, subscription_view, user_view

FREE_PLAN = "free"
ADMIN_PLAN = "internal"

BILLING = {
    "billing_name": Text(required=True, max_len=200),
    "billing_email": email(required=True),
    "address_line1": Text(required=True, max_len=200),
    "address_line2": Text(max_len=200),
    "city": Text(required=True, max_len=100),
    "state": Text(max_len=100),
    "postal_code": Text(max_len=20),
    "country": country_code(required=True),
    "tax_id": Text(max_len=50),
}
REGISTER = {
    "email": email(required=True),
    "password": Text(required=True, min_len=10, max_len=256, strip=False,
                     check=lambda p: p if p.strip() else None,
                     check_message="must not be only spaces"),
    "name": Text(required=True, max_len=100),
    "account_name": Text(max_len=100),
    "plan": Text(max_len=40, pattern=SLUG, pattern_message="must be a plan slug such as starter"),
    "billing": Obj(BILLING),
    "payment_method": Text(max_len=40, pattern=SLUG, pattern_message="must be a method slug"),
}
LOGIN = {
    "email": Text(required=True, max_len=254, lower=True),
    "password": Text(required=True, max_len=256, strip=False),
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


def _token_response(user: UserModel) -> dict[str, Any]:
    principal = Principal(user.user_id, user.account_id, user.email, user.role)
    token, ttl = issue_token(principal)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl,
            "user": user_view(user)}


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
    keys: list[tuple[Any, ...]] = [(PlanModel, plan_slug), (UserModel, data["email"])]
    if wanted_method:
        keys += [(PaymentMethodModel, country, wanted_method),
                 (PaymentMethodModel, GLOBAL, wanted_method)]
    plan, existing, *methods = store.transact_get(*keys)
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
    account = AccountModel(user.account_id, name=data["account_name"] or data["name"],
                           credits=0, plan=plan_slug, owner_user_id=user.user_id,
                           billing_country=country, created_at=at, updated_at=at, status="trial")
    tx = Tx()
    tx.put("user", user, UserModel.email.does_not_exist())
    subscription = invoice = None
    if paid:
        subscription, invoice = _paid_signup(tx, account, plan, billing, wanted_method, at)
    else:
        account.credits = plan.credits
        add_credit(tx, account_id=account.account_id, entry_id="trial", amount=plan.credits,
                   reason="trial_grant", reference=None, actor=user.user_id, at=at)
    tx.put("account", account, AccountModel.account_id.does_not_exist())
    add_audit(tx, entity_type="account", entity_id=account.account_id, action="created",
              from_status=None, to_status=account.status, actor=user.user_id, at=at)
    notifications.queue_signup(tx, user=user, account=account, plan=plan, invoice=invoice, at=at)
    counter = _status_counter(account.status)
    tx.update("counter", CounterModel(store.shard_key()), [counter.add(1)])
    response = {**_token_response(user), "account": account_view(account),
                "subscription": subscription_view(subscription), "invoice": invoice_view(invoice)}
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        if "user" in exc.failed:
            raise Conflict("An account with this email already exists.", code="email_taken") from exc
        raise
    return response


def _paid_signup(tx: Tx, account: AccountModel, plan: PlanModel, billing: dict[str, Any],
                 method: str | None, at: str) -> tuple[SubscriptionModel, InvoiceModel]:
    account.status = "pending_payment"
    subscription = SubscriptionModel(new_id("sub"), account_id=account.account_id, plan=plan.slug,
                                     status="pending_payment", created_at=at, updated_at=at)
    year = at[:4]
    number = store.next_sequence(f"invoice_number#{year}")
    invoice = InvoiceModel(
        new_id("inv"), invoice_number=f"INV-{year}-{number:06d}", account_id=account.account_id,
        subscription_id=subscription.subscription_id, status="pending",
        amount_minor=plan.price_minor, currency=plan.currency, plan=plan.slug,
        plan_credits=plan.credits, billing_country=billing["country"],
        billing_snapshot={k: v for k, v in billing.items() if v is not None},
        preferred_payment_method=method,
        due_date=(now() + timedelta(days=get_settings().invoice_due_days)).date().isoformat(),
        created_at=at, payment_reference=new_reference(), open=OPEN_INVOICE)
    account.subscription_id = subscription.subscription_id
    account.pending_invoice_id = invoice.invoice_id
    tx.put("subscription", subscription, SubscriptionModel.subscription_id.does_not_exist())
    tx.put("invoice", invoice, InvoiceModel.invoice_id.does_not_exist())
    for entity_type, entity_id, status in (("subscription", subscription.subscription_id, "pending_payment"),
                                           ("invoice", invoice.invoice_id, "pending")):
        add_audit(tx, entity_type=entity_type, entity_id=entity_id, action="created",
                  from_status=None, to_status=status, actor=account.owner_user_id, at=at)
    return subscription, invoice


def _status_counter(status: str) -> Any:
    return getattr(CounterModel, f"accounts_{status}")


def _method_not_offered(method: str, country: str | None) -> Invalid:
    where = f"in {country}" if country else "globally"
    return Invalid(f"The payment method '{method}' is not offered {where}.",
                   code="method_not_offered", details={"fields": {"payment_method": "not offered"}})


def login(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for a token; one message whatever was wrong.

    Failed attempts are counted per email (known or not) in fixed windows; a sliding estimate
    over the current and previous window past LOGIN_MAX_FAILURES answers 429 without checking
    the password, until the estimate falls below the limit again.
    """
    data = validate(body, LOGIN)
    window = _FailureWindow(data["email"])
    user, current, previous = store.transact_get(
        (UserModel, data["email"]), (LoginFailureModel, window.current_id),
        (LoginFailureModel, window.previous_id))
    wait = window.wait_seconds(current.failures if current else 0, previous.failures if previous else 0)
    if wait:
        raise TooManyRequests("Too many failed logins for this email; try again later.",
                              code="too_many_login_attempts", retry_after=wait)
    if not verify_password(user.password_hash if user else None, data["password"]):
        window.record_failure()
        raise Unauthorized("Email or password is wrong.", code="invalid_credentials")
    return _token_response(user)


class _FailureWindow:
    """The failed-login counters of one email: the current fixed window and the one before."""

    def __init__(self, address: str) -> None:
        settings = get_settings()
        self.limit, self.length = settings.login_max_failures, settings.login_window_seconds
        moment = time.time()
        index = int(moment // self.length)
        self.elapsed = moment - index * self.length
        self.ends_at = (index + 1) * self.length
        who = keyed_hash(b"login:" + address.encode())[:32]
        self.current_id, self.previous_id = f"{who}#{index}", f"{who}#{index - 1}"

    def wait_seconds(self, current: int, previous: int) -> int:
        """0 when a login may be tried; else how long until the estimate is under the limit."""
        weight = 1 - self.elapsed / self.length
        if current + previous * weight < self.limit:
            return 0
        if current < self.limit:  # the previous window's share must fade
            wait = self.length * (1 - (self.limit - current) / previous) - self.elapsed
        else:  # this window's count must fade in the next one
            wait = (self.length - self.elapsed) + self.length * (1 - self.limit / current)
        return max(1, math.ceil(wait))

    def record_failure(self) -> None:
        counter = LoginFailureModel(self.current_id)
        with store.guard():
            counter.update(actions=[
                LoginFailureModel.failures.add(1),
                LoginFailureModel.expires_at.set(
                    datetime.fromtimestamp(self.ends_at + self.length, tz=timezone.utc))])


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
        pending = {**invoice_view(invoice), "latest_payment": payment_view(latest)}
    return {"user": user_view(user), "account": account_view(account),
            "subscription": subscription_view(subscription), "pending_invoice": pending}


def create_admin(email_address: str, password: str, name: str = "Administrator") -> str:
    """Create an admin user with an internal account, or keep the one there; 'created' or 'kept'."""
    data = validate({"email": email_address, "password": password, "name": name},
                    {"email": REGISTER["email"], "password": REGISTER["password"], "name": REGISTER["name"]})
    existing = store.get(UserModel, data["email"], consistent=True)
    if existing is not None:
        if existing.role != "admin":
            raise Conflict(f"{data['email']} is a regular user; choose another admin email.",
                           code="email_taken")
        return "kept"
    at = stamp()
    user = UserModel(data["email"], user_id=new_id("usr"), account_id=new_id("acc"), name=data["name"],
                     password_hash=hash_password(data["password"]), role="admin", created_at=at)
    account = AccountModel(user.account_id, name="Administrators", status="active", credits=0,
                           plan=ADMIN_PLAN, owner_user_id=user.user_id, created_at=at, updated_at=at)
    tx = Tx()
    tx.put("user", user, UserModel.email.does_not_exist())
    tx.put("account", account, AccountModel.account_id.does_not_exist())
    add_audit(tx, entity_type="account", entity_id=account.account_id, action="created",
              from_status=None, to_status="active", actor="system", at=at)
    tx.update("counter", CounterModel(store.shard_key()), [CounterModel.accounts_active.add(1)])
    try:
        tx.commit()
    except TransactionCancelled as exc:
        if "user" in exc.failed:
            return "kept"
        raise
    return "created"
