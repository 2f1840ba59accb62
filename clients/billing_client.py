"""A small typed client for the billing API (standard library only: urllib).

    from clients.billing_client import BillingClient, BillingApiError

    api = BillingClient("http://127.0.0.1:8011/api/v1")
    signup = api.register(email="a@b.co", password="at least 10 chars", name="Ayesha Khan")
    print(signup["account"]["status"], signup["account"]["credits"])   # trial 1000

Every call returns the API's JSON as a TypedDict; an error response raises `BillingApiError` with
the API's `code`, `message` and `details` (field messages in `field_errors`).

The SaaS's own backend spends its customers' credits with a service key (made by an admin with
`create_service_key`) as the token, and one Idempotency-Key per unit of work:

    backend = BillingClient("http://127.0.0.1:8011/api/v1", token="sk_...")
    used = backend.consume(account_id, 10, "render job 42", idempotency_key="job-42")
    backend.release(used["entry_id"], idempotency_key="job-42-failed")  # the work failed
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Literal, TypedDict, cast

DEFAULT_BASE_URL = "http://127.0.0.1:8011/api/v1"
WEBHOOK_TOLERANCE_SECONDS = 300


def verify_webhook(secret: str, header: str, body: bytes,
                   tolerance: int = WEBHOOK_TOLERANCE_SECONDS) -> bool:
    """Whether a webhook's `Billing-Signature` header (`t=<unix seconds>,v1=<hex>[,v1=...]`)
    signs the raw `body` with the endpoint's `secret`, made within `tolerance` seconds of now:
    HMAC-SHA256(secret, "<t>.<body>"). Check it before trusting an event; dedupe by its `id`."""
    import hashlib
    import hmac
    import time

    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for name, value in fields if name.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(time.time() - int(stamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{stamps[0]}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value.strip()) for name, value in fields if name.strip() == "v1")

AccountStatus = Literal["trial", "pending_payment", "active", "past_due", "suspended", "expired",
                        "cancelled"]
SubscriptionStatus = Literal["pending_payment", "active", "past_due", "suspended", "cancelled"]
InvoiceStatus = Literal["pending", "paid", "void"]
PaymentStatus = Literal["pending_approval", "succeeded", "failed", "reversed"]
CreditBucket = Literal["allowance", "extra"]
CreditReason = Literal["trial_grant", "plan_purchase", "allowance_granted", "allowance_expired",
                       "trial_expired", "trial_carried_over", "upgrade_granted", "consumed",
                       "released", "topup", "admin_grant", "admin_correction"]


# What the API answers (the HTTP contract's shapes) --------------------------------------------

class User(TypedDict):
    id: str
    email: str
    name: str
    role: Literal["user", "admin"]
    account_id: str
    email_verified: bool
    created_at: str


class CreditBuckets(TypedDict):
    allowance: int
    extra: int


class Account(TypedDict):
    id: str
    name: str
    status: AccountStatus
    credits: int
    credit_buckets: CreditBuckets
    trial_ends_at: str | None
    balance: str
    balance_currency: str | None
    plan: str
    billing_country: str | None
    created_at: str


class Subscription(TypedDict):
    id: str
    account_id: str
    plan: str
    status: SubscriptionStatus
    current_period_start: str | None
    current_period_end: str | None
    created_at: str
    cancel_at_period_end: bool
    scheduled_plan: str | None
    next_invoice_at: str | None
    renewal_invoice_id: str | None
    upgrade_invoice_id: str | None
    suspends_at: str | None
    cancels_at: str | None


class Invoice(TypedDict):
    id: str
    invoice_number: str
    account_id: str
    subscription_id: str
    status: InvoiceStatus
    amount: str
    currency: str
    plan: str
    billing_snapshot: dict[str, str]
    preferred_payment_method: str | None
    due_date: str
    created_at: str
    paid_at: str | None
    payment_reference: str | None
    kind: Literal["signup", "renewal", "upgrade", "topup"]
    period_start: str | None
    period_end: str | None
    amount_due: str
    amount_paid: str


class SubscriptionWithInvoice(TypedDict):
    subscription: Subscription
    invoice: "Invoice | None"


class PlanChangePreview(TypedDict):
    plan: str
    change: Literal["upgrade", "downgrade", "cancel_downgrade", "none"]
    amount: str
    currency: str
    credits: int
    effective_at: str | None


class Payment(TypedDict):
    id: str
    invoice_id: str
    account_id: str
    status: PaymentStatus
    payment_method: str
    amount: str
    currency: str
    manual_reference: str
    manual_notes: str | None
    admin_notes: str | None
    created_at: str
    decided_at: str | None
    decided_by: str | None


class PendingInvoice(Invoice):
    latest_payment: Payment | None


class Token(TypedDict):
    access_token: str
    token_type: str
    expires_in: int  # the access token's lifetime: 900 s
    refresh_token: str  # a new pair at refresh(), once
    user: User


class Registration(Token):
    account: Account
    subscription: Subscription | None
    invoice: Invoice | None


class Me(TypedDict):
    user: User
    account: Account
    subscription: Subscription | None
    pending_invoice: PendingInvoice | None


class Plan(TypedDict):
    slug: str
    name: str
    price: str
    currency: str
    billing_cycle: str
    credits: int
    features: list[str]


class PaymentMethod(TypedDict):
    id: str
    payment_method: str
    display_name: str
    instructions: str
    country: str | None
    details: dict[str, str]


class QueuedPayment(Payment):
    account: dict[str, str | None]


class HistoryEvent(TypedDict):
    at: str
    entity_type: str
    entity_id: str
    action: str
    actor: str
    from_status: str | None
    to_status: str | None
    notes: str | None


class PaymentDetail(TypedDict):
    payment: Payment
    invoice: Invoice | None
    account: Account | None
    history: list[HistoryEvent]


class Approval(TypedDict):
    payment: Payment
    invoice: Invoice
    subscription: Subscription
    account: Account


class Rejection(TypedDict):
    payment: Payment
    invoice: Invoice


class AccountCounts(TypedDict):
    trial: int
    pending_payment: int
    active: int
    past_due: int
    suspended: int
    expired: int
    cancelled: int
    total: int


class SystemStatus(TypedDict):
    plans_configured: int
    payment_methods_enabled: int
    accounts: AccountCounts
    payments_pending_approval: int


class Page(TypedDict):
    items: list[Any]
    next_cursor: str | None


class Pack(TypedDict):
    slug: str
    name: str
    credits: int
    price: str
    currency: str


class NewServiceKey(TypedDict):
    id: str
    name: str
    key: str | None  # "sk_<id>_<secret>", shown this once (None when a retry replays the answer)
    created_at: str


class ServiceKey(TypedDict):
    id: str
    name: str
    created_at: str
    created_by: str
    last_used_at: str | None
    revoked_at: str | None


class Consumption(TypedDict):
    entry_id: str  # what `release` takes
    account_id: str
    consumed: int
    credits: int  # the balance after
    credit_buckets: CreditBuckets


class Release(TypedDict):
    entry_id: str  # the release's own ledger entry
    released_entry_id: str  # the consumption given back
    account_id: str
    released: int  # less than consumed when an allowance part had expired meanwhile
    credits: int
    credit_buckets: CreditBuckets


class CreditEntry(TypedDict):
    id: str
    amount: int  # negative for use
    bucket: Literal["allowance", "extra", "both"]  # "both": a use that took from the two
    reason: CreditReason
    reference: str | None
    created_at: str
    balance_after: int | None


class UsageDay(TypedDict):
    date: str  # YYYY-MM-DD
    consumed: int


class UsagePeriod(TypedDict):
    start: str
    end: str
    days: list[UsageDay]


class Usage(TypedDict):
    current: UsagePeriod | None
    previous: UsagePeriod | None


class CreditStatement(TypedDict):
    credits: int
    credit_buckets: CreditBuckets
    allowance_expires_at: str | None
    items: list[CreditEntry]  # newest first
    next_cursor: str | None
    usage: Usage


class CreditGrant(TypedDict):
    entry: CreditEntry
    account: Account


class AdminAccount(TypedDict):
    account: Account
    subscription: Subscription | None
    credits: CreditStatement  # its first page


class BillingDetails(TypedDict, total=False):
    billing_name: str
    billing_email: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str
    tax_id: str


# Errors ----------------------------------------------------------------------------------------

class BillingApiError(Exception):
    """An error answered by the API: `{"error": {"code", "message", "details"}}` and its status."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after

    @property
    def field_errors(self) -> dict[str, str]:
        """Messages per request field, e.g. {"amount": "must equal the invoice amount"}."""
        fields = self.details.get("fields")
        return dict(fields) if isinstance(fields, dict) else {}


