"""CSV statements: a header row, then one row a line.

The header's names are matched case-insensitively, with the synonyms in `COLUMNS` (a name may
carry its currency in brackets: `Amount (EUR)`); it is the first of the file's first rows that
names a date column (rows above it, such as an account name, are passed over). The columns are
separated by `,`, `;` or a tab: the one whose header names most columns. A line's amount is its
`amount` column, or its `credit` minus its `debit` column (`paid in`, `paid out`...), or an amount
with a `debit/credit` column saying which; its currency comes from a `currency` column, the
amount's own sign or code, or the amount column's header. Wholly empty rows are passed over; any
other row that is not a line is refused, naming its line in the file. How amounts and dates are
written: `csv_values`.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from chalicelib.statements import csv_values
from chalicelib.statements.model import (Line, Statement, currency_code, invalid, one_line,
                                         optional, statement, to_minor)

# Each role's header names, normalized (lower case, "_" and "-" as spaces). Of several date
# columns the first role name listed wins (a booking date before a value date); several
# description columns are all kept, joined in the file's order.
COLUMNS = {
    "date": ("booking date", "booked", "booked at", "transaction date", "date", "posting date",
             "posted", "entry date", "value date"),
    "amount": ("amount", "transaction amount", "amount paid"),
    "credit": ("credit", "credits", "credit amount", "paid in", "money in", "deposit", "deposits",
               "received"),
    "debit": ("debit", "debits", "debit amount", "paid out", "money out", "withdrawal",
              "withdrawals", "spent"),
    "direction": ("debit/credit", "credit/debit", "dr/cr", "cr/dr", "d/c", "c/d"),
    "currency": ("currency", "ccy", "currency code"),
    "description": ("description", "details", "narrative", "remittance", "remittance information",
                    "memo", "purpose", "payment details", "transaction details", "particulars"),
    "reference": ("reference", "ref", "transaction reference", "payment reference",
                  "customer reference"),
    "bank_reference": ("bank reference", "transaction id", "end to end id", "end to end reference"),
    "counterparty": ("counterparty", "counterparty name", "payer", "payer name", "name", "payee",
                     "payee name", "beneficiary", "remitter"),
    "account": ("account", "account number", "iban", "account iban"),
}
_ROLE_OF = {name: role for role, names in COLUMNS.items() for name in names}
_DELIMITERS = (",", ";", "\t")
_HEADER_ROWS = 30  # the header is among the file's first rows
_BRACKETED_CURRENCY = re.compile(r"^(.*?)\s*[(\[]\s*([A-Za-z]{3}|[^\w\s]{1,3})\s*[)\]]$")


@dataclass
class Header:
    """Where the header row is and which column plays which role."""

    delimiter: str
    line: int  # its line in the file, from 1
    names: list[str]
    roles: dict[str, int] = field(default_factory=dict)  # role -> column (the date's, the amount's)
    descriptions: list[int] = field(default_factory=list)
    currency_hint: str | None = None  # from `Amount (EUR)`

    @property
    def has_amount(self) -> bool:
        return "amount" in self.roles or bool({"credit", "debit"} & self.roles.keys())


def sniff(text: str) -> Header | None:
    """The header of a CSV statement: the delimiter under which one of the first rows names a date
    column and the most other columns; None when no row does under any delimiter."""
    best = None
    for delimiter in _DELIMITERS:
        header = _find_header(text, delimiter)
        if header and (best is None or _score(header) > _score(best)):
            best = header
    return best


def _score(header: Header) -> tuple[bool, int, int]:
    return header.has_amount, len(header.roles) + len(header.descriptions), len(header.names)


def _find_header(text: str, delimiter: str) -> Header | None:
    """The first of the first rows that names a date and an amount, else the first that names a
    date and another column."""
    first = None
    try:
        for number, row in _rows(text, delimiter):
            if number > _HEADER_ROWS:
                break
            header = _header(row, delimiter, number)
            if header is not None and header.has_amount:
                return header
            first = first or header
    except RowError:
        pass
    return first


def _header(row: list[str], delimiter: str, number: int) -> Header | None:
    header = Header(delimiter, number, [cell.strip() for cell in row])
    date_rank = len(COLUMNS["date"])
    for column, cell in enumerate(row):
        name, hint = _normalized(cell)
        role = _ROLE_OF.get(name)
        if role == "date":
            rank = COLUMNS["date"].index(name)
            if rank < date_rank:
                header.roles["date"], date_rank = column, rank
        elif role == "description":
            header.descriptions.append(column)
        elif role and role not in header.roles:
            header.roles[role] = column
            if hint and role in ("amount", "credit", "debit"):
                header.currency_hint = header.currency_hint or hint
    # a header names a date and at least one more column
    return header if "date" in header.roles and len(header.roles) + len(header.descriptions) > 1 \
        else None


def _normalized(cell: str) -> tuple[str, str | None]:
    name = re.sub(r"[\s_-]+", " ", cell.strip().lower()).strip(" .:")
    hint = None
    if match := _BRACKETED_CURRENCY.match(name):
        name, symbol = match.group(1), match.group(2).upper()
        hint = csv_values.CURRENCY_SIGNS.get(symbol, symbol if symbol.isalpha() else None)
    return name, hint


class RowError(ValueError):
    """A row the csv module cannot read (a NUL character, an overlong field)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line in the file where the row starts, its cells) for every row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as error:
        raise RowError(start, str(error)) from None


# Rows -------------------------------------------------------------------------------------------

