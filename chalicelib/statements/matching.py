"""How a statement line is matched to an invoice, with the evidence per criterion.

In this order, the first that applies decides:

1. Money out (a debit) is `ignored`.
2. A valid payment reference anywhere in the line (its reference, text and bank reference, read
   with spaces, hyphens, dots and line breaks removed and case ignored, so `pr 7k4q-x9mp` and a
   reference wrapped over two lines count) that an invoice has → `matched` to that invoice and its
   pending confirmation. The check character makes this certain: a fragment or a neighbour of a
   reference is never taken for it. Two such references in one line → `suggested` (the admin
   decides which invoice the money is for).
3. A pending confirmation's bank reference (as the payer typed it, at least 6 characters once
   compacted) found in the line → `matched` to that confirmation.
4. A reference whose check character is wrong (a typo) → `suggested` with the invoice it most
   likely meant: of the references one wrong character or one swap of neighbours away, the open
   invoices' ones, the best amount first. Never `matched`.
5. An amount within the method's tolerance of an open invoice's amount due, in its currency or at
   its quote's rate in a local one, booked within 14 days of the invoice's issue or due date or of
   its confirmation → `suggested` (the best candidate; the others are listed).
6. Otherwise `unmatched`.

Evidence is given per criterion: `payment_reference`: exact | partial (a typo of it) | none;
`bank_reference`: exact | none; `amount`: exact | within_tolerance | partial | over | none;
`payer` (the line's counterparty against the billing and account names): exact | partial | none.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chalicelib.billing import fx, references
from chalicelib.statements.model import Line
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import PAYABLE, InvoiceModel, PaymentModel, amount_due

MATCHED, SUGGESTED, UNMATCHED, IGNORED, APPLIED = (
    "matched", "suggested", "unmatched", "ignored", "applied")
STATUSES = (MATCHED, SUGGESTED, UNMATCHED, IGNORED, APPLIED)
EXACT, WITHIN, PARTIAL, OVER, NONE = "exact", "within_tolerance", "partial", "over", "none"
WINDOW = timedelta(days=14)
MIN_BANK_REFERENCE = 6  # shorter bank references ("123") would be found in any text

_SEP = r"[\s\-_.]*"
_ALNUM = "0-9A-Z"
# "PR" then eight letters or digits, separators allowed anywhere (a reference wrapped mid-way)
_PREFIXED = re.compile(rf"(?<![{_ALNUM}])P{_SEP}R((?:{_SEP}[{_ALNUM}]){{8}})(?![{_ALNUM}])")
# eight letters or digits as four and four (a reference written without its PR)
_BARE = re.compile(rf"(?<![{_ALNUM}])([{_ALNUM}]{{4}}[\s\-_.]?[{_ALNUM}]{{4}})(?![{_ALNUM}])")
_SEPARATORS = re.compile(r"[\s\-_.]+")
_WORD = re.compile(r"[0-9A-Z]+")
_AMOUNT_RANK = {EXACT: 0, WITHIN: 1, PARTIAL: 2, OVER: 2, NONE: 3}


@dataclass
class Book:
    """What matching compares lines with, read once per import (see `imports.load_book`)."""

    invoices: dict[str, InvoiceModel]  # payment reference (PR-XXXX-XXXX) → invoice
    open_invoices: list[InvoiceModel]  # payable, for amount suggestions
    pending: list[PaymentModel]  # awaiting approval
    tolerance: Callable[[InvoiceModel, PaymentModel | None], Decimal]
    names: dict[str, str] = field(default_factory=dict)  # account id → account name
    by_id: dict[str, InvoiceModel] = field(default_factory=dict)
    _pending_by_invoice: dict[str, PaymentModel] = field(default_factory=dict)
    _bank_refs: dict[str, list[tuple[str, PaymentModel]]] = field(default_factory=dict)
    _by_amount: dict[str, list[tuple[int, str, InvoiceModel]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id.update({invoice.invoice_id: invoice
                           for invoice in [*self.invoices.values(), *self.open_invoices]})
        for payment in self.pending:
            self._pending_by_invoice[payment.invoice_id] = payment
            ref = references.compact(payment.manual_reference or "")
            if len(ref) >= MIN_BANK_REFERENCE:
                self._bank_refs.setdefault(ref[:MIN_BANK_REFERENCE], []).append((ref, payment))
        for invoice in self.open_invoices:
            for currency, due in _dues(invoice):
                self._by_amount.setdefault(currency, []).append((due, invoice.invoice_id, invoice))
        for entries in self._by_amount.values():
            entries.sort(key=lambda entry: (entry[0], entry[1]))

    def pending_of(self, invoice: InvoiceModel) -> PaymentModel | None:
        return self._pending_by_invoice.get(invoice.invoice_id) if invoice.pending_payment_id else None

    def bank_reference_in(self, text: str) -> list[PaymentModel]:
        """Pending confirmations whose bank reference `text` (compacted) contains."""
        found: dict[str, PaymentModel] = {}
        for start in range(len(text) - MIN_BANK_REFERENCE + 1):
            for ref, payment in self._bank_refs.get(text[start:start + MIN_BANK_REFERENCE], ()):
                if text.startswith(ref, start):
                    found[payment.payment_id] = payment
        return list(found.values())

    def near_amount(self, currency: str, amount: int) -> list[InvoiceModel]:
        """Open invoices whose amount due in `currency` is from `amount` to `amount` plus the
        largest tolerance (the exact test is `amount_evidence`)."""
        entries = self._by_amount.get(currency, [])
        high = int(Decimal(amount) * 100 / 90) + 1  # no tolerance is 10% or more
        start = bisect.bisect_left(entries, (amount, ""))
        result = []
        for due, _, invoice in entries[start:]:
            if due > high:
                break
            result.append(invoice)
        return result


def _dues(invoice: InvoiceModel) -> Iterable[tuple[str, int]]:
    """The amount due in the invoice's currency and in each currency it has a quote in."""
    owed = amount_due(invoice)
    yield invoice.currency, owed
    for quote in invoice.quotes or []:
        yield quote.currency, fx.local_due(owed, quote)