class BillingConnectionError(BillingApiError):
    """The API could not be reached (status 0)."""


# The client ------------------------------------------------------------------------------------

class BillingClient:
    """One API caller; `login()` (or `register()`) keeps the token for the calls that follow."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, token: str | None = None,
                 timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def as_token(self, token: str) -> "BillingClient":
        """Another client for the same API, calling with `token`."""
        return BillingClient(self.base_url, token, self.timeout)

    # Auth

    def register(self, *, email: str, password: str, name: str, plan: str = "free",
                 account_name: str | None = None, billing: BillingDetails | None = None,
                 payment_method: str | None = None, idempotency_key: str | None = None) -> Registration:
        """Sign up: a free trial, or a paid plan (then `billing` is required). Keeps the token."""
        body: dict[str, Any] = {"email": email, "password": password, "name": name, "plan": plan}
        optional = {"account_name": account_name, "billing": billing, "payment_method": payment_method}
        body.update({key: value for key, value in optional.items() if value is not None})
        reply = cast(Registration, self._call("POST", "/auth/register", body, auth=False,
                                              idempotency_key=idempotency_key))
        self.token = reply["access_token"]
        return reply

    def login(self, email: str, password: str) -> Token:
        """Exchange email and password for a token, and keep it."""
        reply = cast(Token, self._call("POST", "/auth/login", {"email": email, "password": password},
                                       auth=False))
        self.token = reply["access_token"]
        return reply

    def refresh(self, refresh_token: str) -> Token:
        """A new pair for a refresh token (which is then used up); keeps the new access token."""
        reply = cast(Token, self._call("POST", "/auth/refresh", {"refresh_token": refresh_token},
                                       auth=False))
        self.token = reply["access_token"]
        return reply

    def logout(self, refresh_token: str) -> None:
        """End the session of a refresh token."""
        self._call("POST", "/auth/logout", {"refresh_token": refresh_token}, auth=False)

    def me(self) -> Me:
        """The caller's user, account, subscription and invoice awaiting payment."""
        return cast(Me, self._call("GET", "/auth/me"))

    # Catalog (public)

    def plans(self) -> list[Plan]:
        """The self-serve plans."""
        return cast(list[Plan], self._call("GET", "/billing/plans", auth=False)["items"])

    def packs(self) -> list[Pack]:
        """The top-up packs (`buy_topup`)."""
        return cast(list[Pack], self._call("GET", "/billing/plans", auth=False)["packs"])

    def payment_methods(self, country: str | None = None) -> list[PaymentMethod]:
        """The enabled global methods, plus that country's."""
        query = {"country": country} if country else None
        return cast(list[PaymentMethod], self._call("GET", "/billing/admin/payment-methods",
                                                    query=query, auth=False))

    # Billing (user)

    def invoices(self, limit: int = 25, cursor: str | None = None) -> Page:
        """The caller's invoices, newest first."""
        return cast(Page, self._call("GET", "/billing/invoices", query={"limit": limit, "cursor": cursor}))

    def invoice(self, invoice_id: str) -> Invoice:
        return cast(Invoice, self._call("GET", f"/billing/invoices/{_segment(invoice_id)}"))

    def payments(self, limit: int = 25, cursor: str | None = None) -> Page:
        """The caller's payments, newest first."""
        return cast(Page, self._call("GET", "/billing/payments", query={"limit": limit, "cursor": cursor}))

    def confirm_payment(self, *, invoice_id: str, payment_method: str, amount: str,
                        manual_reference: str, manual_notes: str | None = None,
                        idempotency_key: str | None = None) -> Payment:
        """Tell the API about a payment made outside: Payment(pending_approval). `amount` is "89.00"."""
        body = {"invoice_id": invoice_id, "payment_method": payment_method, "amount": amount,
                "manual_reference": manual_reference}
        if manual_notes is not None:
            body["manual_notes"] = manual_notes
        return cast(Payment, self._call("POST", "/billing/admin/payments/confirm", body,
                                        idempotency_key=idempotency_key))

    # Credits (user)

    def credits(self, limit: int = 25, cursor: str | None = None) -> CreditStatement:
        """The caller's credits: buckets, when the allowance resets, a page of the ledger (newest
        first, with the balance after each entry) and the use per day of this and the last period."""
        return cast(CreditStatement, self._call("GET", "/billing/credits",
                                                query={"limit": limit, "cursor": cursor}))

    def buy_topup(self, pack: str, payment_method: str, idempotency_key: str | None = None) -> Invoice:
        """A `topup` invoice for the pack, paid like any invoice (`confirm_payment`, then an admin
        approves); its approval adds the pack's credits to `extra`. Errors: 409
        `account_not_active` (only active and past-due accounts buy credits), 422
        `pack_not_available`, `method_not_offered`."""
        return cast(Invoice, self._call("POST", "/billing/topups",
                                        {"pack": pack, "payment_method": payment_method},
                                        idempotency_key=idempotency_key))

    # Spending credits (the SaaS's backend, with a service key as the token)

    def consume(self, account_id: str, amount: int, reason: str, *, idempotency_key: str) -> Consumption:
        """Use `amount` credits of the account (the allowance first, then `extra`; never below zero).

        `idempotency_key` is required: one per unit of work, so that sending it again (after a
        timeout, a lost answer, a crash) answers the first response and charges nothing more.

        Errors (`BillingApiError.code`):
          409 `insufficient_credits`: the account has fewer; `details["credits"]` is what it has.
          409 `account_not_active`: its credits are not usable now (`details["status"]`).
          409 `transaction_conflict`: the account changed too fast; send it again, same key.
          404 `account_not_found`.
          400 `idempotency_key_required` (no key), 422 `idempotency_key_reused` (the key was used
              with another body), 422 `validation_failed` (amount not a whole number 1..1e9).
          401 `invalid_service_key` (missing, unknown or revoked), 403 `service_key_required` (a
              user's or admin's token).
        """
        if not idempotency_key:
            raise ValueError("consume needs an idempotency_key: one per unit of work")
        return cast(Consumption, self._call("POST", "/credits/consume", {
            "account_id": account_id, "amount": amount, "reason": reason},
            idempotency_key=idempotency_key))

    def release(self, entry_id: str, *, idempotency_key: str) -> Release:
        """Give a consumption back (e.g. the work it paid for failed), once, to the buckets it came
        from, except an allowance part whose allowance has expired since (a new period began):
        that part is not given back (`released` says how much was).

        Errors: 409 `already_released` (by another Idempotency-Key), 404 `entry_not_found` (no
        consumption of this service key), 409 `transaction_conflict` (send it again, same key), and
        `idempotency_key_required`, `invalid_service_key`, `service_key_required` as for `consume`.
        """
        if not idempotency_key:
            raise ValueError("release needs an idempotency_key")
        return cast(Release, self._call("POST", "/credits/release", {"entry_id": entry_id},
                                        idempotency_key=idempotency_key))

    # Subscription (user)

    def subscribe(self, *, plan: str, payment_method: str, billing: BillingDetails | None = None,
                  idempotency_key: str | None = None) -> SubscriptionWithInvoice:
        """A trial, expired or cancelled account subscribes to a paid plan: its first invoice."""
        body: dict[str, Any] = {"plan": plan, "payment_method": payment_method}
        if billing is not None:
            body["billing"] = billing
        return cast(SubscriptionWithInvoice, self._call("POST", "/billing/subscription", body,
                                                        idempotency_key=idempotency_key))

    def preview_plan_change(self, plan: str) -> PlanChangePreview:
        """What changing to `plan` would do now (an upgrade's prorated amount and credits)."""
        return cast(PlanChangePreview, self._call("GET", "/billing/subscription/change-preview",
                                                  query={"plan": plan}))

    def change_plan(self, plan: str, idempotency_key: str | None = None) -> SubscriptionWithInvoice:
        """Upgrade (an invoice, applied once approved), downgrade at the period end, or keep."""
        return cast(SubscriptionWithInvoice, self._call("POST", "/billing/subscription/change",
                                                        {"plan": plan}, idempotency_key=idempotency_key))

    def cancel_subscription(self, idempotency_key: str | None = None) -> dict[str, Subscription]:
        """Cancel at the period end."""
        return cast(dict[str, Subscription], self._call("POST", "/billing/subscription/cancel", {},
                                                        idempotency_key=idempotency_key))

    def resume_subscription(self, idempotency_key: str | None = None) -> dict[str, Subscription]:
        """Undo a cancellation before the period ends."""
        return cast(dict[str, Subscription], self._call("POST", "/billing/subscription/resume", {},
                                                        idempotency_key=idempotency_key))

    # Admin

    def renewals(self, limit: int = 25, cursor: str | None = None) -> Page:
        """Unpaid renewal invoices, soonest due first, with their subscription's state."""
        return cast(Page, self._call("GET", "/billing/admin/renewals",
                                     query={"limit": limit, "cursor": cursor}))

    def approval_queue(self, limit: int = 25, cursor: str | None = None) -> Page:
        """Payments awaiting approval, oldest first (items are `QueuedPayment`)."""
        return cast(Page, self._call("GET", "/billing/admin/payments", query={
            "status": "pending_approval", "limit": limit, "cursor": cursor}))

    def payment_detail(self, payment_id: str) -> PaymentDetail:
        return cast(PaymentDetail, self._call("GET", f"/billing/admin/payments/{_segment(payment_id)}"))

    def approve(self, payment_id: str, admin_notes: str | None = None,
                idempotency_key: str | None = None) -> Approval:
        """Approve: payment succeeded, invoice paid, subscription and account active, credits added."""
        body = {"admin_notes": admin_notes} if admin_notes is not None else {}
        return cast(Approval, self._call("POST", f"/billing/admin/payments/{_segment(payment_id)}/approve",
                                         body, idempotency_key=idempotency_key))

    def reject(self, payment_id: str, admin_notes: str, idempotency_key: str | None = None) -> Rejection:
        """Reject with a reason: payment failed, the invoice stays pending."""
        return cast(Rejection, self._call("POST", f"/billing/admin/payments/{_segment(payment_id)}/reject",
                                          {"admin_notes": admin_notes}, idempotency_key=idempotency_key))

    def status(self) -> SystemStatus:
        """The System Status summary."""
        return cast(SystemStatus, self._call("GET", "/billing/admin/status"))

    def create_service_key(self, name: str, idempotency_key: str | None = None) -> NewServiceKey:
        """A service key for the SaaS's backend (`consume`, `release`); its `key` is shown this once:
        a retry with the same `idempotency_key` answers the same key with `key` None."""
        return cast(NewServiceKey, self._call("POST", "/billing/admin/service-keys", {"name": name},
                                              idempotency_key=idempotency_key))

    def service_keys(self) -> list[ServiceKey]:
        """Every service key, newest first, without secrets."""
        return cast(list[ServiceKey], self._call("GET", "/billing/admin/service-keys")["items"])

    def revoke_service_key(self, key_id: str) -> None:
        """Revoke a key (also when it already was): refused everywhere within 60 seconds, after
        which its calls fail with 401 `invalid_service_key`. Error: 404 `service_key_not_found`."""
        self._call("DELETE", f"/billing/admin/service-keys/{_segment(key_id)}")

    def grant_credits(self, account_id: str, amount: int, bucket: CreditBucket, reason: str,
                      idempotency_key: str | None = None) -> CreditGrant:
        """Add credits to a bucket (`amount` > 0, `admin_grant`) or take them away (< 0,
        `admin_correction`), with the reason kept in the ledger and the audit trail. Errors: 409
        `insufficient_credits` (the bucket would go below zero), 409 `state_conflict` (it changed
        meanwhile: send it again), 404 `account_not_found`, 422 `validation_failed`."""
        return cast(CreditGrant, self._call(
            "POST", f"/billing/admin/accounts/{_segment(account_id)}/credits",
            {"amount": amount, "bucket": bucket, "reason": reason}, idempotency_key=idempotency_key))

    def admin_account(self, account_id: str) -> AdminAccount:
        """An account with its subscription and its credits (the first page of its statement)."""
        return cast(AdminAccount, self._call("GET", f"/billing/admin/accounts/{_segment(account_id)}"))

    # Plumbing

    def _call(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None,
              auth: bool = True, idempotency_key: str | None = None) -> Any:
        url = self.base_url + path
        if query:
            pairs = {key: value for key, value in query.items() if value is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if response.status == 204:  # No Content (a revocation)
                    return None
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read(), error.headers.get("Retry-After")) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise BillingConnectionError(0, "connection_failed",
                                         f"Could not reach {self.base_url}: {reason}") from error
        return json.loads(raw) if raw else None


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _api_error(status: int, raw: bytes, retry_after: str | None) -> BillingApiError:
    try:
        error = json.loads(raw)["error"]
        code, message, details = error["code"], error["message"], error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = f"http_{status}", raw.decode(errors="replace")[:200] or "No body", {}
    seconds = int(retry_after) if retry_after and retry_after.isdigit() else None
    return BillingApiError(status, code, message, details, seconds)
