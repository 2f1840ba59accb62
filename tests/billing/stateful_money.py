"""The money of the state machines (test_stateful_billing.py, test_stateful_lifecycle.py), written
from the contract ("Currencies, partial and over-payments") without the app's code:

- `settle`: what a confirmation of an amount in USD or PKR settles of an invoice, or the 422 it
  gets: the amount due, within the tolerance below it (the shortfall written off on approval), a
  part, an overpayment, just outside the tolerance without a flag, a currency the method or the
  invoice does not take;
- `Way` (drawn from `WAYS`): how a machine's payer pays what is due;
- `Books`: the money the machines expect, kept from what they did: every invoice's paid, written
  off, taken from the balance and due, and its quote as issued (at the rate the admin had set),
  every payment's settlement, every account's balance; `Books.learn` takes what the app did on its
  own from the store (invoices issued, with the balance applied to renewals, and voided);
- the checks after every step: `Books.problems` (the store against the books), `balance_problems`
  (a balance is the sum of its money-ledger entries, never negative) and `money_problems` (every
  money figure of a response is a string with two decimals, and there is no float).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import hypothesis.strategies as st

from tests.billing.lifecycle_expect import money

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


KINDS = ("exact", "floor", "within", "below_floor", "above", "partial", "tiny_part", "almost",
         "over", "tiny_over", "partial_full", "both")
# Mostly what is accepted, in USD or PKR; sometimes a currency no method or quote takes
WAYS = st.builds(Way, kind=st.sampled_from(KINDS),
                 currency=st.sampled_from((None, USD, "PKR", "PKR", "PKR", "INR")),
                 size=st.integers(1, 150))

# What the workflows pay, in turn: each accepted way, in USD and at the quote in PKR
IN_TURN = (Way("exact", None), Way("partial", "PKR", 40), Way("within", "PKR"),
           Way("over", None, 12), Way("exact", "PKR"), Way("partial", USD, 30), Way("floor", USD),
           Way("over", "PKR", 3))


@dataclass
class InvoiceMoney:
    """An invoice's money as the books expect it (USD minor units)."""

    account_id: str
    kind: str
    amount: int
    from_balance: int
    quotes: list[tuple[str, int, str]]  # (currency, amount, rate) as issued
    paid: int = 0
    written_off: int = 0
    void: bool = False
    trail: list[str] = field(default_factory=lambda: ["pending"])  # statuses, as audited

    @property
    def due(self) -> int:
        return self.amount - self.from_balance - self.paid - self.written_off

    @property
    def status(self) -> str:
        if self.void:
            return "void"
        return "paid" if self.due == 0 else "partially_paid" if self.paid else "pending"

    def quote_rate(self) -> str | None:
        return next((rate for currency, _, rate in self.quotes if currency == "PKR"), None)


@dataclass
class Confirmed:
    invoice_id: str
    amount: int
    currency: str
    outcome: Outcome


