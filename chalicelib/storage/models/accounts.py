"""Tables of who can sign in: users, accounts, failed-login windows."""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta


class UserModel(Model):
    """A login. Keyed by email so that uniqueness is a conditional put."""

    class Meta(TableMeta):
        entity = "users"

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    name = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    role = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # Sessions: refresh tokens of families started before this are refused (a password changed
    # or reset ends every session); when the user's own address was verified.
    sessions_since = UnicodeAttribute(null=True)
    email_verified_at = UnicodeAttribute(null=True)


class TrialSweepIndex(GlobalSecondaryIndex[Any]):
    """Sparse and sharded (`due#<n>`): trials whose reminder or end is ahead, by when."""

    class Meta:
        index_name = "due_by_time"
        projection = AllProjection()

    sweep = UnicodeAttribute(hash_key=True)
    sweep_at = UnicodeAttribute(range_key=True)


class AccountModel(Model):
    """A customer account: status, credits and what it is waiting for."""

    class Meta(TableMeta):
        entity = "accounts"

    account_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    credits = IntegerAttribute()
    plan = UnicodeAttribute()
    owner_user_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute(null=True)
    pending_invoice_id = UnicodeAttribute(null=True)
    billing_country = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # credits = allowance + extra; None in items written before the buckets (all allowance).
    allowance = IntegerAttribute(null=True)
    extra = IntegerAttribute(null=True)
    allowance_since = UnicodeAttribute(null=True)  # when the allowance was last reset or expired
    # Money the customer has with us (overpayments, paid parts of voided invoices), in the plans'
    # currency: the sum of its money-ledger entries; applied to the next invoice at issue.
    balance_minor = IntegerAttribute(null=True)
    owner_email = UnicodeAttribute(null=True)
    billing = MapAttribute(null=True)
    trial_ends_at = UnicodeAttribute(null=True)
    trial_reminded_at = UnicodeAttribute(null=True)
    # Sparse: a trial with its ending ahead carries its shard and when (the subscriptions' index).
    sweep = UnicodeAttribute(null=True)
    sweep_at = UnicodeAttribute(null=True)
    due_by_time = TrialSweepIndex()


class LoginFailureModel(Model):
    """A throttle's count in one time window, keyed by an HMAC (never the address itself): failed
    logins of one email, password-reset requests of one email or one client address."""

    class Meta(TableMeta):
        entity = "login_failures"

    bucket_id = UnicodeAttribute(hash_key=True)
    failures = IntegerAttribute(default=0)
    expires_at = TTLAttribute()
