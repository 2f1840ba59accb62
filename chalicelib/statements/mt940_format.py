"""SWIFT MT940 statements, read with the mt-940 library (imported here, on the first such file).

A file holds one or more statements, each from a `:20:` line to its closing balance (`:62F:` or
`:62M:`); lines before the first `:20:` (a bank's file header) are passed over. Each `:61:` is a
line: its amount signed by its mark (`C` and `RD` in, `D` and `RC` out), in the currency of the
statement's opening balance, booked on its entry date (or its value date when it has none). The
`:86:` lines after it (wrapped over several lines, or repeated) are its description: as written,
with every line break a space; when they are structured (`166?00GUTSCHRIFT?20...`), its purpose
lines, the subfields `?20`-`?29` and `?60`-`?63`, a space apart (the file's own line breaks in a
structured field are dropped), the name `?32`/`?33` being the counterparty. The `//` reference
of `:61:` is the bank reference (else the SEPA `EREF+` end-to-end id), its reference for the
account owner the reference; `:25:` is the account. `:86:` text after the closing balance is the
statement's, not its last entry's.

Refused (naming the line): a field the library cannot read, an entry before the statement's
opening balance, and a statement without its closing balance (a file cut short).
"""
from __future__ import annotations

import logging
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from datetime import date
from types import ModuleType
from typing import Any

from chalicelib.statements.model import (Line, Statement, currency_code, invalid, one_line,
                                         optional, statement, to_minor)

# The library's own pattern of a field tag at a line start (mt940.models.Transactions.parse).
_TAG = re.compile(r"^:\n?(?P<full_tag>(?P<tag>[0-9]{2}|NS)(?P<sub_tag>[A-Z])?):", re.MULTILINE)
_OPENING, _CLOSING = {"60", "60F", "60M"}, {"62", "62F", "62M"}
_NONE = ("NONREF", "NOTPROVIDED")
_STRUCTURED = re.compile(r"^\d{3}\?\d{2}")
_SUBFIELD = re.compile(r"\?(\d{2})")
_PURPOSE = {f"{n}" for n in range(20, 30)} | {"60", "61", "62", "63"}
# Keys this module adds to the library's transaction data (its own never start with "_").
_DETAILS, _CLOSED, _OWN_61 = "_details", "_closed", "_own_61"


@dataclass(frozen=True)
class _Block:
    """One statement of the file: its text as the library reads it, and each text line's number
    in the file."""

    text: str
    numbers: list[int]

    @cached_property
    def _starts(self) -> list[int]:
        return [0] + [match.end() for match in re.finditer("\n", self.text)]

    def line_at(self, position: int) -> int:
        """The file's line number of a position in `text`."""
        return self.numbers[bisect_right(self._starts, position) - 1]


def parse(text: str) -> Statement:
    """The statement of an MT940 file (see the module's docstring)."""
    import mt940  # only here: see the README's "Bank statements: the formats"

    _quiet(logging.getLogger("mt940"))
    blocks = _blocks(text)
    lines: list[Line] = []
    accounts, currencies = set(), set()
    for block in blocks:
        transactions, entry_lines = _read(mt940, block)
        account = optional(transactions.data.get("account_identification"))
        accounts.add(account)
        currencies.add(_code(transactions.currency))
        lines += [_line(transaction, account, number)
                  for transaction, number in zip(transactions, entry_lines)]
    return statement("mt940", lines, accounts, currencies)


def _quiet(logger: logging.Logger) -> None:
    """The library logs a field it cannot read, with its content (a payer's details), at ERROR;
    the statement's own error says it once, without them."""
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _blocks(text: str) -> list[_Block]:
    """The file's statements, each from a `:20:` line, with the lines the library keeps (it drops
    blank lines and lone `-` separators, and trailing spaces)."""
    blocks: list[tuple[list[str], list[int]]] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.replace("\r", "").rstrip()
        if not line or line.strip() == "-":
            continue
        if line.startswith(":20:"):
            blocks.append(([], []))
        if blocks:
            blocks[-1][0].append(line)
            blocks[-1][1].append(number)
    if not blocks:
        raise invalid("No statement: an MT940 statement starts with a :20: line (its "
                      "reference), and this file has none.", line=1)
    return [_Block("\n".join(texts), numbers) for texts, numbers in blocks]


def _read(mt940: ModuleType, block: _Block) -> tuple[Any, list[int]]:
    """The library's transactions of one statement, and the file line of each `:61:`."""
    transactions = mt940.models.Transactions(options=mt940.Options(
        reversal_sign=True, case_insensitive_marks=True, applicant_iban=True,
        merge_keeps_values=True, unbounded_details=True))
    tags = transactions.sanitize_tag_id_matches(list(_TAG.finditer(block.text)))
    entries = _check_shape(block, tags)
    done: list[int] = []
    transactions.processors = _processors(mt940, transactions.processors, done)
    try:
        transactions.parse(block.text)
    except Exception as error:  # noqa: BLE001 - whatever the library raises on a bad field
        failed = tags[min(len(done), len(tags) - 1)]
        line = block.line_at(failed.start())
        value = block.text[failed.end():].split("\n", 1)[0]
        raise invalid(f"Line {line}: the field :{failed.group('full_tag')}: cannot be read "
                      f"({_reason(error)}): {value[:80]!r}.", line=line) from None
    if len(transactions) != len(entries):  # the library adds a :61: without a type to the last
        index = next((i for i, t in enumerate(transactions) if not t.data.get("id")), 0)
        raise invalid(f"Line {entries[index]}: the entry has no transaction type (such as NTRF) "
                      "after its amount, so it cannot be told from the next one.",
                      line=entries[index])
    return transactions, entries


