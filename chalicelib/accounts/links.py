"""One-time links: a password reset (1 hour) or an email verification (48 hours).

A link's token is `<link id>.<secret>`: the link id names the one live link of its purpose and
subject (a keyed hash of both), the secret is random (`secrets.token_urlsafe(32)`), and only an
HMAC of the whole token is stored. A new link of the same purpose and subject overwrites the item,
so the earlier one stops working. The token is made when the email is sent (delivery), never kept
in the outbox; a link works once (a conditional update sets `used_at`).
"""
from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from chalicelib.core.clock import now, parse_stamp, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import BadRequest
from chalicelib.core.secrets import LINK_TOKEN_LABEL, keyed_hash, token_hash
from chalicelib.storage import store
from chalicelib.storage.models.sessions import LinkTokenModel
from chalicelib.storage.store import Tx

RESET, VERIFY = "reset", "verify"
_MESSAGES = {RESET: "This password reset link is not valid or has expired; ask for a new one.",
             VERIFY: "This verification link is not valid or has expired; ask for a new one."}
_CODES = {RESET: "invalid_reset_token", VERIFY: "invalid_verification_token"}


def link_id(purpose: str, subject: str) -> str:
    """The id of the one live link of a purpose for a subject (an email address)."""
    return f"{purpose}_{keyed_hash(f'link:{purpose}:{subject}'.encode())[:32]}"


def lifetime(purpose: str) -> int:
    settings = get_settings()
    return settings.reset_ttl_seconds if purpose == RESET else settings.verify_ttl_seconds


def mint(purpose: str, subject: str) -> str:
    """A new link's token for the subject, replacing the earlier one (one PutItem)."""
    identifier = link_id(purpose, subject)
    token = f"{identifier}.{secrets.token_urlsafe(32)}"
    at = now()
    item = LinkTokenModel(identifier, purpose=purpose, subject=subject,
                          token_hash=token_hash(LINK_TOKEN_LABEL, token), created_at=stamp(at),
                          expires_at=at + timedelta(seconds=lifetime(purpose)))
    with store.guard():
        item.save()
    return token


def invalid(purpose: str) -> BadRequest:
    return BadRequest(_MESSAGES[purpose], code=_CODES[purpose])


def read(purpose: str, token: str) -> tuple[LinkTokenModel, str]:
    """The live link of a token and its hash; 400 for anything unknown, replaced, used or expired."""
    identifier, dot, _ = token.partition(".")
    if not dot or not identifier.startswith(f"{purpose}_") or len(token) > 200:
        raise invalid(purpose)
    item = store.get(LinkTokenModel, identifier, consistent=True)
    hashed = token_hash(LINK_TOKEN_LABEL, token)
    if (item is None or item.purpose != purpose or not hmac.compare_digest(item.token_hash, hashed)
            or item.used_at or item.expires_at <= now()
            or parse_stamp(item.created_at) + timedelta(seconds=lifetime(purpose)) <= now()):
        raise invalid(purpose)
    return item, hashed


def use(tx: Tx, item: LinkTokenModel, hashed: str, at: str) -> None:
    """Mark the link used in `tx`, on the condition that it is still this unused link."""
    tx.update("link", item, [LinkTokenModel.used_at.set(at)],
              condition=LinkTokenModel.used_at.does_not_exist()
              & (LinkTokenModel.token_hash == hashed))

