"""How users and accounts look on the wire (never a password hash)."""
from __future__ import annotations

from typing import Any

from chalicelib.core.clock import public_time
from chalicelib.core.money import INVOICE_CURRENCY, format_minor
from chalicelib.credits.ledger import buckets
from chalicelib.storage.models.accounts import AccountModel, UserModel


def user_view(user: UserModel) -> dict[str, Any]:
    """A user, never with its password hash; `email_verified` once its address was verified."""
    return {"id": user.user_id, "email": user.email, "name": user.name, "role": user.role,
            "admin_role": (user.admin_role or "owner") if user.role == "admin" else None,
            "account_id": user.account_id, "email_verified": bool(user.email_verified_at),
            "created_at": public_time(user.created_at)}


def account_view(account: AccountModel) -> dict[str, Any]:
    """An account with its status, credits (in their buckets) and money balance."""
    allowance, extra = buckets(account)
    return {"id": account.account_id, "name": account.name, "status": account.status,
            "credits": account.credits, "credit_buckets": {"allowance": allowance, "extra": extra},
            "trial_ends_at": public_time(account.trial_ends_at) if account.status == "trial" else None,
            "balance": format_minor(account.balance_minor or 0),
            "balance_currency": INVOICE_CURRENCY, "plan": account.plan,
            "billing_country": account.billing_country,
            "created_at": public_time(account.created_at)}