class Books:
    """The money the machines expect (see the module's docstring)."""

    def __init__(self) -> None:
        self.rate: str | None = None  # PKR per USD as the admin last set it (None: never)
        self.invoices: dict[str, InvoiceMoney] = {}
        self.balances: dict[str, int] = {}
        self.payments: dict[str, Confirmed] = {}
        self.decided: dict[str, str] = {}  # payment → succeeded | failed
        self.sent: dict[tuple[str, str], int] = {}  # (account, currency) → what its payers sent

    # What the machines do ------------------------------------------------------------------

    def pay(self, invoice_id: str, way: Way, method: str) -> tuple[dict[str, Any], Outcome]:
        """The body fields of paying `invoice_id` the `way` with `method` (amount, currency,
        flags), and what the contract says that settles."""
        invoice = self.invoices[invoice_id]
        rate = invoice.quote_rate()
        in_pkr = way.currency == "PKR" and rate is not None
        local_due = half_up(invoice.due * Fraction(rate)) if in_pkr else invoice.due
        body = {"amount": money(max(way.amount(local_due), 0)), "payment_method": method,
                **way.flags(), **({"currency": way.currency} if way.currency else {})}
        return body, self.judge(invoice_id, body)

    def judge(self, invoice_id: str, body: dict[str, Any]) -> Outcome:
        """What confirming `body` for the invoice settles now (its method must be offered)."""
        invoice = self.invoices[invoice_id]
        return settle(invoice.due, invoice.quote_rate(), body["payment_method"],
                      body.get("currency"), int(body["amount"].replace(".", "")),
                      bool(body.get("partial")), bool(body.get("overpayment")))

    def confirmed(self, payment_id: str, invoice_id: str, body: dict[str, Any],
                  outcome: Outcome) -> None:
        amount = int(body["amount"].replace(".", ""))
        self.payments[payment_id] = Confirmed(invoice_id, amount, body.get("currency") or USD,
                                              outcome)

    def approved(self, payment_id: str) -> str:
        """The payment is approved; what it settled ("written off": full, short by a little)."""
        confirmed = self.payments[payment_id]
        invoice, outcome = self.invoices[confirmed.invoice_id], confirmed.outcome
        invoice.paid += outcome.applied
        invoice.written_off += outcome.written_off
        invoice.trail.append(invoice.status)
        self.balances[invoice.account_id] = self.balance(invoice.account_id) + outcome.excess
        key = (invoice.account_id, confirmed.currency)
        self.sent[key] = self.sent.get(key, 0) + confirmed.amount
        self.decided[payment_id] = "succeeded"
        return "written off" if outcome.written_off else outcome.settles

    def rejected(self, payment_id: str) -> None:
        self.decided[payment_id] = "failed"

    def rate_set(self, reply: dict[str, Any], rate: str, admin: str) -> None:
        """The admin set the PKR rate: the answer says so, with the rate it replaced."""
        assert (reply["currency"], reply["rate"], reply["base"]) == ("PKR", rate, USD), reply
        assert {k: reply["history"][0][k] for k in ("old_rate", "new_rate", "by")} == {
            "old_rate": self.rate, "new_rate": rate, "by": admin}, reply
        self.rate = rate

    def balance(self, account_id: str) -> int:
        return self.balances.get(account_id, 0)

    # What the app did on its own -------------------------------------------------------------

    def learn(self, snap: Any) -> None:
        """Take the invoices the app issued since the last look (their quotes at the current rate;
        a renewal takes the balance there was before it, all of it up to its amount) and the ones
        it voided (what was paid of them, from payments or the balance, back to the balance)."""
        new = sorted((i for i in snap.invoices if i.invoice_id not in self.invoices),
                     key=lambda i: (i.created_at, i.period or 0))
        refunds: dict[str, int] = {}
        for invoice in snap.invoices:
            known = self.invoices.get(invoice.invoice_id)
            if known is not None and invoice.status == "void" and not known.void:
                refunds[known.account_id] = refunds.get(known.account_id, 0) + self._void(known)
        given_back = dict(refunds)  # and by the new ones voided at once
        for invoice in new:
            if invoice.status == "void":
                given_back[invoice.account_id] = (given_back.get(invoice.account_id, 0)
                                                  + (invoice.balance_applied_minor or 0))
        used: dict[str, int] = {}
        for invoice in new:
            taken = invoice.balance_applied_minor or 0
            account, before = invoice.account_id, self.balance(invoice.account_id)
            if invoice.kind == "renewal":  # all the balance there was, up to its amount
                low = min(max(before - used.get(account, 0), 0), invoice.amount_minor)
                high = min(before + given_back.get(account, 0) - used.get(account, 0),
                           invoice.amount_minor)
                assert low <= taken <= high, (invoice.invoice_id, "took", taken, "of", before,
                                              "and refunds", refunds.get(account, 0))
            used[account] = used.get(account, 0) + taken
            known = self._issued(invoice, taken)
            if invoice.status == "void":
                refunds[account] = refunds.get(account, 0) + self._void(known)
        for account in {*refunds, *used}:
            self.balances[account] = (self.balance(account) + refunds.get(account, 0)
                                      - used.get(account, 0))

    def _void(self, known: InvoiceMoney) -> int:
        """The invoice is void: what was paid of it, to go back to the balance."""
        known.void = True
        known.trail.append("void")
        return known.paid + known.from_balance

    def _issued(self, invoice: Any, taken: int) -> InvoiceMoney:
        """An invoice first seen: its quote is what was due then at the rate of then, fixed."""
        due = invoice.amount_minor - taken
        expected = [("PKR", half_up(due * Fraction(self.rate)), self.rate)] if (
            due and self.rate) else []
        quotes = [(q.currency, q.amount_minor, q.rate) for q in invoice.quotes or []]
        assert quotes == expected, (invoice.invoice_id, quotes, expected)
        known = self.invoices[invoice.invoice_id] = InvoiceMoney(
            invoice.account_id, invoice.kind or "signup", invoice.amount_minor, taken, quotes)
        if not due:
            known.trail.append("paid")
        return known

    # Checks --------------------------------------------------------------------------------

    def problems(self, snap: Any) -> list[str]:
        """Where the store's money differs from the books'."""
        bad = []
        for invoice in snap.invoices:
            known = self.invoices.get(invoice.invoice_id)
            if known is None:
                continue
            stored = (invoice.status, invoice.amount_paid_minor, invoice.written_off_minor,
                      invoice.balance_applied_minor, invoice.amount_due_minor,
                      [(q.currency, q.amount_minor, q.rate) for q in invoice.quotes or []])
            wanted = (known.status, known.paid, known.written_off, known.from_balance, known.due,
                      known.quotes)
            if stored != wanted:
                bad.append(f"invoice {invoice.invoice_id}: {stored}, the books say {wanted}")
        for payment in snap.payments:
            known = self.payments.get(payment.payment_id)
            outcome = known.outcome if known else None
            stored = (payment.amount_minor, payment.currency, payment.settles,
                      payment.applied_minor, payment.written_off_minor, payment.excess_minor,
                      payment.rate)
            if outcome is None or stored != (known.amount, known.currency, outcome.settles,
                                             outcome.applied, outcome.written_off, outcome.excess,
                                             outcome.rate):
                bad.append(f"payment {payment.payment_id}: {stored}, the books say {known}")
        sent: dict[tuple[str, str], int] = {}
        for payment in snap.payments:
            if payment.status == "succeeded":
                key = (payment.account_id, payment.currency)
                sent[key] = sent.get(key, 0) + payment.amount_minor
        if sent != self.sent:
            bad.append(f"the payers sent {sent}, the books say {self.sent}")
        for account in snap.accounts:
            if (account.balance_minor or 0) != self.balance(account.account_id):
                bad.append(f"account {account.account_id}: balance {account.balance_minor}, the "
                           f"books say {self.balance(account.account_id)}")
        return bad

    def reply_agrees(self, invoice_view: dict[str, Any]) -> None:
        """An invoice as a response shows it: the books' money, and the quote's amount due."""
        known = self.invoices[invoice_view["id"]]
        shown = tuple(invoice_view[k] for k in ("status", "amount_paid", "written_off",
                                                "balance_applied", "amount_due"))
        wanted = (known.status, *map(money, (known.paid, known.written_off, known.from_balance,
                                             known.due)))
        quotes = [{"currency": c, "amount": money(a), "rate": r,
                   "amount_due": money(half_up(known.due * Fraction(r)))}
                  for c, a, r in known.quotes]
        assert (shown, invoice_view["quotes"]) == (wanted, quotes), (shown, wanted, quotes)


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
