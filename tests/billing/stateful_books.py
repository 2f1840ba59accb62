"""The books of the state machines (test_stateful_billing.py, test_stateful_lifecycle.py): the
money they expect, kept from what they did and written from the contract without the app's code
(`stateful_money.settle`): every invoice's paid, written off, taken from the balance and due, and
its quote as issued (at the rate the admin had set), every payment's settlement, every account's
balance. `Books.learn` takes what the app did on its own from the store (invoices issued, the
balance applied to renewals, invoices voided); `Books.problems` says where the store differs.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tests.billing.stateful_money import USD, Outcome, Way, half_up, money, payment_agrees, settle


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
        self.sent: dict[tuple[str, str], int] = {}  # (account, currency) → what its payers sent
        self.seen: Counter = Counter()  # what the confirmations answered and the approvals did

    # What the machines do ------------------------------------------------------------------

    def pay(self, invoice_id: str, way: Way, method: str,
            reference: str) -> tuple[dict[str, Any], Outcome]:
        """The confirmation of paying `invoice_id` the `way` with `method` (amount, currency,
        flags, bank reference), and what the contract says that settles."""
        invoice = self.invoices[invoice_id]
        rate = invoice.quote_rate()
        in_pkr = way.currency == "PKR" and rate is not None
        local_due = half_up(invoice.due * Fraction(rate)) if in_pkr else invoice.due
        body = {"invoice_id": invoice_id, "payment_method": method,
                "amount": money(max(way.amount(local_due), 0)), **way.flags(),
                **({"currency": way.currency} if way.currency else {}),
                "manual_reference": reference}
        return body, self.judge(invoice_id, body)

    def judge(self, invoice_id: str, body: dict[str, Any]) -> Outcome:
        """What confirming `body` for the invoice settles now (its method must be offered)."""
        invoice = self.invoices[invoice_id]
        return settle(invoice.due, invoice.quote_rate(), body["payment_method"],
                      body.get("currency"), int(body["amount"].replace(".", "")),
                      bool(body.get("partial")), bool(body.get("overpayment")))

    def confirmed(self, view: dict[str, Any], body: dict[str, Any], outcome: Outcome) -> None:
        """`body` was confirmed: the payment `view` answered settles what the contract says."""
        payment_agrees(view, outcome)
        self.payments[view["id"]] = Confirmed(body["invoice_id"], int(body["amount"].replace(
            ".", "")), body.get("currency") or USD, outcome)

    def answered(self, reply: Any, body: dict[str, Any], outcome: Outcome) -> str | None:
        """The id of the payment a confirmation made (refused: None, with the 422 that `outcome`
        said)."""
        self.seen[outcome.seen(body)] += 1
        if reply.status == 201:
            self.confirmed(reply.body, body, outcome)
            return reply.body["id"]
        assert reply.status != 422 or reply.body["error"]["code"] == outcome.code, reply.body
        return None

    def approved(self, payment_id: str, invoice_view: dict[str, Any]) -> str:
        """The payment is approved, its invoice as answered (`invoice_view`) what the books then
        say; what it settled ("written off": full, short by a little)."""
        confirmed = self.payments[payment_id]
        invoice, outcome = self.invoices[confirmed.invoice_id], confirmed.outcome
        invoice.paid += outcome.applied
        invoice.written_off += outcome.written_off
        invoice.trail.append(invoice.status)
        self.balances[invoice.account_id] = self.balance(invoice.account_id) + outcome.excess
        key = (invoice.account_id, confirmed.currency)
        self.sent[key] = self.sent.get(key, 0) + confirmed.amount
        self.reply_agrees(invoice_view)
        settled = "written off" if outcome.written_off else outcome.settles
        self.seen[f"approved {settled}"] += 1
        return settled

    def rate_set(self, reply: Any, rate: str, admin: str) -> None:
        """The admin set the PKR rate (refused: nothing): the answer says so, with the rate it
        replaced."""
        if reply.status != 200:
            return
        body = reply.body
        assert (body["currency"], body["rate"], body["base"]) == ("PKR", rate, USD), body
        assert {k: body["history"][0][k] for k in ("old_rate", "new_rate", "by")} == {
            "old_rate": self.rate, "new_rate": rate, "by": admin}, body
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
        shown = tuple(invoice_view[k] for k in ("status", "amount", "amount_paid", "written_off",
                                                "balance_applied", "amount_due"))
        wanted = (known.status, *map(money, (known.amount, known.paid, known.written_off,
                                             known.from_balance, known.due)))
        quotes = [{"currency": c, "amount": money(a), "rate": r,
                   "amount_due": money(half_up(known.due * Fraction(r)))}
                  for c, a, r in known.quotes]
        assert (shown, invoice_view["quotes"]) == (wanted, quotes), (shown, wanted, quotes)

    def balance_shown(self, account_id: str, view: dict[str, Any], ix: Any = None) -> None:
        """An account as a response shows it: the books' balance (a post-condition: once the
        books have learnt the step's voids)."""
        assert view["balance"] == money(self.balance(account_id)), view
