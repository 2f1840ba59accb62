"""CSV statements as banks export them: header names in any case and with synonyms, `,` `;` or
tab, amounts `1,234.50` `1.234,50` `(12.00)` with or without a currency, credit and debit
columns, dates day first unless the file proves otherwise; and what is refused, by line."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.billing.references import compact
from chalicelib.core.errors import Invalid
from tests.helpers import statement_lines, statement_refused

REFERENCE = "PR-7K4Q-X9M6"


def read(text: str, name: str = "statement.csv", encoding: str = "utf-8") -> list:
    return statement_lines(name, text.encode(encoding), "csv")


def refused(text: str) -> Invalid:
    return statement_refused("statement.csv", text.encode("utf-8"))


def test_a_plain_export_reads_date_amount_currency_texts_and_references() -> None:
    (line,) = read("Date,Description,Amount,Currency,Reference,Bank reference,Payer,IBAN\n"
                   f"2026-02-01,Subscription {REFERENCE},\"1,234.50\",USD,INV-9,TX77,"
                   "Khan Media,PK36SCBL0000001123456702\n")
    assert (line.booked_at, line.amount_minor, line.currency) == (date(2026, 2, 1), 123450, "USD")
    assert (line.description, line.reference, line.bank_reference) == (
        f"Subscription {REFERENCE}", "INV-9", "TX77")
    assert (line.counterparty, line.account) == ("Khan Media", "PK36SCBL0000001123456702")


def test_a_european_export_with_semicolons_and_decimal_commas() -> None:
    # Given a bank's export: an account line above the header, ";" between columns, 1.234,50
    lines = read("Account;DE89370400440532013000\n\n"
                 "BOOKING DATE;Value date;Narrative;Paid in;Paid out;Currency\n"
                 "01.02.2026;03.02.2026;Rechnung pr 7k4q x9m6;1.234,50;;EUR\n"
                 "02.02.2026;02.02.2026;Kontogebühr;;12,00;EUR\n")
    # Then the booking date (not the value date), a credit and a debit
    assert [(line.booked_at, line.amount_minor) for line in lines] == [
        (date(2026, 2, 1), 123450), (date(2026, 2, 2), -1200)]
    assert compact(REFERENCE) in compact(lines[0].description)
    assert lines[1].description == "Kontogebühr"


def test_a_reference_wrapped_inside_a_quoted_cell_is_joined_with_a_space() -> None:
    lines = read('Date,Details,Memo,Amount,Currency\n'
                 '2026-02-01,"Payment for PR-7K4Q-\nX9M6",from Khan,89.00,USD\n'
                 '2026-02-02,second,,1.00,USD\n')
    assert lines[0].description == "Payment for PR-7K4Q- X9M6 from Khan"
    assert lines[0].raw == "Payment for PR-7K4Q-\nX9M6\nfrom Khan"
    assert compact(REFERENCE) in compact(lines[0].description)


@pytest.mark.parametrize(("cell", "minor", "currency"), [
    ("1,234.50", 123450, "USD"), ("-12.00", -1200, "USD"), ("(12.00)", -1200, "USD"),
    ("12.00-", -1200, "USD"), ("12.00 DR", -1200, "USD"), ("12.00 CR", 1200, "USD"),
    ("$1,234.50", 123450, "USD"), ("-$5.00", -500, "USD"), ("USD 5.00", 500, "USD"),
    ("5.00 USD", 500, "USD"), ("+5", 500, "USD"), (".50", 50, "USD"), ("1,234,567.89", 123456789,
                                                                        "USD"),
])
def test_amounts_as_banks_write_them(cell: str, minor: int, currency: str) -> None:
    (line,) = read(f'Date,Amount,Currency\n2026-02-01,"{cell}",USD\n')
    assert (line.amount_minor, line.currency) == (minor, currency)


@pytest.mark.parametrize(("cells", "minors"), [
    (["1.234,50", "12,5"], [123450, 1250]),  # decimal comma proven by 1.234,50 and 12,5
    (["1 234,50", "-0,99"], [123450, -99]),
    (["1.234", "5,00"], [123400, 500]),  # 1.234 alone proves nothing; 5,00 makes it 1234
    (["1,234", "5.00"], [123400, 500]),
])
def test_the_decimal_mark_is_the_files(cells: list[str], minors: list[int]) -> None:
    rows = "".join(f'2026-02-0{n},"{cell}",EUR\n' for n, cell in enumerate(cells, 1))
    assert [line.amount_minor for line in read("Date,Amount,Currency\n" + rows)] == minors


def test_a_currency_sign_or_the_headers_currency_names_the_currency() -> None:
    lines = read("Transaction Date\tPayee\tAmount (GBP)\n01/02/2026\tJ Smith\t1,234.50\n"
                 "02/02/2026\tShop\t£-3.20\n", encoding="utf-8")
    assert [(line.amount_minor, line.currency) for line in lines] == [(123450, "GBP"),
                                                                      (-320, "GBP")]
    (euro,) = read("Date;Amount\n2026-02-01;12,00 €\n", encoding="cp1252")
    assert (euro.amount_minor, euro.currency) == (1200, "EUR")


def test_a_debit_credit_column_signs_the_amount() -> None:
    lines = read("Date,Amount,Debit/Credit,Currency\n2026-02-01,10.00,C,PKR\n"
                 "2026-02-01,4.00,Debit,PKR\n2026-02-01,1.00,DR,PKR\n")
    assert [line.amount_minor for line in lines] == [1000, -400, -100]


def test_slashed_dates_are_day_first_unless_the_file_proves_month_first() -> None:
    # Given 01/02/2026 alone: the 1st of February
    (line,) = read("Date,Amount,Currency\n01/02/2026,1.00,USD\n")
    assert line.booked_at == date(2026, 2, 1)
    # Given a file with 02/13/2026 (no 13th month): every slashed date of it is month first
    lines = read("Date,Amount,Currency\n02/13/2026,1.00,USD\n01/02/2026,2.00,USD\n")
    assert [line.booked_at for line in lines] == [date(2026, 2, 13), date(2026, 1, 2)]
    # Dotted dates are always day first; ISO and named months are what they say
    lines = read("Date,Amount,Currency\n02.03.2026,1,USD\n2026-02-01T10:00:00,1,USD\n"
                 "1 Feb 2026,1,USD\n20260203,1,USD\n03/04/26,1,USD\n")
    assert [line.booked_at for line in lines] == [date(2026, 3, 2), date(2026, 2, 1),
                                                  date(2026, 2, 1), date(2026, 2, 3),
                                                  date(2026, 4, 3)]


def test_empty_rows_are_passed_over_and_a_utf8_bom_is_no_part_of_the_header() -> None:
    lines = read("\ufeffDate,Amount,Currency\n\n2026-02-01,1.00,USD\n,,\n2026-02-02,2.00,USD\n")
    assert [line.amount_minor for line in lines] == [100, 200]


def test_a_header_alone_is_a_statement_without_lines() -> None:
    assert read("Date,Amount,Currency\n") == []


# Refused ----------------------------------------------------------------------------------------

def test_a_csv_without_an_amount_column_is_refused_naming_the_header() -> None:
    error = refused("Statement of account\nDate,Description,Reference,Currency\n"
                    "2026-02-01,Payment,PR-7K4Q-X9M6,USD\n")
    assert error.details == {"line": 2, "header": ["Date", "Description", "Reference",
                                                   "Currency"]}
    assert error.message.startswith("Line 2: the header (Date, Description, Reference, Currency) "
                                    "has no amount column")
    assert "'credit' and 'debit'" in error.message


@pytest.mark.parametrize(("row", "says"), [
    ("2026-02-30,1.00,USD", "no such day"),
    ("yesterday,1.00,USD", "is not a date"),
    (",1.00,USD", "the date is empty"),
    ("2026-02-01,1.005,USD", "1.005 has more decimals than USD has (2)"),
    ("2026-02-01,one,USD", "'one' is not an amount"),
    ("2026-02-01,,USD", "the amount (Amount) is empty"),
    ("2026-02-01,1.00,US", "'US' is not a currency code"),
    ("2026-02-01,£1.00,USD", "the currency column says USD but the amount is in GBP"),
    ("2026-02-01,\"1,23,4.00\",USD", "not grouped in threes"),
    ("2026-02-01,８９.００,USD", "'８９.００' is not an amount"),
    ("2026-02-01,10000000000000.00,USD", "too large an amount"),
])
def test_a_bad_row_is_refused_naming_its_line(row: str, says: str) -> None:
    # Given a good line, then a quoted cell over two lines, then the bad row on line 5
    error = refused(f'Date,Amount,Currency,Memo\n2026-02-01,1.00,USD\n2026-02-01,1.00,USD,"a\nb"\n'
                    f"{row}\n")
    assert error.details == {"line": 5}
    assert error.message.startswith("Line 5: ") and says in error.message


@pytest.mark.parametrize(("text", "line", "says"), [
    ("Date,Credit,Debit,Currency\n2026-02-01,1.00,2.00,USD\n", 2, "both the credit and the debit"),
    ("Date,Credit,Debit,Currency\n2026-02-01,,,USD\n", 2, "neither the credit nor the debit"),
    ("Date,Amount\n2026-02-01,1.00\n", 2, "no currency"),
    ("Date,Amount,Currency\n13/02/2026,1,USD\n02/13/2026,1,USD\n", 3,
     "Line 2 writes its date day first and line 3 month first"),
    ('Date,Amount,Currency\n2026-02-01,"1,50",USD\n2026-02-02,2.50,USD\n', 3,
     "Line 3 writes its amount with a decimal point and line 2 with a decimal comma"),
], ids=["credit-and-debit", "neither", "no-currency", "date-orders", "decimal-marks"])
def test_what_a_file_cannot_be_is_refused_naming_the_line(text: str, line: int, says: str) -> None:
    error = refused(text)
    assert error.details == {"line": line} and says in error.message


def test_a_csv_without_a_header_is_refused_when_its_name_says_csv() -> None:
    error = refused("2026-02-01,1.00,USD\n")
    assert error.details == {"line": 1} and "header" in error.message
