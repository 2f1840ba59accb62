"""Exchange rates and the quotes they make: what a payer in a local currency sends, exactly.

An admin sets each currency's rate (units of it per 1 unit of the invoice currency, up to 6
decimals); every change is kept with who made it and the rate it replaced. An invoice is quoted at
issue in each currency of the methods offered in its country that has a rate, and the quote is
fixed on the invoice: a later rate change does not move what an issued invoice asks for. A quote
is the amount due times the rate, rounded half-up to the currency's minor unit (`money.convert`).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.catalog.reference_data import GLOBAL, PAYMENT_METHODS
from chalicelib.core.clock import new_id, public_time, stamp
from chalicelib.core.errors import Conflict, Invalid
from chalicelib.core.money import INVOICE_CURRENCY, MINOR_UNITS, RATE, convert, format_minor, parse_rate
from chalicelib.core.validation import Text, validate
from chalicelib.storage import store
from chalicelib.storage.models.billing import QuoteMap
from chalicelib.storage.models.records import FxRateModel
from chalicelib.storage.store import TransactionCancelled, Tx

CURRENT = "current"
BASE = INVOICE_CURRENCY
HISTORY_SHOWN = 20
SET_RATE = {"rate": Text(required=True, max_len=20, pattern=RATE,
                         pattern_message='must be a decimal string with at most 6 decimals, e.g. "280.50"',
                         schema={"pattern": "^" + RATE.pattern + "$"},
                         doc=f"Units of the currency per 1 {BASE}, e.g. \"280.50\" (at most 6 decimals).")}

_reading: ContextVar[dict[str, dict[str, FxRateModel]] | None] = ContextVar("fx_reading", default=None)


def currencies_of(country: str | None) -> list[str]:
    """The currencies of the methods offered in a country (its own and the global ones), in order."""
    found: list[str] = []
    for method in PAYMENT_METHODS:
        currency = method["details"].get("currency")
        if method["country"] in (GLOBAL, country) and currency and currency not in found:
            found.append(currency)
    return found


def quotable() -> list[str]:
    """Every currency a rate can be set for: a method's, other than the invoice currency."""
    return sorted({m["details"]["currency"] for m in PAYMENT_METHODS
                   if m["details"].get("currency") and m["details"]["currency"] != BASE})


def rates() -> dict[str, FxRateModel]:
    """The current rates by currency: one query (within `one_reading`, the first time only)."""
    held = _reading.get()
    if held is not None and "rates" in held:
        return held["rates"]
    with store.guard():
        current = {rate.currency: rate for rate in FxRateModel.query(CURRENT)}
    if held is not None:
        held["rates"] = current
    return current


@contextmanager
def one_reading() -> Iterator[None]:
    """Within the block, every invoice is quoted from one reading of the rates (a job run), made
    when the first is issued."""
    token = _reading.set({})
    try:
        yield
    finally:
        _reading.reset(token)


def quotes(amount_minor: int, currency: str, country: str | None,
           current: dict[str, FxRateModel] | None = None) -> list[QuoteMap]:
    """The quotes of an amount for a country, at today's rates."""
    current = rates() if current is None else current
    made = []
    for code in currencies_of(country):
        rate = current.get(code)
        if code == currency or rate is None or rate.base != currency:
            continue
        made.append(QuoteMap(currency=code, amount_minor=convert(amount_minor, Decimal(rate.rate)),
                             rate=rate.rate))
    return made


def local_due(due_minor: int, quote: QuoteMap) -> int:
    """What is still due in the quote's currency, at the quote's rate (its amount while nothing is
    paid: the same rounding of the same numbers)."""
    return convert(due_minor, Decimal(quote.rate))


def quote_view(quote: QuoteMap, due_minor: int) -> dict[str, str]:
    return {"currency": quote.currency, "amount": format_minor(quote.amount_minor), "rate": quote.rate,
            "amount_due": format_minor(local_due(due_minor, quote))}


def quote_in(invoice: Any, currency: str) -> QuoteMap | None:
    """The invoice's quote in a currency, or None."""
    return next((q for q in invoice.quotes or [] if q.currency == currency), None)


def _rate_view(rate: FxRateModel, history: list[FxRateModel]) -> dict[str, Any]:
    return {"currency": rate.currency, "rate": rate.rate, "base": rate.base,
            "updated_at": public_time(rate.updated_at), "updated_by": rate.updated_by,
            "history": [{"at": public_time(h.updated_at), "by": h.updated_by, "old_rate": h.old_rate,
                         "new_rate": h.rate} for h in history]}


def _history(currency: str) -> list[FxRateModel]:
    with store.guard():
        return list(FxRateModel.query(f"history#{currency}", scan_index_forward=False,
                                      limit=HISTORY_SHOWN))


def list_rates() -> dict[str, Any]:
    """Every rate with its recent changes, newest first; and the currencies one can be set for."""
    current = rates()
    return {"base": BASE, "currencies": quotable(),
            "items": [_rate_view(current[code], _history(code)) for code in sorted(current)]}


def set_rate(admin: Principal, currency: str, body: dict[str, Any]) -> dict[str, Any]:
    """Set a currency's rate (new invoices are quoted at it; issued ones keep theirs)."""
    text = validate(body, SET_RATE)["rate"]
    code = currency.upper()
    if code not in quotable():
        raise Invalid(f"{currency} is not a currency of any payment method (those are "
                      f"{', '.join(quotable())}).", code="currency_not_supported",
                      details={"currencies": quotable()})
    try:
        parse_rate(text)
    except ValueError as exc:
        raise Invalid(str(exc), code="validation_failed", details={"fields": {"rate": str(exc)}}) from None
    assert MINOR_UNITS.get(code) == 2, code  # one wire format for all (see money.MINOR_UNITS)
    old = store.get(FxRateModel, CURRENT, code, consistent=True)
    at = stamp()
    rate = FxRateModel(CURRENT, code, currency=code, rate=text, base=BASE, updated_at=at,
                       updated_by=admin.email, old_rate=old.rate if old else None)
    tx = Tx()
    tx.put("rate", rate, (FxRateModel.rate == old.rate) if old else FxRateModel.key.does_not_exist())
    tx.put("history", FxRateModel(f"history#{code}", f"{at}#{new_id('fx')}", currency=code, rate=text,
                                  base=BASE, updated_at=at, updated_by=admin.email,
                                  old_rate=old.rate if old else None))
    try:
        tx.commit()
    except TransactionCancelled as exc:
        raise Conflict("The rate was changed meanwhile; read it again.", code="state_conflict") from exc
    return _rate_view(rate, _history(code))


def seed_rates(values: dict[str, str], actor: str = "seed") -> list[str]:
    """Set the rates that have none yet (make dev's starting rates); the currencies set."""
    current = rates()
    done = []
    for code, text in values.items():
        if code in current:
            continue
        at = stamp()
        tx = Tx()
        tx.put("rate", FxRateModel(CURRENT, code, currency=code, rate=text, base=BASE, updated_at=at,
                                   updated_by=actor), FxRateModel.key.does_not_exist())
        tx.put("history", FxRateModel(f"history#{code}", f"{at}#{new_id('fx')}", currency=code,
                                      rate=text, base=BASE, updated_at=at, updated_by=actor))
        if store.commit_or_skip(tx, f"rate {code}"):
            done.append(code)
    return done
