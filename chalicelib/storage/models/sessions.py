"""Tables of sessions and account recovery: refresh tokens and their families, the one-time links
(password reset, email verification), and each email address's verification with the emails held
for it."""
from __future__ import annotations

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta

TOKEN, FAMILY = "token", "family"  # the two kinds of session items


class SessionModel(Model):
    """A refresh token (`token#<hash>`: only an HMAC of it is stored) or the family of tokens that
    one login started (`family#<id>`), which every refresh of the family checks is not revoked.

    A token is used once: its refresh marks it `used_at` and puts its successor, in one
    transaction conditional on it being unused and on its family not being revoked; a token
    presented again revokes the family. DynamoDB's TTL removes items after `expires_at`.
    """

    class Meta(TableMeta):
        entity = "sessions"

    session_key = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    family_id = UnicodeAttribute()
    user_email = UnicodeAttribute()  # the user's key
    user_id = UnicodeAttribute()
    started_at = UnicodeAttribute()  # when the family's login was
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute()
    used_at = UnicodeAttribute(null=True)  # a token: when it was rotated
    last_refreshed_at = UnicodeAttribute(null=True)  # a family
    revoked_at = UnicodeAttribute(null=True)  # a family: logged out, or a token reused
    revoked_reason = UnicodeAttribute(null=True)


class LinkTokenModel(Model):
    """The one live link of a purpose for one subject: `reset` (a user's email) or `verify` (an
    address). The link's token is `<link_id>.<secret>`; only an HMAC of it is stored, and a new
    link of the same purpose and subject replaces the item (so the earlier link stops working).
    Used once (a conditional update sets `used_at`); DynamoDB's TTL removes it after `expires_at`."""

    class Meta(TableMeta):
        entity = "link_tokens"

    link_id = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()
    subject = UnicodeAttribute()  # the email address the link was sent to
    token_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute()
    used_at = UnicodeAttribute(null=True)


class EmailAddressModel(Model):
    """An email address (keyed by an HMAC of it): verified or not, and the emails held for it.

    Until `verified_at` is set, delivery holds every email to it but the verification and reset
    emails: it adds the message to `held` (and counts `holds`) in a transaction conditional on
    the address not being verified; verifying releases them once.
    """

    class Meta(TableMeta):
        entity = "email_addresses"

    address_key = UnicodeAttribute(hash_key=True)
    address = UnicodeAttribute(null=True)
    verified_at = UnicodeAttribute(null=True)
    held = UnicodeSetAttribute(null=True)
    holds = IntegerAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