def parse(text: str) -> Statement:
    """The statement of a CSV file (see the module's docstring)."""
    header = sniff(text)
    if header is None:
        raise invalid("No header row: a CSV statement starts with a row naming its columns, with "
                      "a date (date, booking date, value date, transaction date) and an amount "
                      "(amount, or credit and debit).", line=1)
    if not header.has_amount:
        raise invalid(f"Line {header.line}: the header ({', '.join(header.names)}) has no amount "
                      "column: expected 'amount', or 'credit' and 'debit' (also 'paid in' and "
                      "'paid out').", line=header.line, header=header.names)
    rows = _data_rows(text, header)
    day_first = _day_first(rows, header.roles["date"])
    mark = _decimal_mark(rows, header)
    return statement("csv", [_line(number, row, header, day_first, mark) for number, row in rows])


def _data_rows(text: str, header: Header) -> list[tuple[int, list[str]]]:
    try:
        return [(number, row) for number, row in _rows(text, header.delimiter)
                if number > header.line and any(cell.strip() for cell in row)]
    except RowError as error:
        raise invalid(f"Line {error.line}: the row cannot be read as CSV ({error}).",
                      line=error.line) from None


def _cell(row: list[str], column: int | None) -> str:
    return row[column].strip() if column is not None and column < len(row) else ""


def _day_first(rows: list[tuple[int, list[str]]], column: int) -> bool:
    """Day first unless a date of the file can only be month first; refused when both occur."""
    proofs: dict[bool, int] = {}
    for number, row in rows:
        proof = csv_values.day_first_proof(_cell(row, column))
        if proof is not None:
            proofs.setdefault(proof, number)
    if len(proofs) == 2:
        raise invalid(f"Line {proofs[True]} writes its date day first and line {proofs[False]} "
                      "month first: a file must write every date the same way.",
                      line=max(proofs.values()))
    return False not in proofs


def _decimal_mark(rows: list[tuple[int, list[str]]], header: Header) -> str:
    """The decimal mark the file's amounts prove; refused when they prove both."""
    proofs: dict[str, int] = {}
    columns = [header.roles.get(role) for role in ("amount", "credit", "debit")]
    for number, row in rows:
        for column in columns:
            try:
                number_text = csv_values.split_amount(_cell(row, column)).number
            except ValueError:
                continue  # an empty or wrong cell: its own line says so later
            if mark := csv_values.decimal_mark_of(number_text):
                proofs.setdefault(mark, number)
    if len(proofs) == 2:
        raise invalid(f"Line {proofs['.']} writes its amount with a decimal point and line "
                      f"{proofs[',']} with a decimal comma: a file must write every amount the "
                      "same way.", line=max(proofs.values()))
    if proofs:
        return next(iter(proofs))
    return "," if header.delimiter == ";" else "."


def _line(number: int, row: list[str], header: Header, day_first: bool, mark: str) -> Line:
    roles = header.roles
    try:
        booked_at = _booked_at(row, roles["date"], day_first)
        number_text, negative, written = _signed_amount(row, header)
        currency = _currency(row, header, written)
        amount = csv_values.to_decimal(number_text, mark)
        minor = to_minor(amount, currency)
    except ValueError as error:
        raise invalid(f"Line {number}: {error}.", line=number) from None
    texts = [_cell(row, column) for column in header.descriptions]
    texts = [text for text in texts if text]
    return Line(booked_at=booked_at, amount_minor=-minor if negative else minor, currency=currency,
                description=one_line(" ".join(texts)), raw="\n".join(texts),
                counterparty=optional(_cell(row, roles.get("counterparty"))),
                bank_reference=optional(_cell(row, roles.get("bank_reference"))),
                reference=optional(_cell(row, roles.get("reference"))),
                account=optional(_cell(row, roles.get("account"))))


def _booked_at(row: list[str], column: int, day_first: bool) -> date:
    cell = _cell(row, column)
    if not cell:
        raise ValueError("the date is empty")
    return csv_values.to_date(cell, day_first)


def _signed_amount(row: list[str], header: Header) -> tuple[str, bool, str | None]:
    """The amount's number, whether it is money out, and the currency it writes."""
    roles = header.roles
    if "amount" in roles:
        cell = _cell(row, roles["amount"])
        if not cell:
            raise ValueError(f"the amount ({header.names[roles['amount']]}) is empty")
        money = csv_values.split_amount(cell)
        direction = _cell(row, roles.get("direction")).lower()
        if direction[:1] in ("d", "c"):
            return money.number, direction.startswith("d"), money.currency
        if direction:
            raise ValueError(f"{direction!r} is neither debit nor credit")
        return money.number, money.negative, money.currency
    credit, debit = (_cell(row, roles.get(role)) for role in ("credit", "debit"))
    amounts = {role: csv_values.split_amount(cell)
               for role, cell in (("credit", credit), ("debit", debit)) if cell}
    nonzero = [role for role, money in amounts.items() if money.number.strip("0.,")]
    if not amounts:
        raise ValueError("neither the credit nor the debit column has an amount")
    if len(nonzero) == 2:
        raise ValueError("both the credit and the debit column have an amount")
    role = nonzero[0] if nonzero else next(iter(amounts))
    return amounts[role].number, role == "debit", amounts[role].currency


def _currency(row: list[str], header: Header, written: str | None) -> str:
    cell = _cell(row, header.roles.get("currency"))
    column = currency_code(cell) if cell else None
    if column and written and column != written:
        raise ValueError(f"the currency column says {column} but the amount is in {written}")
    found = column or written or header.currency_hint
    if not found:
        raise ValueError("no currency: add a 'currency' column, or write it with the amount "
                         "(EUR 12.00) or in the amount's header (Amount (EUR))")
    return currency_code(found)