@dataclass(frozen=True)
class Found:
    """What matching decided for one line."""

    status: str
    invoice: InvoiceModel | None = None
    payment: PaymentModel | None = None
    evidence: dict[str, str] = field(default_factory=dict)
    candidates: tuple[str, ...] = ()  # every invoice id considered, the chosen one first
    typo: str | None = None  # the mistyped reference as written, e.g. PR-7K4Q-X9MN

    def match_map(self, names: dict[str, str]) -> dict[str, Any] | None:
        """The line's `match` as stored."""
        if self.invoice is None and self.typo is None:
            return None
        invoice = self.invoice
        return {"invoice_id": invoice.invoice_id if invoice else None,
                "invoice_number": invoice.invoice_number if invoice else None,
                "invoice_status": invoice.status if invoice else None,
                "account_id": invoice.account_id if invoice else None,
                "account_name": names.get(invoice.account_id) if invoice else None,
                "amount_due_minor": amount_due(invoice) if invoice else None,
                "invoice_currency": invoice.currency if invoice else None,
                "payment_id": self.payment.payment_id if self.payment else None,
                "candidates": list(self.candidates), "typo": self.typo,
                "evidence": dict(self.evidence)}


def searchable(line: Line) -> str:
    """The line's reference, text and bank reference in upper case, one field per line."""
    return "\n".join(part.upper() for part in (line.reference, line.description, line.bank_reference)
                     if part)


def found_references(text: str) -> tuple[list[str], list[str]]:
    """(valid references, mistyped ones) in `text` (upper case), each as PR-XXXX-XXXX; a bare
    eight-character group counts only when its check character is right."""
    valid: list[str] = []
    typos: list[str] = []
    for match in _PREFIXED.finditer(text):
        code = _SEPARATORS.sub("", match.group(1))
        formatted = references.format_reference(code)
        target = valid if references.is_valid(code) else typos
        if formatted not in target:
            target.append(formatted)
    for match in _BARE.finditer(text):
        code = _SEPARATORS.sub("", match.group(1))
        formatted = references.format_reference(code)
        if references.is_valid(code) and formatted not in valid:
            valid.append(formatted)
    return valid, typos


def corrections(typo: str) -> list[str]:
    """The valid references one wrong character or one swap of neighbours away from `typo`."""
    code = references.compact(typo).removeprefix(references.PREFIX)
    found: list[str] = []
    for index in range(len(code)):
        for char in references.ALPHABET:
            if char != code[index]:
                candidate = code[:index] + char + code[index + 1:]
                if references.is_valid(candidate):
                    found.append(candidate)
    for index in range(len(code) - 1):
        if code[index] != code[index + 1]:
            candidate = code[:index] + code[index + 1] + code[index] + code[index + 2:]
            if references.is_valid(candidate):
                found.append(candidate)
    return [references.format_reference(candidate) for candidate in dict.fromkeys(found)]


def amount_evidence(line: Line, invoice: InvoiceModel, tolerance: Decimal) -> str:
    """How the line's amount compares with the invoice's amount due, in the line's currency."""
    owed = amount_due(invoice)
    if line.currency == invoice.currency:
        due = owed
    else:
        quote = fx.quote_in(invoice, line.currency)
        if quote is None:
            return NONE
        due = fx.local_due(owed, quote)
    if due <= 0:
        return OVER if line.amount_minor > 0 else NONE
    minimum = int((Decimal(due) * (100 - tolerance) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if line.amount_minor == due:
        return EXACT
    if line.amount_minor > due:
        return OVER
    return WITHIN if line.amount_minor >= minimum else PARTIAL


def payer_evidence(line: Line, invoice: InvoiceModel, names: dict[str, str]) -> str:
    """Whether the line's counterparty is the invoice's billing name or account name."""
    if not line.counterparty:
        return NONE
    theirs = _words(line.counterparty)
    best = NONE
    for name in (plain(invoice.billing_snapshot).get("billing_name"), names.get(invoice.account_id)):
        ours = _words(name or "")
        if not ours:
            continue
        if ours == theirs:
            return EXACT
        if any(len(word) >= 3 for word in ours & theirs):
            best = PARTIAL
    return best


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.upper()))


