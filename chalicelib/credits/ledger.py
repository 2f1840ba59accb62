"""The credit ledger and its two buckets: every grant or use of credits is an entry, written in the
transaction that changes the balance.

An account's `allowance` (the plan's credits for the current period, or a trial's) and `extra`
(carried-over trial credits, top-ups, grants; never expire) always add up to `credits`, and each
bucket is the sum of its ledger entries. Bucket changes are written as absolute values under a
condition on the values read, so a concurrent change makes the transaction fail rather than lose it.
"""
from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.records import CreditLedgerModel
from chalicelib.storage import store
from chalicelib.storage.store import Tx

ALLOWANCE, EXTRA = "allowance", "extra"


def add_credit(tx: Tx, *, account_id: str, entry_id: str, amount: int, reason: str,
               reference: str | None, actor: str, at: str, bucket: str = ALLOWANCE,
               balance_after: int | None = None, position: int = 0, **more: Any) -> CreditLedgerModel:
    """Put a ledger entry whose id names its cause, so the same grant cannot be written twice.
    `position` orders the entries one transaction writes (`ordered_at`)."""
    entry = CreditLedgerModel(account_id, entry_id, amount=amount, bucket=bucket, reason=reason,
                              reference=reference, actor=actor, created_at=at,
                              balance_after=balance_after, ordered_at=f"{at}#{position:02d}",
                              created_month=store.spread(at[:7], f"{account_id}#{entry_id}"), **more)
    tx.put(f"ledger:{entry_id}", entry, condition=CreditLedgerModel.entry_id.does_not_exist(),
           return_old=bool(more.get("fingerprint")))
    return entry


def buckets(account: AccountModel) -> tuple[int, int]:
    """(allowance, extra); an account written before the buckets holds all of it as allowance."""
    extra = account.extra or 0
    allowance = account.allowance if account.allowance is not None else account.credits - extra
    return allowance, extra


class Buckets:
    """The bucket changes of one transaction on one account: entries now, one update at the end."""

    def __init__(self, tx: Tx, account: AccountModel, *, actor: str, at: str) -> None:
        self.tx, self.account, self.actor, self.at = tx, account, actor, at
        self.read = buckets(account)
        self.allowance, self.extra = self.read
        self.entries = 0
        self.renewed = False  # the allowance was reset or expired: `allowance_since` moves

    def move(self, bucket: str, amount: int, *, entry_id: str, reason: str,
             reference: str | None = None) -> CreditLedgerModel | None:
        """Add `amount` (negative to take) to a bucket, with its ledger entry (returned); zero
        writes nothing."""
        if amount == 0:
            return None
        if bucket == ALLOWANCE:
            self.allowance += amount
        else:
            self.extra += amount
        entry = add_credit(self.tx, account_id=self.account.account_id, entry_id=entry_id,
                           amount=amount, reason=reason, reference=reference, actor=self.actor,
                           at=self.at, bucket=bucket, balance_after=self.allowance + self.extra,
                           position=self.entries)
        self.entries += 1
        return entry

    def expire_allowance(self, *, entry_id: str, reason: str, reference: str | None = None) -> int:
        """The whole allowance expires (a period or trial ends, or it is replaced); how much."""
        expired = self.allowance
        self.move(ALLOWANCE, -expired, entry_id=entry_id, reason=reason, reference=reference)
        self.renewed = True
        return expired

    @property
    def changed(self) -> bool:
        return (self.allowance, self.extra) != self.read

    def actions(self) -> list[Any]:
        """The account's update actions (absolute values), and the view's values set on the model."""
        self.account.allowance, self.account.extra = self.allowance, self.extra
        self.account.credits = self.allowance + self.extra
        actions = [AccountModel.allowance.set(self.allowance), AccountModel.extra.set(self.extra),
                   AccountModel.credits.set(self.allowance + self.extra)]
        if self.renewed:
            self.account.allowance_since = self.at
            actions.append(AccountModel.allowance_since.set(self.at))
        granted = self.account.allowance_granted or 0
        if self.renewed or self.allowance > max(self.read[0], granted):
            # A new allowance (or one raised above what it started at): credits.low measures from it
            self.account.allowance_granted = self.allowance
            actions.append(AccountModel.allowance_granted.set(self.allowance))
        return actions

    def condition(self) -> Condition:
        """The values read are still there (no use or grant happened meanwhile)."""
        return AccountModel.credits == sum(self.read)
