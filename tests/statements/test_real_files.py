"""Statements that banks and two other projects' test suites wrote (data/README.md): every one
is read without error, with the right entries, amounts, currencies, dates and signs.

MT940 is checked against the file itself, read here with a regular expression of its own: the
`:61:` lines of each statement (their count, marks and amounts), and the `:60F:`/`:62F:` balances,
which the entries must add up to. camt.053 is checked against the `.json` beside each file: the
genkgo/camt PHP library's own parse of it.
"""
from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.statements.parse import parse

DATA = Path(__file__).parent / "data"
MT940_FILES = sorted((DATA / "mt940").glob("*.sta"))
CAMT_FILES = sorted((DATA / "camt053").glob("*.xml"))

# :61: value date, [entry date], mark (C, D, RC, RD), [funds code], amount
ENTRY = re.compile(r"^:61:(\d{6})(\d{4})?(R?[CD])[A-Z]?([\d,]+)", re.MULTILINE)
BALANCE = re.compile(r"^:6([02])[FM]?:([CD])\d{6}([A-Z]{3})([\d,]+)", re.MULTILINE)
# Statements whose own figures do not add up: (file, statement) -> closing - opening - entries.
# Their entries are read as the regular expression above reads them (checked first), so the
# difference is in the file (the jejik fixtures' balances were edited by hand), not in the parse.
UNBALANCED = {("jejik-abnamro.sta", 0): Decimal("-2038.00"),
              ("jejik-abnamro.sta", 1): Decimal("-1002.60"),
              ("jejik-ing.sta", 0): Decimal("49.06"),
              ("jejik-rabobank.sta", 0): Decimal("1135.93"),
              ("jejik-rabobank.sta", 2): Decimal("236.56")}
EXPECTED_ENTRIES = {"betterplace-sepa_mt9401.sta": 97, "cmxl-mt940.sta": 16,
                    "jejik-abnamro.sta": 10, "jejik-ing.sta": 7, "jejik-rabobank.sta": 5,
                    "self-provided-transaction_details_wrapped.sta": 1}


def _signed(mark: str, amount: str) -> Decimal:
    value = Decimal(amount.replace(",", "."))
    return -value if mark in ("D", "RC") else value


def _statements(text: str) -> list[str]:
    """The file's statements, each from a :20: line, as the file has them."""
    return [block for block in re.split(r"(?m)^(?=:20:)", text) if block.startswith(":20:")]


def test_every_real_file_is_here_with_its_licence() -> None:
    assert len(MT940_FILES) == 6 and len(CAMT_FILES) == 3
    assert {p.name for p in (DATA / "mt940").glob("LICENSE-*")} == {
        "LICENSE-betterplace", "LICENSE-cmxl", "LICENSE-jejik", "LICENSE-mt940"}
    assert (DATA / "camt053" / "LICENSE-genkgo-camt").exists() and (DATA / "README.md").exists()


@pytest.mark.parametrize("path", MT940_FILES, ids=lambda p: p.name)
def test_an_mt940_file_has_every_entry_with_its_amount_sign_currency_and_date(path: Path) -> None:
    # Given a real MT940 file, and its entries as a regular expression reads them
    text = path.read_text(encoding="utf-8")
    expected = [(value, entry, _signed(mark, amount))
                for value, entry, mark, amount in ENTRY.findall(text)]
    # When it is parsed (its format detected)
    result = parse(path.name, path.read_bytes())
    # Then it is MT940, with one line per :61:, in order, with its amount and sign
    assert result.format == "mt940"
    assert len(result.lines) == len(expected) == EXPECTED_ENTRIES[path.name]
    for line, (value_date, entry_date, amount) in zip(result.lines, expected):
        assert Decimal(line.amount_minor) / 100 == amount, (line, amount)
        assert line.currency and re.fullmatch(r"[A-Z]{3}", line.currency)
        # booked on the entry date (MMDD) when there is one, else the value date (YYMMDD)
        month_day = entry_date or value_date[2:]
        assert (line.booked_at.month, line.booked_at.day) == (int(month_day[:2]),
                                                               int(month_day[2:]))


@pytest.mark.parametrize("path", MT940_FILES, ids=lambda p: p.name)
def test_each_mt940_statement_adds_up_from_its_opening_to_its_closing_balance(path: Path) -> None:
    # Given the file's statements, each with its balances and entries as the file writes them
    lines = iter(parse(path.name, path.read_bytes()).lines)
    for index, block in enumerate(_statements(path.read_text(encoding="utf-8"))):
        (_, mark, currency, opening), *_, (_, close_mark, _, closing) = BALANCE.findall(block)
        entries = ENTRY.findall(block)
        # When the parsed lines of that statement are summed
        parsed = [next(lines) for _ in entries]
        total = sum((Decimal(line.amount_minor) / 100 for line in parsed), Decimal(0))
        # Then they are in the statement's currency and lead from one balance to the other
        assert {line.currency for line in parsed} <= {currency}
        difference = _signed(close_mark, closing) - _signed(mark, opening) - total
        assert difference == UNBALANCED.get((path.name, index), 0), (path.name, index)
    assert next(lines, None) is None


