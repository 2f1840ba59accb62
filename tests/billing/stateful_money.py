"""The money of the state machines (test_stateful_billing.py, test_stateful_lifecycle.py), written
from the contract ("Currencies, partial and over-payments") without the app's code:

- `settle`: what a confirmation of an amount in USD or PKR settles of an invoice, or the 422 it
  gets: the amount due, within the tolerance below it (the shortfall written off on approval), a
  part, an overpayment, just outside the tolerance without a flag, a currency the method or the
  invoice does not take;
- `Way` (drawn from `WAYS`, or taken `in_turn`): how a machine's payer pays what is due;
- the checks of what the app answers and stores: `payment_agrees` (a payment settles what
  `settle` says), `money_problems` (every money figure of a response is a string with two
  decimals, and there is no float) and `balance_problems` (a balance is the sum of its
  money-ledger entries, never negative).

What the machines expect of each invoice and balance over time is `stateful_books.Books`.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import hypothesis.strategies as st

FX_RATE = "/api/v1/billing/admin/fx-rates/PKR"  # where the admin sets the PKR rate
TOLERANCE = Fraction(1, 100)  # PAYMENT_TOLERANCE_PERCENT (1.0): below the amount due, still full
USD = "USD"
# The currency of each method offered in PK (the PK bank transfer's is PKR; wise is a global one)
METHOD_CURRENCY = {"bank_transfer": "PKR", "jazzcash": "PKR", "easypaisa": "PKR", "raast": "PKR",
                   "wise": USD}
# PKR per USD the admin sets: plain, awkward (six decimals that do not end), and one refused
RATES = ("280.50", "279.333333", "300", "281.666667", "277.777777", "0.0000001")
RATE_SHAPE = re.compile(r"(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?")
MONEY = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{2}")
MONEY_KEYS = {"amount", "amount_due", "amount_paid", "written_off", "balance_applied", "applied",
              "excess", "balance", "min", "max", "price"}
PARTIAL_KINDS = {"partial", "tiny_part", "almost", "partial_full", "both"}
OVER_KINDS = {"over", "tiny_over", "both"}


def money(minor: int) -> str:
    """8900 → "89.00"."""
    return f"{minor // 100}.{minor % 100:02d}"


def half_up(value: Fraction) -> int:
    """To the nearest minor unit, halves up (amounts are never negative)."""
    return int(value + Fraction(1, 2))


def rate_ok(rate: str) -> bool:
    return bool(RATE_SHAPE.fullmatch(rate)) and Fraction(rate) > 0


@dataclass(frozen=True)
class Outcome:
    """A confirmation's answer: `code` of its 422, or None (201) with what it settles, in the
    invoice's currency."""

    code: str | None
    settles: str = "full"
    applied: int = 0
    written_off: int = 0
    excess: int = 0
    rate: str | None = None

    def seen(self, body: dict[str, Any]) -> str:
        """What a run counts of it: "PKR partial", "USD amount_mismatch", ..."""
        return f"{body.get('currency') or USD} {self.code or self.settles}"


def settle(due: int, quote_rate: str | None, method: str, currency: str | None, amount: int,
           partial: bool, over: bool) -> Outcome:
    """What `amount` (minor units of `currency`; None: the invoice's) settles of `due` USD, paid
    with `method` on an invoice quoted at `quote_rate` PKR per USD (None: no quote)."""
    code = currency or USD
    if code not in {USD, METHOD_CURRENCY.get(method)} or (code != USD and quote_rate is None):
        return Outcome("currency_not_accepted")
    if partial and over:
        return Outcome("validation_failed")
    rate = Fraction(quote_rate) if code != USD else Fraction(1)
    local_due = half_up(due * rate)  # what the quote says is due, in `code`
    back = half_up(Fraction(amount) / rate)  # the amount in USD
    shown = quote_rate if code != USD else None
    if partial:  # more than nothing, less than the amount due; the rest stays due
        applied = min(back, due - 1)
        if not 0 < amount < local_due or applied <= 0:
            return Outcome("amount_mismatch")
        return Outcome(None, "partial", applied, rate=shown)
    if over:  # more than the amount due: the excess to the balance
        if amount <= local_due or back <= due:
            return Outcome("amount_mismatch")
        return Outcome(None, "overpayment", due, excess=back - due, rate=shown)
    if not half_up(local_due * (1 - TOLERANCE)) <= amount <= local_due:
        return Outcome("amount_mismatch")
    written_off = 0 if amount == local_due else max(due - back, 0)
    return Outcome(None, "full", due - written_off, written_off, rate=shown)


