"""Statements imported over the API, matched and applied: each line ends in the right status with
the right evidence, and applying it changes the invoice, subscription, account, credits and money
ledger exactly as an admin's approval does."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.billing import references
from chalicelib.core import clock
from chalicelib.storage.models.billing import PaymentModel
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.records import AuditEventModel, MoneyLedgerModel
from chalicelib.storage.models.statements import StatementLineModel, StatementModel
from ops import integrity
from tests.conftest import Api
from tests.helpers import account, assert_error, invoice, ledger_of, payments_of, store_unchanged
from tests.statements.statement_files import (
    LINES,
    STATEMENTS,
    camt053,
    camt_entry,
    csv_statement,
    imported,
    lines_of,
    mt940,
    upload,
)

DAY = "2026-12-01"


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


class Customer:
    def __init__(self, api: Api, email: str, method: str = "bank_transfer") -> None:
        reply = api.register(email, plan="starter", payment_method=method)
        assert reply.status == 201, reply.body
        body = reply.body
        self.token, self.account_id = body["access_token"], body["account"]["id"]
        self.invoice_id = body["invoice"]["id"]
        self.reference = body["invoice"]["payment_reference"]
        self.email = email


@pytest.fixture
def admin(api: Api) -> str:
    return api.admin_token()


@pytest.fixture
def today() -> Any:
    with clock.travel(clock.parse_stamp(f"{DAY}T09:00:00Z")):
        yield


def _mistyped(reference: str) -> str:
    """The reference with its last character changed: a typo the check character catches."""
    code = references.compact(reference).removeprefix("PR")
    wrong = next(c for c in references.ALPHABET if c != code[-1])
    typo = references.format_reference(code[:-1] + wrong)
    assert not references.is_valid(typo)
    return typo


def _by_text(lines: list[dict], needle: str) -> dict:
    [line] = [line for line in lines if needle in (line["description"] or "")]
    return line


def _apply(api: Api, admin: str, line_id: str, **body: Any) -> Any:
    reply = api.post(f"{LINES}/{line_id}/apply", body or None, token=admin)
    assert reply.status == 200, reply.body
    return reply.body


def test_csv_lines_as_payers_write_them_end_matched_suggested_or_ignored(api: Api, admin: str,
                                                                        today: Any) -> None:
    # Given six customers from Pakistan, each with a starter invoice of 89.00 USD
    a, b, c, d, e, f = (Customer(api, f"{name}@khan.pk") for name in "abcdef")
    spaced = a.reference.lower().replace("-", " ")
    data = csv_statement(
        (DAY, "89.00", f"payment for invoice {spaced} thanks", "Khan Media (Pvt) Ltd", "FT1"),
        (DAY, "88.50", f"Subscription {b.reference} less bank fee", "B Traders", "FT2"),
        (DAY, "89.00", f"Invoice {_mistyped(c.reference)}", "C Traders", "FT3"),
        (DAY, "50.00", f"part payment {d.reference}", "D Traders", "FT4"),
        (DAY, "100.00", f"{e.reference} keep the change", "E Traders", "FT5"),
        (DAY, "-12.00", "Bank charges November", "", "FT6"),
        (DAY, "89.00", "monthly subscription", "F Traders", "FT7"),
        (DAY, "3.33", "interest", "", "FT8"))
    # When the admin imports the statement
    report = imported(api, admin, data)
    # Then every line is new, and each is in the right status
    assert (report["format"], report["lines"], report["new_lines"], report["duplicate_lines"]) == (
        "csv", 8, 8, 0)
    assert (report["matched"], report["suggested"], report["unmatched"], report["ignored"]) == (
        4, 2, 1, 1)
    lines = lines_of(api, admin, report["id"])
    assert [line["status"] for line in lines] == [
        "matched", "matched", "suggested", "matched", "matched", "ignored", "suggested", "unmatched"]
    evidence = [line["match"]["evidence"] if line["match"] else None for line in lines]
    assert evidence[0] == {"payment_reference": "exact", "bank_reference": "none",
                           "amount": "exact", "payer": "exact"}
    assert evidence[1]["amount"] == "within_tolerance" and evidence[1]["payer"] == "none"
    assert evidence[3]["amount"] == "partial" and evidence[4]["amount"] == "over"
    # the typo: suggested with the invoice it meant, never matched
    assert lines[2]["match"]["invoice_id"] == c.invoice_id
    assert lines[2]["match"]["typo"] == _mistyped(c.reference)
    assert evidence[2]["payment_reference"] == "partial" and evidence[2]["amount"] == "exact"
    # the amount alone: a suggestion among the open invoices of 89.00
    assert evidence[6] == {"payment_reference": "none", "bank_reference": "none",
                           "amount": "exact", "payer": "none"}
    assert f.invoice_id in lines[6]["match"]["candidates"]
    assert lines[5]["match"] is None and lines[5]["amount"] == "-12.00"
    assert [line["exact"] for line in lines] == [True, True] + [False] * 6
    # And nothing is paid yet
    assert {invoice(x.invoice_id).status for x in (a, b, c, d, e, f)} == {"pending"}

    # When the admin applies all exact matches
    reply = api.post(f"{STATEMENTS}/{report['id']}/apply-exact", token=admin)
    assert reply.status == 200, reply.body
    assert (reply.body["applied"], reply.body["skipped"], reply.body["failed"]) == (2, 2, [])
    # Then a and b are paid and active with the plan's credits, b's fee written off
    for customer, paid, written_off in ((a, 8900, 0), (b, 8850, 50)):
        inv = invoice(customer.invoice_id)
        assert (inv.status, inv.amount_paid_minor, inv.written_off_minor, inv.amount_due_minor) == (
            "paid", paid, written_off, 0)
        acct = account(customer.account_id)
        assert (acct.status, acct.plan) == ("active", "starter")
        assert sum(entry.amount for entry in ledger_of(customer.account_id)) == acct.credits
        [payment] = payments_of(customer.invoice_id)
        assert (payment.status, payment.source, payment.amount_minor, payment.currency) == (
            "succeeded", "statement", paid, "USD")
        assert payment.statement_line_id is not None
        assert "Statement line" in payment.admin_notes
    assert account(a.account_id).credits == 1000
    # the payer is told, as after any approval
    told = {m.recipient for m in OutboxModel.scan() if m.template.startswith("payment_approved")}
    assert "billing@khan.pk" in told
    # When the partial, the over and the typo lines are applied one by one
    _apply(api, admin, lines[3]["id"])
    over = _apply(api, admin, lines[4]["id"])
    _apply(api, admin, lines[2]["id"])
    # Then d is paid in part (not active), e is paid with the excess in its balance, c is paid
    d_inv = invoice(d.invoice_id)
    assert (d_inv.status, d_inv.amount_paid_minor, d_inv.amount_due_minor) == ("partially_paid", 5000, 3900)
    assert account(d.account_id).status != "active"
    assert over["invoice"]["status"] == "paid" and account(e.account_id).balance_minor == 1100
    assert [m.amount_minor for m in MoneyLedgerModel.query(e.account_id)] == [1100]
    assert invoice(c.invoice_id).status == "paid"
    # And an applied line is applied once, ever
    for line in (lines[0], lines[3]):
        assert_error(api.post(f"{LINES}/{line['id']}/apply", token=admin), 409, "line_already_applied")
    now = api.get(f"{STATEMENTS}/{report['id']}", token=admin).body["now"]
    assert now == {"matched": 0, "suggested": 1, "unmatched": 1, "ignored": 1, "applied": 5}
    _consistent()


def test_an_unmatched_line_is_applied_to_the_invoice_the_admin_names(api: Api, admin: str,
                                                                      today: Any) -> None:
    a = Customer(api, "a@khan.pk")
    report = imported(api, admin, csv_statement((DAY, "3.33", "no reference", "", "FT1")))
    [line] = lines_of(api, admin, report["id"])
    assert line["status"] == "unmatched"
    assert_error(api.post(f"{LINES}/{line['id']}/apply", token=admin), 422, "validation_failed")
    applied = _apply(api, admin, line["id"], invoice_id=a.invoice_id)
    assert applied["invoice"]["status"] == "partially_paid" and applied["line"]["status"] == "applied"
    assert invoice(a.invoice_id).amount_due_minor == 8900 - 333
    _consistent()


def test_mt940_a_reference_wrapped_over_two_86_lines_and_a_confirmation_s_bank_reference(
        api: Api, admin: str, today: Any) -> None:
    # Given PKR at 280.50, two customers paying in PKR; g has confirmed a JazzCash payment
    assert api.request("PUT", "/api/v1/billing/admin/fx-rates/PKR", body={"rate": "280.50"},
                       token=admin).status == 200
    g, h = Customer(api, "g@khan.pk", "jazzcash"), Customer(api, "h@khan.pk", "jazzcash")
    confirm = api.confirm(g.token, g.invoice_id, amount="24964.50", method="jazzcash",
                          currency="PKR", reference="TID 8812 3456 77")
    assert confirm.status == 201, confirm.body
    head, tail = h.reference[:7], h.reference[7:]
    data = mt940(":61:2612011201CR24964,50NTRFNONREF//B2612010001",
                 ":86:JAZZCASH TRANSFER TID88123456 77",
                 ":61:2612011201CR24964,50NTRFNONREF//B2612010002",
                 f":86:Payment for subscription {head}", f"{tail} thank you")
    report = imported(api, admin, data, "statement.sta")
    assert (report["format"], report["matched"]) == ("mt940", 2)
    by_bank, wrapped = lines_of(api, admin, report["id"])
    # Then g's line matched its confirmation through the bank reference
    assert by_bank["match"]["payment_id"] == confirm.body["id"]
    assert by_bank["match"]["evidence"] == {"payment_reference": "none", "bank_reference": "exact",
                                            "amount": "exact", "payer": "none"}
    assert not by_bank["exact"]  # not an exact payment reference: applied one by one
    # And h's line matched its invoice through the reference wrapped over two lines
    assert wrapped["match"]["invoice_id"] == h.invoice_id and wrapped["exact"]
    # When g's line is applied, g's own confirmation is approved (not a second payment)
    applied = _apply(api, admin, by_bank["id"])
    assert applied["payment"]["id"] == confirm.body["id"]
    [payment] = payments_of(g.invoice_id)
    assert (payment.status, payment.source, payment.statement_line_id) == (
        "succeeded", None, by_bank["id"])
    assert "Statement line" in payment.admin_notes
    assert account(g.account_id).status == "active"
    history = [e.action for e in AuditEventModel.query(by_bank["id"])]
    assert history == ["applied"]
    # And h's is recorded from the line, in PKR at the quote's rate
    applied = _apply(api, admin, wrapped["id"])
    [payment] = payments_of(h.invoice_id)
    assert (payment.amount_minor, payment.currency, payment.rate, payment.payment_method) == (
        2496450, "PKR", "280.50", "bank_transfer")  # the statement is the bank account's
    assert invoice(h.invoice_id).amount_paid_minor == 8900
    _consistent()


def test_camt053_a_pkr_line_against_a_usd_invoice_s_quote_and_a_structured_reference(
        api: Api, admin: str, today: Any) -> None:
    api.request("PUT", "/api/v1/billing/admin/fx-rates/PKR", body={"rate": "280.50"}, token=admin)
    i, j = Customer(api, "i@khan.pk"), Customer(api, "j@khan.pk")
    data = camt053(camt_entry("24964.50", ustrd=f"Invoice {i.reference}", bank_reference="B1"),
                   camt_entry("24800.00", ref=references.compact(j.reference), bank_reference="B2"),
                   camt_entry("500.00", sign="DBIT", ustrd="Rent", bank_reference="B3"))
    report = imported(api, admin, data, "statement.xml")
    assert (report["format"], report["matched"], report["ignored"]) == ("camt053", 2, 1)
    first, second, debit = lines_of(api, admin, report["id"])
    assert first["match"]["evidence"]["amount"] == "exact" and first["currency"] == "PKR"
    assert second["match"]["invoice_id"] == j.invoice_id
    assert second["match"]["evidence"]["amount"] == "within_tolerance"  # 24,964.50 less 0.66%
    assert (debit["status"], debit["amount"]) == ("ignored", "-500.00")
    applied = api.post(f"{STATEMENTS}/{report['id']}/apply-exact", token=admin).body
    assert applied["applied"] == 2
    assert invoice(j.invoice_id).written_off_minor == 8900 - 8841  # 24,800.00 / 280.50 = 88.41
    _consistent()


def test_a_line_already_imported_is_stored_once_and_matched_once(api: Api, admin: str,
                                                                 today: Any) -> None:
    a, b = Customer(api, "a@khan.pk"), Customer(api, "b@khan.pk")
    row_a = (DAY, "89.00", f"Invoice {a.reference}", "A", "FT1")
    row_b = (DAY, "89.00", f"Invoice {b.reference}", "B", "FT2")
    with clock.travel(clock.parse_stamp(f"{DAY}T10:00:00Z")):
        first = imported(api, admin, csv_statement(row_a))
    with clock.travel(clock.parse_stamp(f"{DAY}T11:00:00Z")):
        again = imported(api, admin, csv_statement(row_a))
    with clock.travel(clock.parse_stamp(f"{DAY}T12:00:00Z")):
        overlap = imported(api, admin, csv_statement(row_a, row_b), "december.csv")
    assert (again["new_lines"], again["duplicate_lines"], again["matched"]) == (0, 1, 0)
    assert (overlap["new_lines"], overlap["duplicate_lines"], overlap["matched"]) == (1, 1, 1)
    assert [line["match"]["invoice_id"] for line in lines_of(api, admin, overlap["id"])] == [b.invoice_id]
    stored = [line for line in StatementLineModel.scan() if line.statement_id]
    assert sorted(line.statement_id for line in stored) == sorted([first["id"], overlap["id"]])
    listed = api.get(STATEMENTS, token=admin).body["items"]
    assert [s["id"] for s in listed] == [overlap["id"], again["id"], first["id"]]


def test_a_line_is_ignored_with_a_reason_once(api: Api, admin: str, today: Any) -> None:
    report = imported(api, admin, csv_statement((DAY, "3.33", "interest", "", "FT1")))
    [line] = lines_of(api, admin, report["id"])
    assert_error(api.post(f"{LINES}/{line['id']}/ignore", {}, token=admin), 422, "validation_failed")
    reply = api.post(f"{LINES}/{line['id']}/ignore", {"reason": "Interest, not a payment"}, token=admin)
    assert reply.status == 200 and reply.body["line"]["status"] == "ignored"
    assert StatementLineModel.get(line["id"]).ignore_reason == "Interest, not a payment"
    assert_error(api.post(f"{LINES}/{line['id']}/ignore", {"reason": "again"}, token=admin), 409,
                 "line_already_ignored")
    assert [line["id"] for line in lines_of(api, admin, report["id"], "ignored")] == [line["id"]]
    assert lines_of(api, admin, report["id"], "unmatched") == []


def test_confirmations_older_than_3_days_that_no_line_matched_are_listed(api: Api, admin: str) -> None:
    with clock.travel(clock.parse_stamp("2026-11-20T09:00:00Z")):
        a, b = Customer(api, "a@khan.pk"), Customer(api, "b@khan.pk")
        paid_a = api.confirm(a.token, a.invoice_id, reference="FT-AAA-111").body["id"]
        paid_b = api.confirm(b.token, b.invoice_id, reference="FT-BBB-222").body["id"]
    with clock.travel(clock.parse_stamp("2026-11-30T09:00:00Z")):
        c = Customer(api, "c@khan.pk")
        api.confirm(c.token, c.invoice_id, reference="FT-CCC-333")
        imported(api, admin, csv_statement(("2026-11-21", "89.00", "transfer FTAAA111", "A", "X")))
    with clock.travel(clock.parse_stamp("2026-12-01T09:00:00Z")):
        reply = api.get("/api/v1/billing/admin/unmatched-confirmations", token=admin)
    assert reply.status == 200, reply.body
    # a's was matched by the statement's line; c's is 1 day old: only b's is listed
    assert [(item["id"], item["days_waiting"]) for item in reply.body["items"]] == [(paid_b, 11)]
    assert paid_a != paid_b


@pytest.mark.parametrize("name,data,status,code", [
    ("garbage.bin", bytes(range(256)) * 4, 422, "statement_format_unknown"),
    ("bomb.xml", b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
                 b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><Document>&lol2;</Document>',
     422, "statement_invalid"),
    ("xxe.xml", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<Document>&x;</Document>", 422, "statement_invalid"),
    ("cut.sta", b":20:STMT\n:25:PK36MEZN0001010104567891\n:28C:1/1\n:60F:C261130PKR0,00\n"
                b":61:2612011201CR24964,", 422, "statement_invalid"),
    ("no-amount.csv", b"Date;Description\n2026-12-01;PR-7K4Q-X9M6\n", 422, "statement_invalid"),
    ("big.csv", b"Date,Amount\n" + b"2026-12-01,1.00\n" * (5 * 1024 * 1024 // 16), 413,
     "statement_too_large"),
], ids=["binary", "billion-laughs", "external-entity", "truncated-mt940", "csv-without-amount",
        "5-mb"])
def test_a_file_that_is_not_a_statement_is_refused_and_nothing_is_stored(
        api: Api, admin: str, name: str, data: bytes, status: int, code: str) -> None:
    with store_unchanged():
        reply = upload(api, admin, data, name)
    error = assert_error(reply, status, code)
    assert "/etc/passwd" not in error["message"] and "lol" not in error["message"]
    assert list(StatementModel.scan()) == []


def test_a_failed_import_keeps_nothing(api: Api, admin: str, today: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core.errors import Unavailable
    from chalicelib.statements import imports

    a = Customer(api, "a@khan.pk")
    rows = [(DAY, f"{n}.00", f"line {n}", "", f"FT{n}") for n in range(1, 150)]
    rows.append((DAY, "89.00", f"Invoice {a.reference}", "", "FTA"))
    calls = {"n": 0}
    original = imports._claim_batch

    def failing(batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # the store fails after the first 100 lines were written
            raise Unavailable("The data store is busy or unavailable; retry shortly.", retry_after=2)
        return original(batch)

    monkeypatch.setattr(imports, "_claim_batch", failing)
    assert_error(upload(api, admin, csv_statement(*rows)), 503)
    assert list(StatementModel.scan()) == [] and list(StatementLineModel.scan()) == []
    monkeypatch.setattr(imports, "_claim_batch", original)
    report = imported(api, admin, csv_statement(*rows))
    assert (report["new_lines"], report["matched"]) == (150, 1)


def test_apply_needs_an_admin_and_a_line(api: Api, admin: str, today: Any) -> None:
    a = Customer(api, "a@khan.pk")
    assert_error(upload(api, a.token, csv_statement((DAY, "1.00", "x", "", "y"))), 403)
    assert_error(api.post(f"{LINES}/sl_nope/apply", token=admin), 404, "statement_line_not_found")
    assert_error(api.post(f"{LINES}/match#pay_x/apply", token=admin), 404)
    assert_error(api.get(f"{STATEMENTS}/stm_nope/lines", token=admin), 404, "statement_not_found")
    assert_error(api.get(f"{STATEMENTS}?limit=0", token=admin), 400, "invalid_query")
    report = imported(api, admin, csv_statement((DAY, "-5.00", "fee", "", "y")))
    [debit] = lines_of(api, admin, report["id"])
    assert_error(api.post(f"{LINES}/{debit['id']}/apply", {"invoice_id": a.invoice_id}, token=admin),
                 409, "line_not_a_credit")
    assert_error(api.get(f"{STATEMENTS}/{report['id']}/lines?status=paid", token=admin), 400,
                 "invalid_query")
    assert PaymentModel.count() == 0


def test_the_bank_s_amount_counts_when_it_differs_from_the_confirmation(api: Api, admin: str,
                                                                       today: Any) -> None:
    # Given a payer who confirmed 89.00 USD, and a statement saying 60.00 USD arrived
    a = Customer(api, "a@khan.pk")
    confirmed = api.confirm(a.token, a.invoice_id, reference="FT-REAL-9911")
    assert confirmed.status == 201, confirmed.body
    report = imported(api, admin, csv_statement((DAY, "60.00", f"Invoice {a.reference}", "A", "X")))
    [line] = lines_of(api, admin, report["id"])
    assert (line["status"], line["match"]["payment_id"], line["match"]["evidence"]["amount"]) == (
        "matched", confirmed.body["id"], "partial")
    # When the admin applies the line
    applied = _apply(api, admin, line["id"])
    # Then the confirmation is approved for what the bank booked: a part payment
    assert applied["payment"]["id"] == confirmed.body["id"]
    assert (applied["payment"]["amount"], applied["payment"]["settles"]) == ("60.00", "partial")
    assert applied["payment"]["statement_line_id"] == line["id"]
    assert applied["payment"]["source"] == "confirmation"
    [payment] = payments_of(a.invoice_id)
    assert "confirmed as 89.00 USD, the bank's amount counts" in payment.admin_notes
    inv = invoice(a.invoice_id)
    assert (inv.status, inv.amount_paid_minor, inv.amount_due_minor) == ("partially_paid", 6000, 2900)
    _consistent()


def test_a_line_in_a_currency_that_cannot_pay_the_invoice_is_refused_and_changes_nothing(
        api: Api, admin: str, today: Any) -> None:
    a = Customer(api, "a@khan.pk")
    report = imported(api, admin, csv_statement((DAY, "80.00", f"Invoice {a.reference}", "A", "X"),
                                                currency="EUR"))
    [line] = lines_of(api, admin, report["id"])
    assert line["status"] == "matched" and line["match"]["evidence"]["amount"] == "none"
    assert not line["exact"]
    with store_unchanged():
        assert_error(api.post(f"{LINES}/{line['id']}/apply", token=admin), 422,
                     "currency_not_accepted")
