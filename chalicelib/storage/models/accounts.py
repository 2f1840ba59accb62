"""Tables of who can sign in: users, accounts, failed-login windows."""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta


class AdminIndex(GlobalSecondaryIndex["UserModel"]):
    """Sparse: the admin users (`staff` = "admin"), by email."""

    class Meta:
        index_name = "admins"
        projection = AllProjection()

    staff = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class UserAccountIndex(GlobalSecondaryIndex["UserModel"]):
    """An account's users."""

    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)


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
    # Admins: `staff` ("admin") puts them in the admins index; `admin_role` owner | approver |
    # viewer (None in items written before roles: an owner); `disabled` ends their sessions. An
    # invited admin has no password until the invitation (its token's keyed hash, and until when)
    # is accepted.
    staff = UnicodeAttribute(null=True)
    admin_role = UnicodeAttribute(null=True)
    disabled = BooleanAttribute(null=True)
    invited_by = UnicodeAttribute(null=True)
    invitation_hash = UnicodeAttribute(null=True)
    invitation_expires_at = UnicodeAttribute(null=True)
    admins = AdminIndex()
    by_account = UserAccountIndex()
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


def name_key(name: str) -> tuple[str, str]:
    """(partition, sort prefix) of a name in the `by_name` index: lower case, spaces collapsed;
    the partition is its first letter or digit."""
    folded = " ".join(name.lower().split())
    first = next((char for char in folded if char.isalnum()), "_")
    return f"name#{first}", folded


def name_attributes(account_id: str, name: str) -> dict[str, str]:
    """What an account item carries for the `by_name` index."""
    partition, folded = name_key(name)
    return {"name_shard": partition, "name_sort": f"{folded}#{account_id}"}


class AccountNameIndex(GlobalSecondaryIndex["AccountModel"]):
    """Sparse and sharded by the name's first character (`name#<c>`): accounts by their name in
    lower case (`<name>#<account id>`), for the admin's search by name prefix."""

    class Meta:
        index_name = "by_name"
        projection = AllProjection()

    name_shard = UnicodeAttribute(hash_key=True)
    name_sort = UnicodeAttribute(range_key=True)


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
    # What the current allowance started at (credits.low fires below a tenth of it); None before.
    allowance_granted = IntegerAttribute(null=True)
    # The subscription's current period's end, kept here for entitlements' one read (set with the
    # subscription's own, as its first period and each next one start).
    current_period_end = UnicodeAttribute(null=True)
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
    # Suspended by an owner (admin.holds): `held` is the reason; `held_status` the status the
    # lifecycle gives it meanwhile (restored when the owner reactivates it).
    held = UnicodeAttribute(null=True)
    held_status = UnicodeAttribute(null=True)
    # For the admin's search by name (models.accounts.name_attributes; migrate fills old items).
    name_shard = UnicodeAttribute(null=True)
    name_sort = UnicodeAttribute(null=True)
    by_name = AccountNameIndex()


class LoginFailureModel(Model):
    """A throttle's count in one time window, keyed by an HMAC (never the address itself): failed
    logins of one email, password-reset requests of one email or one client address."""

    class Meta(TableMeta):
        entity = "login_failures"

    bucket_id = UnicodeAttribute(hash_key=True)
    failures = IntegerAttribute(default=0)
    expires_at = TTLAttribute()