def test_mt940_details_wrapped_over_lines_come_out_joined() -> None:
    # Given the library's own fixture of a :86: whose last subfield wraps onto a line ":12:11"
    path = DATA / "mt940" / "self-provided-transaction_details_wrapped.sta"
    (line,) = parse(path.name, path.read_bytes()).lines
    # Then the wrapped text is one description, the raw text keeps its lines
    assert line.description == "Pauschalen 2017-01-01T13:12:11"
    assert line.raw.endswith("?602017-01-01T13\n:12:11")
    assert (line.amount_minor, line.currency, line.account) == (-600, "EUR", "12345678/1020304050")


def test_mt940_structured_details_give_purpose_counterparty_and_references() -> None:
    path = DATA / "mt940" / "cmxl-mt940.sta"
    lines = parse(path.name, path.read_bytes()).lines
    rent, salary = lines[11], lines[12]
    assert (rent.description, rent.counterparty, rent.amount_minor) == ("Miete November", "MUELLER",
                                                                        -80000)
    # purpose lines (?20, ?21) a space apart; the file's line breaks inside them are dropped
    assert salary.description == "Gehalt Oktober FirmaMustermannGmbH"
    assert (salary.bank_reference, salary.reference, salary.booked_at) == ("55555", None,
                                                                          date(2002, 11, 2))
    assert lines[14].reference == "REF 25611247"  # :61:'s reference for the account owner


def test_mt940_reversals_are_signed_as_the_balances_need() -> None:
    # RC (a credit reversed) takes money out, RD puts it back: the balances above agree only so
    path = DATA / "mt940" / "betterplace-sepa_mt9401.sta"
    text = path.read_text(encoding="utf-8")
    marks = [mark for _, _, mark, _ in ENTRY.findall(text)]
    lines = parse(path.name, path.read_bytes()).lines
    reversed_credits = [line for line, mark in zip(lines, marks) if mark == "RC"]
    assert len(reversed_credits) == 2 and all(line.amount_minor == -20488
                                              for line in reversed_credits)


def test_text_after_the_closing_balance_is_not_the_last_entrys() -> None:
    # Given ING's file, whose :86: after :62F: is the statement's own summary
    path = DATA / "mt940" / "jejik-ing.sta"
    last = parse(path.name, path.read_bytes()).lines[-1]
    assert last.description == ("0111111111 Hr S Marechal ROSMALEN Hr S Marechal ROSMALEN "
                                "Betaling transactiedatum: 22-07-2010")


def _expected_camt(path: Path) -> list[dict]:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["getEntries"]


@pytest.mark.parametrize("path", CAMT_FILES, ids=lambda p: p.name)
def test_a_camt053_file_agrees_with_the_other_librarys_parse(path: Path) -> None:
    # Given a real camt.053 file and genkgo/camt's parse of it
    expected = _expected_camt(path)
    # When it is parsed
    result = parse(path.name, path.read_bytes())
    # Then it has the same entries, amounts (minor units), currencies, dates, signs and remittance
    assert result.format == "camt053" and len(result.lines) == len(expected)
    for line, entry in zip(result.lines, expected):
        amount, detail = entry["getAmount"], entry["getTransactionDetail"]
        sign = 1 if entry["getCreditDebitIndicator"] == "CRDT" else -1
        assert line.amount_minor == sign * abs(int(amount["getAmount"]))
        assert line.currency == amount["getCurrency"]["getCode"]
        assert line.booked_at.isoformat() == entry["getBookingDate"]["0"][:10]
        remittance = detail["getRemittanceInformation"]
        assert line.reference == remittance["getCreditorReferenceInformation"]["getRef"]
        unstructured = [block["getMessage"] for block in remittance["getUnstructuredBlocks"]]
        assert line.description == " ".join(unstructured)
        assert remittance["getMessage"] in (line.description, line.reference)
        assert line.account == entry["getRecord"]["getAccount"]["getIdentification"]
        debtor = next(party["getRelatedPartyType"]["getName"]
                      for party in detail["getRelatedParties"]
                      if party["getRelatedPartyType"]["__CLASS__"].endswith("Debtor"))
        assert line.counterparty == debtor
        assert line.bank_reference == (detail["getReference"]["getEndToEndId"]
                                       or entry["getAccountServicerReference"])
    assert result.account == "NL26VAYB8060476890" and result.currency == "EUR"
