"""The free trial's clock: TRIAL_DAYS from signup, an email TRIAL_ENDING_DAYS before the end, and
at the end an account still in `trial` becomes `expired` and its trial credits expire
(`trial_expired`). A trial account that subscribed keeps its trial until its invoice is approved
(then its credits carry over); if the trial ends first it waits as `pending_payment`.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from chalicelib.billing.lifecycle import SYSTEM, move_account
from chalicelib.core.clock import parse_stamp, stamp
from chalicelib.core.config import get_settings
from chalicelib.credits.ledger import Buckets
from chalicelib.notifications import lifecycle_messages as mail
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import SWEEP
from chalicelib.storage.store import Tx

log = logging.getLogger(__name__)


def start(account: AccountModel, at: str) -> None:
    """Set a new trial account's end and its place in the jobs' due index."""
    ends = parse_stamp(at) + timedelta(days=get_settings().trial_days)
    account.trial_ends_at = stamp(ends)
    account.sweep = store.spread(SWEEP, account.account_id)
    account.sweep_at = stamp(ends - timedelta(days=get_settings().trial_ending_days))


def stop_actions() -> list[Any]:
    """Take a trial out of the due index (it converted)."""
    return [AccountModel.sweep.remove(), AccountModel.sweep_at.remove()]


def advance(account: AccountModel, moment: datetime, mail_at: str) -> list[str]:
    """Take the trial's steps due by `moment` (the reminder, then the end)."""
    taken = []
    for _ in range(2):
        if not account.sweep_at or parse_stamp(account.sweep_at) > moment:
            break
        step = _step(account, moment, mail_at)
        if step is None:
            break
        taken.append(step)
        fresh = store.get(AccountModel, account.account_id)
        if fresh is None:
            break
        account = fresh
    return taken


def _step(account: AccountModel, moment: datetime, mail_at: str) -> str | None:
    at = stamp(moment)
    read = AccountModel.sweep_at == account.sweep_at
    tx = Tx()
    ends = parse_stamp(account.trial_ends_at) if account.trial_ends_at else None
    if account.status != "trial" or ends is None:
        tx.update("account", account, stop_actions(), condition=read)
        name = "untracked"
    elif moment < ends:
        days_left = max(0, (ends.date() - moment.date()).days)
        tx.update("account", account, [AccountModel.trial_reminded_at.set(at),
                                       AccountModel.sweep_at.set(account.trial_ends_at)],
                  condition=read & AccountModel.trial_reminded_at.does_not_exist())
        mail.queue_trial_ending(tx, account=account, days_left=days_left, at=mail_at)
        name = "trial_ending"
    else:
        credits = Buckets(tx, account, actor=SYSTEM, at=at)
        expired = credits.expire_allowance(entry_id="trial#expired", reason="trial_expired")
        # A trial that subscribed waits for its first invoice's approval; others expire.
        status = "pending_payment" if account.pending_invoice_id else "expired"
        move_account(tx, account, status, [*credits.actions(), *stop_actions()],
                     action="trial_ended", actor=SYSTEM, at=at, condition=read & credits.condition())
        mail.queue_trial_ended(tx, account=account, expired=expired, at=mail_at)
        name = "trial_ended"
    return name if store.commit_or_skip(tx, account.account_id) else None
