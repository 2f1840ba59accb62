"""Email verification: the link of a signup (or of a billing contact, or sent again) verifies
its address, and what was held back for the address is sent then, once."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts import links
from chalicelib.accounts.auth import Principal
from chalicelib.accounts.throttle import Window
from chalicelib.core.clock import public_time, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, TooManyRequests, Unauthorized
from chalicelib.accounts.fields import VERIFY_EMAIL
from chalicelib.core.validation import validate
from chalicelib.notifications import holding, messages
from chalicelib.storage import outbox, store
from chalicelib.storage.models.accounts import AccountModel, UserModel
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.sessions import EmailAddressModel
from chalicelib.storage.store import TransactionCancelled, Tx

_ATTEMPTS = 3


def verify(body: dict[str, Any]) -> dict[str, Any]:
    """Verify the address of a verification link (used once) and release its held emails."""
    token = validate(body, VERIFY_EMAIL)["token"]
    link, hashed = links.read(links.VERIFY, token)
    address, key = link.subject, messages.address_key(link.subject)
    for attempt in range(_ATTEMPTS):
        record, user = store.transact_get((EmailAddressModel, key), (UserModel, address))
        at = stamp()
        held = sorted(record.held or []) if record is not None else []
        first, rest = held[:holding.RELEASE_CHUNK], held[holding.RELEASE_CHUNK:]
        tx = Tx()
        links.use(tx, link, hashed, at)
        verified_at = record.verified_at if record is not None and record.verified_at else at
        actions = [EmailAddressModel.verified_at.set(verified_at),
                   EmailAddressModel.address.set(address), EmailAddressModel.updated_at.set(at)]
        if first:
            actions.append(EmailAddressModel.held.delete(set(first)))
        holds = record.holds if record is not None else None
        # no hold since the read: what was read is everything to release
        tx.update("address", EmailAddressModel(key), actions,
                  condition=(EmailAddressModel.holds == holds) if holds
                  else EmailAddressModel.holds.does_not_exist())
        if user is not None and not user.email_verified_at:
            tx.update("user", user, [UserModel.email_verified_at.set(verified_at)],
                      condition=UserModel.email.exists())
        for message in holding.held_messages(first):
            outbox.release_in(tx, message, at)
        try:
            tx.commit()
        except TransactionCancelled as exc:
            if "link" in exc.failed:
                raise links.invalid(links.VERIFY) from exc
            if attempt + 1 < _ATTEMPTS:
                continue  # an email was held meanwhile: read again
            raise Conflict("The address changed meanwhile; retry shortly.",
                           code="transaction_conflict", retry_after=1) from exc
        holding.release_rest(key, rest, at)
        return {"email": address, "verified_at": public_time(verified_at),
                "released": len(held)}
    raise AssertionError("unreachable")


def resend(principal: Principal) -> dict[str, Any]:
    """Send a new verification link (replacing the earlier) to each of the caller's addresses not
    verified yet: their own and their account's billing contact. Throttled like reset requests."""
    user, account = store.transact_get((UserModel, principal.email),
                                       (AccountModel, principal.account_id))
    if user is None or user.user_id != principal.user_id:
        raise Unauthorized("The account of this token no longer exists.", code="invalid_token")
    settings = get_settings()
    window = Window(b"verify-resend:", user.email, settings.reset_max_per_email,
                    settings.reset_window_seconds)
    contact = plain(account.billing if account is not None else None).get("billing_email")
    keys = window.keys()
    if contact and contact.strip().lower() != user.email:
        keys.append((EmailAddressModel, messages.address_key(contact)))
    current, previous, *found = store.transact_get(*keys)
    wait = window.wait(current, previous)
    if wait:
        raise TooManyRequests("Too many verification emails asked for; try again later.",
                              code="too_many_requests", retry_after=wait)
    addresses = [] if user.email_verified_at else [user.email]
    if contact and contact.strip().lower() != user.email and not (found[0] and found[0].verified_at):
        addresses.append(contact.strip().lower())
    at = stamp()
    tx = Tx()
    tx.update("throttle", window.counter(), window.count_actions())
    for address in addresses:
        messages.queue_verification(tx, address=address, at=at)
    tx.commit()
    return {"addresses": addresses}

