"""Emails to addresses not yet verified are held, then sent once the address is verified.

Delivery asks `must_hold` before claiming a message: every email but the verification and reset
emails (and the admins' own, ADMIN_NOTIFY_EMAIL) needs its recipient verified. If it is not, `hold`
moves the message out of the due index and adds it to the address's `held` set, in ONE transaction
conditional on the address still not being verified; so a verification that lands meanwhile makes
the hold fail and the message is sent at once. Verifying (accounts.verification) sets `verified_at`
on the condition that no hold arrived since it read the address, and releases what it read in the
same transaction: each held message once, as a new pending message.
"""
from __future__ import annotations

import logging
from datetime import datetime

from chalicelib.core.clock import stamp
from chalicelib.core.config import get_settings
from chalicelib.notifications.messages import NEVER_HELD, address_key
from chalicelib.storage import outbox, store
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.sessions import EmailAddressModel
from chalicelib.storage.store import TransactionCancelled, Tx

log = logging.getLogger(__name__)
RELEASE_CHUNK = 40  # held messages released per transaction (2 items each, of 100)


def is_verified(address: str) -> bool:
    record = store.get(EmailAddressModel, address_key(address), consistent=True)
    return bool(record is not None and record.verified_at)


def must_hold(message: OutboxModel) -> bool:
    """Whether the message waits for its recipient's verification (one read when it may)."""
    if message.template in NEVER_HELD:
        return False
    if message.recipient.strip().lower() == get_settings().admin_notify_email.strip().lower():
        return False
    return not is_verified(message.recipient)


def hold(message: OutboxModel, now: datetime) -> str:
    """Hold a message for its unverified recipient: 'held', 'verified' (it was verified meanwhile:
    send it), or 'lost' (another worker changed the message first)."""
    at = stamp(now)
    tx = Tx()
    outbox.hold_in(tx, message, now)
    tx.update("address", EmailAddressModel(address_key(message.recipient)), [
        EmailAddressModel.held.add({message.message_id}), EmailAddressModel.holds.add(1),
        EmailAddressModel.address.set(message.recipient.strip().lower()),
        EmailAddressModel.updated_at.set(at)],
        condition=EmailAddressModel.verified_at.does_not_exist())
    try:
        tx.commit()
    except TransactionCancelled as exc:
        return "verified" if "address" in exc.failed and "message" not in exc.failed else "lost"
    log.info("email %s held until its recipient's address is verified", message.message_id)
    return "held"


def held_messages(message_ids: list[str]) -> list[OutboxModel]:
    """The held messages among these ids (read in one round trip per 100)."""
    found: list[OutboxModel] = []
    for start in range(0, len(message_ids), 100):
        keys = [(OutboxModel, message_id) for message_id in message_ids[start:start + 100]]
        found += [m for m in store.transact_get(*keys) if m is not None and m.status == outbox.HELD]
    return found


def release_rest(key: str, message_ids: list[str], at: str) -> int:
    """Release held messages of a verified address beyond the verifying transaction's share,
    RELEASE_CHUNK a transaction; how many were released."""
    released = 0
    for start in range(0, len(message_ids), RELEASE_CHUNK):
        chunk = message_ids[start:start + RELEASE_CHUNK]
        tx = Tx()
        tx.update("address", EmailAddressModel(key), [EmailAddressModel.held.delete(set(chunk))],
                  condition=EmailAddressModel.verified_at.exists())
        messages = held_messages(chunk)
        for message in messages:
            outbox.release_in(tx, message, at)
        if store.commit_or_skip(tx, key):
            released += len(messages)
    return released