def _check_shape(block: _Block, tags: list[re.Match[str]]) -> list[int]:
    """The file lines of the statement's entries; refused when an entry comes before the opening
    balance or after the closing one, or the statement has no closing balance."""
    opened = closed = False
    entries = []
    for tag in tags:
        full = tag.group("full_tag")
        if full in _OPENING:
            opened = True
        elif full in _CLOSING:
            closed = True
        elif full == "61":
            line = block.line_at(tag.start())
            if not opened or closed:
                where = "before the statement's opening balance (:60F:)" if not opened else \
                    "after the statement's closing balance (:62F:)"
                raise invalid(f"Line {line}: an entry (:61:) {where}.", line=line)
            entries.append(line)
    if not closed:
        last = block.numbers[-1]
        raise invalid(f"Line {last}: the statement that starts at line {block.numbers[0]} (:20:) "
                      "ends without its closing balance (:62F:): the file looks cut short.",
                      line=last)
    return entries


def _processors(mt940: ModuleType, defaults: dict[str, list[Any]],
                done: list[int]) -> dict[str, list[Any]]:
    """The library's processors, and ours: keep each `:86:` as written (the library takes
    structured ones apart), keep `:61:`'s own references (a later `:86:` merges its own into
    them), set aside `:86:` text after the closing balance (the statement's information, which
    the library would add to the last entry), and count the fields read (to name a bad one)."""
    processors = {key: list(value) for key, value in defaults.items()}

    def keep_details(transactions: Any, tag: Any, tag_dict: dict[str, Any], *_: Any) -> dict:
        if transactions.data.get(_CLOSED):
            tag_dict["transaction_details"] = ""
        else:
            tag_dict[_DETAILS] = tag_dict["transaction_details"]
        return tag_dict

    def keep_own(transactions: Any, tag: Any, tag_dict: dict, result: dict) -> dict:
        result[_OWN_61] = {key: result.get(key) for key in ("customer_reference", "bank_reference")}
        return result

    def close(transactions: Any, tag: Any, tag_dict: dict, result: dict) -> dict:
        transactions.data[_CLOSED] = True
        return result

    def count(transactions: Any, tag: Any, tag_dict: dict, result: Any) -> Any:
        done.append(1)
        return result

    processors["pre_transaction_details"].insert(0, keep_details)
    processors["post_statement"].append(keep_own)
    for slug in ("closing_balance", "intermediate_closing_balance", "final_closing_balance"):
        processors[f"post_{slug}"].append(close)
    for slug in {tag.slug for tag in mt940.tags.TAG_BY_ID.values()}:
        processors.setdefault(f"post_{slug}", []).append(count)
    return processors


def _code(currency: str | None) -> str | None:
    try:
        return currency_code(currency or "")
    except ValueError:
        return None


def _reason(error: Exception) -> str:
    if isinstance(error, RuntimeError):  # the library's "Unable to parse <Tag> from '...'"
        return "it does not have the field's shape"
    if isinstance(error, ArithmeticError):  # decimal.InvalidOperation: "1,2,3"
        return "its amount is not a number"
    return str(error) or type(error).__name__


def _line(transaction: Any, account: str | None, number: int) -> Line:
    data = transaction.data
    amount = data["amount"]
    try:
        currency = currency_code(amount.currency or "")
    except ValueError as error:
        raise invalid(f"Line {number}: the entry's currency, its statement's opening balance's, "
                      f"is wrong: {error}.", line=number) from None
    try:
        minor = to_minor(amount.amount, currency)
    except ValueError as error:
        raise invalid(f"Line {number}: {error}.", line=number) from None
    booked = data.get("entry_date") or data["date"]
    raw = (data.get(_DETAILS) or "").strip("\n")
    own = data.get(_OWN_61, {})
    structured = _STRUCTURED.match(raw.replace("\n", ""))
    return Line(
        booked_at=date(booked.year, booked.month, booked.day), amount_minor=minor,
        currency=currency, description=_purpose(raw) if structured else one_line(raw),
        raw=raw, counterparty=optional(data.get("applicant_name")) if structured else None,
        bank_reference=optional(own.get("bank_reference"), *_NONE)
        or (optional(data.get("end_to_end_reference"), *_NONE) if structured else None),
        reference=optional(own.get("customer_reference"), *_NONE), account=account)


def _purpose(raw: str) -> str:
    """The purpose subfields of a structured `:86:` (its lines `?20`-`?29`, `?60`-`?63`), a space
    apart. Its line breaks are the file's, not the text's (they even cut a subfield's code: `?2` /
    `2MTLG`), so they are dropped first, as the library does."""
    parts = _SUBFIELD.split(raw.replace("\n", ""))
    fields = zip(parts[1::2], parts[2::2])
    return one_line(" ".join(text for code, text in fields if code in _PURPOSE))
