"""The account's money balance: what the customer has with us, in the invoice currency.

Money goes in from an overpayment's excess (on approval) and from the paid part of an invoice that
is voided; it goes out when it is applied to a new invoice at issue (an invoice it covers in full
is paid at once, with no admin). Every change is an entry of the money ledger written in the same
transaction as the balance, so the balance is always the sum of its entries (`make verify`).

A transaction writes an account's balance once (an update may not name a path twice): a second
credit in it (an approval that voids an invoice paid in part and also has an excess) adds to the
first one's amount, and an invoice issued in it takes nothing. A credit also flags the
subscription (`balance_pending`), so that issuing a renewal reads the account only when there may
be money to apply; the renewal that uses the last of it clears the flag on the condition that the
balance is still what it read. A new subscription of an account with a balance starts flagged.
"""
from __future__ import annotations

from typing import Any

from pynamodb.expressions.update import AddAction

from chalicelib.core.money import format_minor
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, SubscriptionModel
from chalicelib.storage.models.records import MoneyLedgerModel
from chalicelib.storage import store
from chalicelib.storage.store import Tx

OVERPAYMENT, VOIDED, APPLIED = "overpayment", "invoice_voided", "applied_to_invoice"
REVERSED = "payment_reversed"


def _made(tx: Tx, label: str, model: type, key: str) -> Any:
    """The update `label` of the item `key` of `model` that `tx` already makes, or None."""
    return next((update for update in tx._updates.values() if isinstance(update.item, model)
                 and label in update.labels and getattr(update.item, model._hash_keyname) == key),
                None)


def touched(tx: Tx, account_id: str) -> bool:
    """Whether `tx` already changes this account's balance (then no invoice issued in it takes
    from it: a voided invoice's refund and the next invoice's issue in one transaction leave the
    money in the balance, flagged, for the invoice after)."""
    return _made(tx, "account:balance", AccountModel, account_id) is not None


def _action(tx: Tx, account_id: str) -> tuple[Any, Any]:
    """The update of this account's balance that `tx` already makes and its action on the
    balance (an ADD of credits, a SET of what an issued invoice left), or (None, None)."""
    update = _made(tx, "account:balance", AccountModel, account_id)
    if update is None:
        return None, None
    return update, next(a for a in update.actions if a.values[0].path == ["balance_minor"])


def added(tx: Tx, account_id: str) -> int:
    """What `tx` credits to this account's balance (0 if nothing)."""
    _, action = _action(tx, account_id)
    return int(action.values[1].value["N"]) if isinstance(action, AddAction) else 0


def of(account: AccountModel | None) -> int:
    return (account.balance_minor or 0) if account is not None else 0


def _entry(tx: Tx, account_id: str, entry_id: str, amount: int, currency: str, reason: str,
           reference: str, actor: str, at: str) -> None:
    tx.put(f"money:{entry_id}", MoneyLedgerModel(
        account_id, entry_id, amount_minor=amount, currency=currency, reason=reason,
        reference=reference, actor=actor, created_at=at,
        created_month=store.spread(at[:7], f"{account_id}#{entry_id}")),
        MoneyLedgerModel.entry_id.does_not_exist())


def credit(tx: Tx, *, account_id: str, subscription_id: str | None, amount: int, currency: str,
           entry_id: str, reason: str, reference: str, actor: str, at: str) -> None:
    """Put money into the balance (nothing for zero)."""
    if amount <= 0:
        return
    _entry(tx, account_id, entry_id, amount, currency, reason, reference, actor, at)
    earlier, action = _action(tx, account_id)
    if earlier is None:
        tx.update("account:balance", AccountModel(account_id),
                  [AccountModel.balance_minor.add(amount)], condition=AccountModel.account_id.exists())
    else:  # one action on the balance: the earlier one's amount and this one
        total = int(action.values[1].value["N"]) + amount
        attribute = AccountModel.balance_minor
        earlier.actions[earlier.actions.index(action)] = (
            attribute.add(total) if isinstance(action, AddAction) else attribute.set(total))
    if subscription_id and not _made(tx, "subscription:balance", SubscriptionModel, subscription_id):
        tx.update("subscription:balance", SubscriptionModel(subscription_id),
                  [SubscriptionModel.balance_pending.set(True)],
                  condition=SubscriptionModel.subscription_id.exists())


def apply_to(tx: Tx, invoice: InvoiceModel, available: int, *, actor: str, at: str) -> int:
    """Apply up to `available` of the balance (as read) to a new invoice, setting its money fields
    (and paying it when covered in full); how much was applied. The account's balance must still
    be what was read."""
    invoice.amount_due_minor = invoice.amount_minor
    invoice.amount_paid_minor, invoice.written_off_minor = 0, 0
    applied = min(max(available, 0), invoice.amount_minor)
    if touched(tx, invoice.account_id):
        applied = 0
    invoice.balance_applied_minor = applied
    if applied == 0:
        return 0
    invoice.amount_due_minor = invoice.amount_minor - applied
    tx.update("account:balance", AccountModel(invoice.account_id),
              [AccountModel.balance_minor.set(available - applied)],
              condition=AccountModel.balance_minor == available)
    _entry(tx, invoice.account_id, f"applied#{invoice.invoice_id}", -applied, invoice.currency,
           APPLIED, invoice.invoice_id, actor, at)
    if invoice.amount_due_minor == 0:
        invoice.status, invoice.paid_at, invoice.open = "paid", at, None
    return applied


def take_back(tx: Tx, account: AccountModel, amount: int, *, currency: str, entry_id: str,
              reference: str, actor: str, at: str) -> int:
    """Take up to `amount` out of the balance as read (what is left of it: what was applied to
    later invoices stays applied); how much. The balance must still be what was read."""
    available = of(account)
    taken = min(max(amount, 0), available)
    if taken == 0:
        return 0
    tx.update("account:balance", AccountModel(account.account_id),
              [AccountModel.balance_minor.set(available - taken)],
              condition=AccountModel.balance_minor == available)
    _entry(tx, account.account_id, entry_id, -taken, currency, REVERSED, reference, actor, at)
    account.balance_minor = available - taken
    return taken


def refund_voided(tx: Tx, invoice: InvoiceModel, actor: str, at: str) -> None:
    """A voided invoice's paid part (payments and balance applied) goes back to the balance."""
    paid = (invoice.amount_paid_minor or 0) + (invoice.balance_applied_minor or 0)
    credit(tx, account_id=invoice.account_id, subscription_id=invoice.subscription_id, amount=paid,
           currency=invoice.currency, entry_id=f"voided#{invoice.invoice_id}", reason=VOIDED,
           reference=invoice.invoice_id, actor=actor, at=at)


def view(account: AccountModel) -> dict[str, Any]:
    return {"balance": format_minor(of(account))}