@dataclass(frozen=True)
class Way:
    """How a payer pays an invoice: `kind` of amount against what is due in `currency` (None:
    the invoice's, by default), `size` percent of it for a part or an excess."""

    kind: str
    currency: str | None
    size: int = 50

    def amount(self, local_due: int) -> int:
        floor = half_up(local_due * (1 - TOLERANCE))
        return {"exact": local_due, "floor": floor, "within": (floor + local_due) // 2,
                "below_floor": floor - 1, "above": local_due + 1, "tiny_part": 1,
                "partial": max(local_due * self.size // 100, 1), "almost": local_due - 1,
                "over": local_due + max(local_due * self.size // 100, 1),
                "tiny_over": local_due + 1}.get(self.kind, local_due)

    def flags(self) -> dict[str, bool]:
        return {**({"partial": True} if self.kind in PARTIAL_KINDS else {}),
                **({"overpayment": True} if self.kind in OVER_KINDS else {})}


EXACT = Way("exact", None)
KINDS = ("exact", "floor", "within", "below_floor", "above", "partial", "tiny_part", "almost",
         "over", "tiny_over", "partial_full", "both")
# Mostly what is accepted, in USD or PKR; sometimes a currency no method or quote takes
WAYS = st.builds(Way, kind=st.sampled_from(KINDS),
                 currency=st.sampled_from((None, USD, "PKR", "PKR", "PKR", "INR")),
                 size=st.integers(1, 150))

# What the workflows pay, in turn: each accepted way, in USD and at the quote in PKR (the second
# more than pays the next renewal), and two just outside the tolerance, refused
IN_TURN = (EXACT, Way("over", None, 120), Way("partial", "PKR", 40), Way("below_floor", "PKR"),
           Way("within", "PKR"), Way("exact", "PKR"), Way("partial", USD, 30), Way("floor", USD),
           Way("above", USD), Way("over", "PKR", 3))
PAY_IT_ALL = {"exact", "floor", "within", "over"}
# The PKR rate an example starts with (mostly one: without, no invoice has a quote)
FIRST_RATES = st.sampled_from((*RATES[:3], None))
FIRST_TURNS = st.integers(0, len(IN_TURN) - 1)  # where in IN_TURN an example starts


def in_turn(first: int, all_of_it: bool = False) -> Iterator[Way]:
    """IN_TURN from its `first`, again and again (or only the ways that pay `all_of_it`)."""
    ways = [way for way in IN_TURN if not all_of_it or way.kind in PAY_IT_ALL]
    return itertools.islice(itertools.cycle(ways), first % len(ways), None)


def from_the_balance(snap: Any) -> list[str]:
    """The renewals the balance paid ("paid by"), or paid a part of ("part from")."""
    return [f"renewal {'paid by' if i.amount_due_minor == 0 else 'part from'} the balance"
            for i in snap.invoices if i.kind == "renewal" and i.balance_applied_minor]


def payment_agrees(view: dict[str, Any], outcome: Outcome) -> None:
    """A confirmed payment as a response shows it: what it settles, in the invoice's currency."""
    shown = tuple(view[k] for k in ("settles", "applied", "written_off", "excess", "rate"))
    assert shown == (outcome.settles, money(outcome.applied), money(outcome.written_off),
                     money(outcome.excess), outcome.rate), (shown, outcome)
    assert view["invoice_currency"] == USD, view


BALANCE_RULE = "an account's balance is the sum of its money-ledger entries, never negative"


def balance_problems(snap: Any) -> list[str]:
    """Accounts whose balance is not the sum of their money-ledger entries, or is negative."""
    sums: dict[str, int] = {}
    for entry in snap.money:
        sums[entry.account_id] = sums.get(entry.account_id, 0) + entry.amount_minor
    return [f"{a.account_id}: balance {a.balance_minor}, ledger {sums.get(a.account_id, 0)}"
            for a in snap.accounts
            if (a.balance_minor or 0) != sums.get(a.account_id, 0) or (a.balance_minor or 0) < 0]


def money_problems(value: Any, path: str = "$", key: str = "") -> list[str]:
    """Floats anywhere, and money figures that are not strings with two decimals (validation
    messages under `fields` are text)."""
    if isinstance(value, float):
        return [f"float at {path}"]
    if key in MONEY_KEYS and not (isinstance(value, str) and MONEY.fullmatch(value)):
        return [f"{path} is {value!r}"]
    if isinstance(value, dict):
        return [bad for k, v in value.items() if k != "fields"
                for bad in money_problems(v, f"{path}.{k}", k)]
    if isinstance(value, list):
        return [bad for i, v in enumerate(value) for bad in money_problems(v, f"{path}[{i}]")]
    return []
