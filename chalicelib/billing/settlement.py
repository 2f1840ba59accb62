"""What a confirmed payment settles: measured against the invoice's amount due, in the currency it
was sent in (the invoice's, or a local one at the rate fixed on the invoice).

- Within the method's tolerance below the amount due (bank or wallet fees) it is **full**: the
  shortfall is written off on approval.
- Less than that is a **partial** payment, only when the payer says so (`"partial": true`); more
  than the amount due is an **overpayment** only when they say so (`"overpayment": true`), its
  excess going to the account's balance. Otherwise 422 `amount_mismatch` names the range accepted.

Figures in the invoice's currency come from the local amount at the quote's rate, half-up to the
cent (`money.convert_back`); an exact local payment settles exactly the amount due, whatever the
rounding of the rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chalicelib.billing import fx
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Invalid
from chalicelib.core.money import convert_back, format_minor
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import InvoiceModel, amount_due
from chalicelib.storage.models.catalog import PaymentMethodModel

FULL, PARTIAL, OVERPAYMENT = "full", "partial", "overpayment"


@dataclass(frozen=True)
class Settlement:
    currency: str  # what the payer sent, in which the amounts below `amount` are measured
    amount: int
    due: int  # the amount due in that currency
    minimum: int  # the least that counts as full
    settles: str
    applied: int  # in the invoice's currency: what pays the invoice
    written_off: int
    excess: int
    due_in_invoice_currency: int
    rate: str | None


def tolerance(method: PaymentMethodModel) -> Decimal:
    return Decimal(method.tolerance_percent) if method.tolerance_percent else default_tolerance()


def default_tolerance() -> Decimal:
    """PAYMENT_TOLERANCE_PERCENT: what a method without its own tolerance allows below the due."""
    return get_settings().payment_tolerance_percent


def _minimum(due: int, percent: Decimal) -> int:
    """The least that counts as full: the amount due less the tolerance, half-up to the cent."""
    return int((Decimal(due) * (100 - percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _mismatch(message: str, s_due: int, minimum: int, currency: str, **more: Any) -> Invalid:
    return Invalid(message, code="amount_mismatch", details={
        "fields": {"amount": message}, "amount_due": format_minor(s_due), "min": format_minor(minimum),
        "max": format_minor(s_due), "currency": currency, **more})


def measure(invoice: InvoiceModel, method: PaymentMethodModel, amount: int, currency: str | None,
            partial: bool, overpayment: bool, infer: bool = False) -> Settlement:
    """What `amount` in `currency` settles of the invoice; 422 when it does not fit what was said.
    `infer`: the amount is what the bank booked, so it is partial or an overpayment by itself."""
    code = (currency or invoice.currency).upper()
    method_currency = plain(method.details).get("currency")
    accepted = [invoice.currency] + [c for c in (method_currency,) if c and c != invoice.currency]
    quote = fx.quote_in(invoice, code) if code != invoice.currency else None
    if code not in accepted or (code != invoice.currency and quote is None):
        usable = [c for c in accepted if c == invoice.currency or fx.quote_in(invoice, c)]
        raise Invalid(f"This invoice can be paid with {method.display_name} in "
                      f"{' or '.join(usable)}.", code="currency_not_accepted",
                      details={"fields": {"currency": f"must be {' or '.join(usable)}"},
                               "accepted": usable})
    owed = amount_due(invoice)
    due = fx.local_due(owed, quote) if quote else owed
    minimum = _minimum(due, tolerance(method))
    if infer:
        partial, overpayment = amount < minimum, amount > due
    if partial and overpayment:
        raise Invalid("A payment is partial or an overpayment, not both.", code="validation_failed",
                      details={"fields": {"partial": "not with overpayment"}})
    if amount <= 0:
        raise _mismatch("The amount must be more than 0.", due, minimum, code)
    rate = Decimal(quote.rate) if quote else None

    def in_invoice_currency(local: int) -> int:
        return convert_back(local, rate) if rate is not None else local

    if partial:
        if amount >= due:
            raise _mismatch(f"A partial payment is less than the amount due ({format_minor(due)} "
                            f"{code}).", due, minimum, code)
        applied = min(in_invoice_currency(amount), owed - 1)
        if applied <= 0:
            raise _mismatch("The amount is too small to pay any part of the invoice.", due, minimum, code)
        return Settlement(code, amount, due, minimum, PARTIAL, applied, 0, 0, owed, quote.rate if quote else None)
    if overpayment:
        excess = in_invoice_currency(amount) - owed
        if amount <= due or excess <= 0:
            raise _mismatch(f"An overpayment is more than the amount due ({format_minor(due)} "
                            f"{code}).", due, minimum, code)
        return Settlement(code, amount, due, minimum, OVERPAYMENT, owed, 0, excess, owed,
                          quote.rate if quote else None)
    if amount > due:
        raise _mismatch(f"The amount is more than the {format_minor(due)} {code} due; if you paid more, "
                        'say so with "overpayment": true.', due, minimum, code)
    if amount < minimum:
        raise _mismatch(f"The amount is less than the {format_minor(due)} {code} due (at least "
                        f"{format_minor(minimum)} {code} counts as full); if you paid part of it, "
                        'say so with "partial": true.', due, minimum, code)
    written_off = 0 if amount == due else max(owed - in_invoice_currency(amount), 0)
    return Settlement(code, amount, due, minimum, FULL, owed - written_off, written_off, 0, owed,
                      quote.rate if quote else None)
