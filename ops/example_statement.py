"""A bank statement to try the import with, made from what a store holds now (`make
example-statement`, after `make dev` and a signup or two): the way payers really write transfers.

For the open invoices, newest first: the payment reference in a sentence with the exact amount;
in lower case with spaces for hyphens and a bank fee deducted (within the tolerance); mistyped
(one character wrong); half the amount; and the rest exact. For each payment awaiting approval, a
line holding its bank reference and no payment reference. Then a bank charge (money out) and an
interest credit that matches nothing. Amounts are in the invoice's currency, or in the local one
of its first quote (what a local bank account receives) for every other invoice that has one.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from chalicelib.billing import fx, references
from chalicelib.storage import store
from chalicelib.storage.models.billing import OPEN_INVOICE, PAYABLE, InvoiceModel, PaymentModel, amount_due
from chalicelib.statements.views import amount_text

HEADER = ["Booking date", "Amount", "Currency", "Description", "Payer", "Bank reference"]


def _mistyped(reference: str) -> str:
    code = references.compact(reference).removeprefix(references.PREFIX)
    alphabet = references.ALPHABET
    return references.format_reference(code[:-1] + alphabet[(alphabet.index(code[-1]) + 1) % 29])


def _amount(invoice: InvoiceModel, local: bool) -> tuple[int, str]:
    owed = amount_due(invoice)
    if local and invoice.quotes:
        quote = invoice.quotes[0]
        return fx.local_due(owed, quote), quote.currency
    return owed, invoice.currency


def rows(today: date | None = None, limit: int = 8) -> list[list[str]]:
    """The statement's lines (see the module's docstring)."""
    day = (today or date.today()).isoformat()
    with store.guard():
        invoices = [invoice for shard in store.spreads(OPEN_INVOICE)
                    for invoice in InvoiceModel.open_by_due_date.query(shard)
                    if invoice.status in PAYABLE and invoice.payment_reference]
        pending = [payment for shard in store.spreads("pending_approval")
                   for payment in PaymentModel.approval_queue.query(shard)]
    invoices.sort(key=lambda invoice: invoice.created_at, reverse=True)
    waiting = {payment.invoice_id for payment in pending}
    out: list[list[str]] = []
    for n, invoice in enumerate(i for i in invoices[:limit] if i.invoice_id not in waiting):
        amount, currency = _amount(invoice, local=n % 2 == 1)
        name = (invoice.billing_snapshot.as_dict() if invoice.billing_snapshot else {}).get(
            "billing_name") or "A customer"
        reference = invoice.payment_reference
        text = {0: f"Payment for invoice {reference}, thank you",
                1: f"subscription {reference.lower().replace('-', ' ')}",
                2: f"Invoice {_mistyped(reference)}",
                3: f"part payment {reference}"}.get(n, f"{reference}")
        if n == 1:
            amount -= max(1, amount // 200)  # a 0.5% bank fee
        if n == 3:
            amount //= 2
        out.append([day, amount_text(amount, currency), currency, text, name, f"FT{day[2:4]}{n:06d}"])
    for payment in pending:
        out.append([day, amount_text(payment.amount_minor, payment.currency), payment.currency,
                    f"Incoming transfer {payment.manual_reference}", payment.payer_email or "",
                    f"FT{payment.payment_id[-8:]}".upper()])
    out.append([day, "-2.50", "USD", "Bank charges", "", "CHG0001"])
    out.append([day, "0.42", "USD", "Interest", "", "INT0001"])
    return out


def statement_csv(today: date | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows(today))
    return buffer.getvalue()