def _evidence(line: Line, invoice: InvoiceModel, book: Book, payment: PaymentModel | None, *,
              reference: str, bank_reference: str) -> dict[str, str]:
    return {"payment_reference": reference, "bank_reference": bank_reference,
            "amount": amount_evidence(line, invoice, book.tolerance(invoice, payment)),
            "payer": payer_evidence(line, invoice, book.names)}


def _best(line: Line, invoices: list[InvoiceModel], book: Book) -> list[InvoiceModel]:
    """The invoices ordered by how well the amount, then the payer, then the date agree."""
    def rank(invoice: InvoiceModel) -> tuple[Any, ...]:
        amount = amount_evidence(line, invoice, book.tolerance(invoice, book.pending_of(invoice)))
        payer = payer_evidence(line, invoice, book.names)
        distance = abs((line.booked_at - date.fromisoformat(invoice.created_at[:10])).days)
        return (_AMOUNT_RANK[amount], {EXACT: 0, PARTIAL: 1, NONE: 2}[payer], distance,
                invoice.invoice_id)
    return sorted(invoices, key=rank)


def _in_window(line: Line, invoice: InvoiceModel, payment: PaymentModel | None) -> bool:
    moments = [invoice.created_at[:10], invoice.due_date[:10]]
    if payment is not None:
        moments.append(payment.created_at[:10])
    return any(abs(line.booked_at - date.fromisoformat(moment)) <= WINDOW for moment in moments)


def match(line: Line, book: Book) -> Found:
    """What the line is: see the module's docstring for the order of the criteria."""
    if line.amount_minor <= 0:
        return Found(IGNORED)
    text = searchable(line)
    valid, typos = found_references(text)
    known = [book.invoices[ref] for ref in valid if ref in book.invoices]
    if known:
        invoice = known[0]
        payment = book.pending_of(invoice)
        bank = EXACT if payment and payment in book.bank_reference_in(references.compact(text)) else NONE
        evidence = _evidence(line, invoice, book, payment, reference=EXACT, bank_reference=bank)
        certain = len(known) == 1 and invoice.status in PAYABLE
        return Found(MATCHED if certain else SUGGESTED, invoice, payment, evidence,
                     tuple(i.invoice_id for i in known))
    pairs = [(payment, book.by_id[payment.invoice_id])
             for payment in book.bank_reference_in(references.compact(text))
             if payment.invoice_id in book.by_id]
    if pairs:
        payment, invoice = pairs[0]
        evidence = _evidence(line, invoice, book, payment, reference=NONE, bank_reference=EXACT)
        return Found(MATCHED if len(pairs) == 1 else SUGGESTED, invoice, payment, evidence,
                     tuple(i.invoice_id for _, i in pairs))
    typo = typos[0] if typos else None
    if typo:
        likely = [book.invoices[ref] for ref in corrections(typo) if ref in book.invoices]
        likely = [invoice for invoice in likely if invoice.status in PAYABLE]
        if likely:
            ordered = _best(line, likely, book)
            invoice = ordered[0]
            payment = book.pending_of(invoice)
            evidence = _evidence(line, invoice, book, payment, reference=PARTIAL, bank_reference=NONE)
            return Found(SUGGESTED, invoice, payment, evidence,
                         tuple(i.invoice_id for i in ordered), typo)
    near = [invoice for invoice in book.near_amount(line.currency, line.amount_minor)
            if invoice.status in PAYABLE
            and amount_evidence(line, invoice, book.tolerance(invoice, book.pending_of(invoice)))
            in (EXACT, WITHIN)
            and _in_window(line, invoice, book.pending_of(invoice))]
    if near:
        ordered = _best(line, near, book)
        invoice = ordered[0]
        payment = book.pending_of(invoice)
        evidence = _evidence(line, invoice, book, payment, reference=NONE, bank_reference=NONE)
        return Found(SUGGESTED, invoice, payment, evidence, tuple(i.invoice_id for i in ordered),
                     typo)
    if typo:
        return Found(UNMATCHED, evidence={"payment_reference": PARTIAL, "bank_reference": NONE,
                                          "amount": NONE, "payer": NONE}, typo=typo)
    return Found(UNMATCHED)


def exact(found_match: dict[str, Any] | None) -> bool:
    """Whether a stored match is one "apply all exact matches" takes: an exact payment reference,
    an amount within tolerance, and no other candidate."""
    if not found_match:
        return False
    evidence = found_match.get("evidence") or {}
    return (evidence.get("payment_reference") == EXACT and evidence.get("amount") in (EXACT, WITHIN)
            and len(found_match.get("candidates") or []) == 1)
