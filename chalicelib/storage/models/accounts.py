"""Tables of who can sign in: users, accounts, failed-login windows."""
from __future__ import annotations

from pynamodb.attributes import (
    TTLAttribute,
    UnicodeAttribute,
)
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


class LoginFailureModel(Model):
    """Failed logins of one email (keyed by its HMAC, never the address) in one time window."""

    class Meta(TableMeta):
        entity = "login_failures"

    bucket_id = UnicodeAttribute(hash_key=True)
    failures = IntegerAttribute(default=0)
    expires_at = TTLAttribute()
