"""The credit ledger: every grant or use of credits is an entry, written in the transaction that
changes the balance.
"""
from __future__ import annotations

from chalicelib.storage.models.records import CreditLedgerModel
from chalicelib.storage.store import Tx


def add_credit(tx: Tx, *, account_id: str, entry_id: str, amount: int, reason: str,
               reference: str | None, actor: str, at: str) -> None:
    """Put a ledger entry whose id names its cause, so the same grant cannot be written twice."""
    entry = CreditLedgerModel(account_id, entry_id, amount=amount, reason=reason,
                              reference=reference, actor=actor, created_at=at)
    tx.put(f"ledger:{entry_id}", entry, condition=CreditLedgerModel.entry_id.does_not_exist())
