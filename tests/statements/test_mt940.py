"""MT940 statements built the way banks write them: references wrapped over two `:86:` lines, in
lower case, with spaces for hyphens, inside a longer sentence; structured German details; debits;
and files cut short or broken, each refused naming its line."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.billing.references import compact
from chalicelib.core.errors import Invalid
from chalicelib.statements.parse import parse
from tests.helpers import statement_lines, statement_refused

REFERENCE = "PR-7K4Q-X9M6"  # a valid payment reference (its check character matches)
IBAN = "DE89370400440532013000"


def mt940(*entries: str, opening: str = "C260131EUR1000,00", closing: str = "C260203EUR1000,00",
          account: str = IBAN, reference: str = "STMT2602") -> str:
    """One statement: its header, opening balance, `entries` (each a :61: and its :86: lines) and
    closing balance. The balances are not checked by the parser."""
    return "\n".join([f":20:{reference}", f":25:{account}", ":28C:00042/001", f":60F:{opening}",
                      *entries, f":62F:{closing}", "-"]) + "\n"


def read(text: str, name: str = "statement.sta") -> list:
    return statement_lines(name, text.encode("utf-8"), "mt940")


def refused(text: str) -> Invalid:
    return statement_refused("statement.sta", text.encode("utf-8"))


def test_a_reference_wrapped_over_two_86_lines_is_one_description() -> None:
    # Given a credit whose :86: wraps the payment reference onto a second line
    (line,) = read(mt940(":61:2602020202CR89,00NTRFNONREF//B2602020001",
                         ":86:Payment for subscription PR-7K4Q-", "X9M6 thank you"))
    # Then the description joins the lines with a space, and the reference survives compaction
    assert line.description == "Payment for subscription PR-7K4Q- X9M6 thank you"
    assert line.raw == "Payment for subscription PR-7K4Q-\nX9M6 thank you"
    assert compact(REFERENCE) in compact(line.description)
    assert (line.booked_at, line.amount_minor, line.currency) == (date(2026, 2, 2), 8900, "EUR")
    assert (line.bank_reference, line.reference, line.account) == ("B2602020001", None, IBAN)


@pytest.mark.parametrize(("details", "description"), [
    ([":86:pr 7k4q x9m6"], "pr 7k4q x9m6"),  # lower case, spaces instead of hyphens
    ([":86:THANK YOU FOR THE SERVICE, THIS IS THE PAYMENT FOR INVOICE PR 7K4Q X9M6 FROM KHAN",
      "MEDIA (PVT) LTD, LAHORE"],
     "THANK YOU FOR THE SERVICE, THIS IS THE PAYMENT FOR INVOICE PR 7K4Q X9M6 FROM KHAN MEDIA "
     "(PVT) LTD, LAHORE"),
    ([":86:Rechnung", ":86:pr-7k4q-", ":86:x9m6"], "Rechnung pr-7k4q- x9m6"),  # repeated :86:
])
def test_references_as_payers_write_them_stay_in_the_description(details: list[str],
                                                                 description: str) -> None:
    (line,) = read(mt940(":61:260202C89,00NTRFNONREF", *details))
    assert line.description == description
    assert compact(REFERENCE) in compact(line.description)


def test_structured_details_give_the_purpose_lines_the_payer_and_the_end_to_end_id() -> None:
    # Given a German SEPA credit: purpose lines ?20-?22 (the reference cut between two), ?32/?33
    (line,) = read(mt940(
        ":61:2602020202CR24964,50NTRFNONREF",
        ":86:166?00GUTSCHRIFT?109310?20EREF+E2E-2602-77?21SVWZ+Rechnung PR-7K4Q-?22X9M6 Danke?3",
        "0HABLPKKA?31PK36SCBL0000001123456702?32KHAN MEDIA PVT?33 LTD"))
    # Then the purpose lines are the description, a space apart; the name is the counterparty
    assert line.description == "EREF+E2E-2602-77 SVWZ+Rechnung PR-7K4Q- X9M6 Danke"
    assert compact(REFERENCE) in compact(line.description)
    assert (line.counterparty, line.bank_reference) == ("KHAN MEDIA PVT LTD", "E2E-2602-77")
    assert line.amount_minor == 2496450


def test_a_debit_is_negative_and_marks_may_be_lower_case() -> None:
    lines = read(mt940(":61:2602030203D12,50NCHGNONREF", ":86:Account fee",
                       ":61:2602030203c1234,5NTRFNONREF", ":86:in",
                       ":61:2602030203RD7,NTRFNONREF", ":86:a debit given back"))
    assert [line.amount_minor for line in lines] == [-1250, 123450, 700]


def test_the_booking_date_crosses_the_year_from_the_value_date() -> None:
    # A value date on 31 December, booked on 2 January
    (line,) = read(mt940(":61:2512310102C5,00NTRFNONREF", ":86:x"))
    assert line.booked_at == date(2026, 1, 2)


def test_several_statements_of_two_accounts_keep_each_lines_account() -> None:
    text = (mt940(":61:260202C1,00NTRFNONREF", ":86:a") +
            mt940(":61:260202C2,00NTRFNONREF", ":86:b", account="PK36SCBL0000001123456702",
                  opening="C260131PKR5,00", closing="C260203PKR7,00"))
    result = parse("two.sta", text.encode())
    assert [(line.account, line.currency) for line in result.lines] == [
        (IBAN, "EUR"), ("PK36SCBL0000001123456702", "PKR")]
    assert (result.account, result.currency) == (None, None)


def test_a_swift_envelope_and_windows_line_ends_are_read() -> None:
    text = ("{1:F01BANKDEFFAXXX0000000000}{2:O9400000260203BANKDEFFAXXX00000000002602030000N}{4:\n"
            + mt940(":61:260202C3,00NTRFNONREF", ":86:PR-7K4Q-X9M6").replace("-\n", "-}\n"))
    (line,) = read(text.replace("\n", "\r\n"))
    assert (line.amount_minor, line.description) == (300, REFERENCE)


# Refused ----------------------------------------------------------------------------------------

def test_a_file_cut_short_is_refused_naming_its_last_line() -> None:
    # Given a statement cut after an entry, before its closing balance
    full = mt940(":61:260202C89,00NTRFNONREF", ":86:PR-7K4Q-", "X9M6",
                 ":61:260202C10,00NTRFNONREF", ":86:second")
    cut = full[:full.index(":62F:")]
    error = refused(cut)
    # Then the error names the last line and says why
    assert error.details == {"line": 9}
    assert "Line 9" in error.message and "closing balance" in error.message
    assert "cut short" in error.message


@pytest.mark.parametrize("cut_at", [":61:2602", ":86:PR-7K", ":62F:C2602"])
def test_a_file_cut_anywhere_is_refused(cut_at: str) -> None:
    full = mt940(":61:260202C89,00NTRFNONREF", ":86:PR-7K4Q-X9M6")
    text = full[:full.index(cut_at) + len(cut_at)]
    error = refused(text)
    assert error.details["line"] == text.count("\n") + 1


def test_a_field_that_cannot_be_read_is_refused_naming_its_line() -> None:
    error = refused(mt940(":61:260202C89,00NTRFNONREF", ":86:fine",
                          ":61:2602XXC10,00NTRFNONREF", ":86:broken"))
    assert error.details == {"line": 7}
    assert error.message.startswith("Line 7: the field :61: cannot be read")
    assert "2602XXC10" in error.message


def test_a_bad_opening_balance_is_refused_naming_its_line() -> None:
    error = refused(mt940(":61:260202C1,00NTRFNONREF", opening="X260131EUR1,00"))
    assert error.details == {"line": 4} and ":60F:" in error.message


def test_an_amount_that_is_no_number_is_refused_naming_its_line() -> None:
    error = refused(mt940(":61:260202C1,2,3NTRFNONREF", ":86:x"))
    assert error.details == {"line": 5} and "its amount is not a number" in error.message


def test_a_currency_in_lower_case_is_read_in_upper_case() -> None:
    result = parse("s.sta", mt940(":61:260202c1,00NTRFNONREF", opening="c260131eur1,00",
                                  closing="c260203eur2,00").encode())
    assert (result.currency, result.lines[0].currency, result.lines[0].amount_minor) == (
        "EUR", "EUR", 100)


def test_an_entry_before_the_opening_balance_is_refused() -> None:
    text = ":20:X\n:25:1\n:61:260202C1,00NTRFNONREF\n:60F:C260131EUR1,00\n:62F:C260131EUR2,00\n"
    error = refused(text)
    assert error.details == {"line": 3} and "opening balance" in error.message


def test_an_amount_with_more_decimals_than_its_currency_is_refused() -> None:
    error = refused(mt940(":61:260202C89,005NTRFNONREF", ":86:x"))
    assert error.details == {"line": 5} and "more decimals than EUR has" in error.message


def test_an_entry_without_a_transaction_type_is_refused_not_merged() -> None:
    # The library would fold the next :61: into one without a type; two lines must stay two
    error = refused(mt940(":61:260202C1,00", ":61:260202C2,00NTRFNONREF"))
    assert error.details == {"line": 5} and "no transaction type" in error.message


def test_a_file_with_fields_but_no_20_line_is_refused() -> None:
    error = refused(":25:1\n:60F:C260131EUR1,00\n:62F:C260131EUR1,00\n")
    assert error.details == {"line": 1} and ":20:" in error.message
