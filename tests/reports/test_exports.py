"""The admin's CSV exports: RFC 4180, UTF-8, no formula a spreadsheet would run, read from the month
index (no Scan), a link to S3 for a file too large for one response, owners only."""
from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from chalicelib.billing import jobs
from chalicelib.core.clock import public_time
from chalicelib.core.config import get_settings
from chalicelib.core.money import format_minor
from chalicelib.reports import csv_file
from chalicelib.storage import store
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, amount_due
from chalicelib.storage.models.records import CreditLedgerModel, MoneyLedgerModel
from tests.conftest import BILLING_PK, Api, Reply, _s3, stored_items
from tests.helpers import assert_error, environment, error_fields, store_unchanged

EXPORTS = "/api/v1/billing/admin/exports"
NAMES = {  # the billing name each customer typed, and how its cell must come out
    "hyper@example.com": ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    "plus@example.com": ("+1-2", "'+1-2"),
    "urdu@example.pk": ("خان میڈیا (پرائیویٹ) لمیٹڈ", "خان میڈیا (پرائیویٹ) لمیٹڈ"),
    "cafe@example.fr": ('Café "Zoë", Ltd', 'Café "Zoë", Ltd'),
    "at@example.com": ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
}


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _csv(reply: Reply) -> tuple[str, list[list[str]]]:
    """The file's text and its rows as Python's csv module reads them (header first)."""
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    text = reply.body.decode("utf-8")  # UTF-8, or this fails
    return text, list(csv.reader(io.StringIO(text, newline="")))


def _export(api: Api, name: str, token: str, first: str | None = None, last: str | None = None) -> Reply:
    first, last = first or _today(), last or _today()
    return api.get(f"{EXPORTS}/{name}.csv?from={first}&to={last}", token=token)


@pytest.fixture
def customers(api: Api) -> dict[str, Any]:
    """Five paid signups whose billing names a spreadsheet would run or mangle; the first pays
    too much (a money-ledger entry) and buys a pack with the balance (a negative one)."""
    signups = {}
    for email, (name, _) in NAMES.items():
        reply = api.register(email, plan="starter", payment_method="bank_transfer",
                             billing={**BILLING_PK, "billing_name": name})
        assert reply.status == 201, reply.body
        signups[email] = reply.body
    first = signups["hyper@example.com"]
    admin = api.admin_token()
    paid = api.confirm(first["access_token"], first["invoice"]["id"], amount="94.00", overpayment=True)
    assert paid.status == 201, paid.body
    assert api.approve(admin, paid.body["id"]).status == 200
    topup = api.post("/api/v1/billing/topups", {"pack": "pack_1000", "payment_method": "bank_transfer"},
                     token=first["access_token"])
    assert topup.status == 201, topup.body
    assert topup.body["amount_due"] == "10.00"  # 15.00, of which the balance paid 5.00
    return {"signups": signups, "admin": admin}


def test_invoices_come_out_as_stored_with_formulas_defused(api: Api, customers: dict[str, Any],
                                                          ddb_calls: list[str]) -> None:
    # When the owner exports today's invoices
    reply = _export(api, "invoices", customers["admin"])
    # Then it is a CSV file to save, read from the month index only
    assert reply.headers["content-disposition"] == (
        f'attachment; filename="invoices-{_today()}-{_today()}.csv"')
    assert "Scan" not in ddb_calls and ddb_calls.count("Query") == get_settings().index_shards
    text, rows = _csv(reply)
    # RFC 4180: CRLF after every row (the header's too), quotes doubled inside quoted fields
    assert text.startswith("id,invoice_number,account_id,kind,plan,") and text.endswith("\r\n")
    assert text.count("\r\n") == len(rows)
    assert '"\'=HYPERLINK(""http://x"")"' in text and '"Café ""Zoë"", Ltd"' in text
    # And the rows are the stored invoices, oldest first, with the names as the rule says
    header, *body = rows
    invoices = sorted((InvoiceModel.from_raw_data(raw) for raw in stored_items(InvoiceModel)),
                      key=lambda i: (i.created_at, i.invoice_id))
    assert len(invoices) == 6
    expected = []
    for invoice in invoices:
        billing = plain(invoice.billing_snapshot)
        expected.append([
            invoice.invoice_id, invoice.invoice_number, invoice.account_id, invoice.kind or "signup",
            invoice.plan, public_time(invoice.period_start) or "", public_time(invoice.period_end) or "",
            invoice.status, format_minor(invoice.amount_minor), format_minor(amount_due(invoice)),
            invoice.currency, public_time(invoice.created_at), invoice.due_date,
            public_time(invoice.paid_at) or "", csv_file.cell(billing["billing_name"]),
            billing["billing_email"], invoice.billing_country])
    assert body == expected
    column = {name: header.index(name) for name in header}
    names = [row[column["billing_name"]] for row in body]
    assert {shown for _, shown in NAMES.values()} <= set(names)
    assert [row[column["amount"]] for row in body] == ["89.00"] * 5 + ["15.00"]
    assert [row[column["status"]] for row in body].count("paid") == 1


def test_a_line_break_a_comma_and_a_quote_in_a_cell_round_trip(api: Api, customers: dict[str, Any]) -> None:
    # Given a billing name stored with a line break (as an import or an older version could)
    invoice = InvoiceModel.get(customers["signups"]["cafe@example.fr"]["invoice"]["id"])
    snapshot = {**plain(invoice.billing_snapshot), "billing_name": 'Zoë, "the shop"\r\nFloor 2'}
    invoice.update(actions=[InvoiceModel.billing_snapshot.set(snapshot)])
    # When exported
    text, rows = _csv(_export(api, "invoices", customers["admin"]))
    # Then the field is quoted, whole, and reads back as stored
    assert '"Zoë, ""the shop""\r\nFloor 2"' in text
    assert 'Zoë, "the shop"\r\nFloor 2' in {row[rows[0].index("billing_name")] for row in rows[1:]}


def _overpayment(customers: dict[str, Any]) -> str:
    account = customers["signups"]["hyper@example.com"]["account"]["id"]
    return next(p.payment_id for p in PaymentModel.scan() if p.account_id == account)


def test_payments_show_the_invoice_amount_and_what_was_paid_in_a_local_currency(
        api: Api, customers: dict[str, Any]) -> None:
    # Given a payment in PKR at a quote's rate (besides the overpayment in USD)
    admin = customers["admin"]
    assert api.request("PUT", "/api/v1/billing/admin/fx-rates/PKR", body={"rate": "280.50"},
                       token=admin).status == 200
    local = api.register("local@example.pk", plan="starter", payment_method="jazzcash").body
    paid = api.confirm(local["access_token"], local["invoice"]["id"], amount="24964.50",
                       method="jazzcash", reference="-JC 7", currency="PKR")
    assert paid.status == 201, paid.body
    # When the payments are exported
    header, *body = _csv(_export(api, "payments", admin))[1]
    # Then each row is the stored payment; the local one says both amounts
    assert header == ["id", "invoice_id", "account_id", "payment_method", "status", "amount",
                      "currency", "local_amount", "local_currency", "manual_reference",
                      "submitted_at", "decided_at", "decided_by"]
    stored = {p.payment_id: p for p in PaymentModel.scan()}
    assert [row[0] for row in body] == sorted(stored, key=lambda i: (stored[i].created_at, i))
    rows = {row[0]: dict(zip(header, row)) for row in body}
    over = rows[_overpayment(customers)]
    assert (over["amount"], over["currency"], over["local_amount"], over["status"]) == (
        "94.00", "USD", "", "succeeded")
    assert over["decided_by"] == "admin@example.com" and over["decided_at"]
    pkr = rows[paid.body["id"]]
    assert (pkr["amount"], pkr["currency"], pkr["local_amount"], pkr["local_currency"]) == (
        "89.00", "USD", "24964.50", "PKR")
    assert pkr["manual_reference"] == "'-JC 7" and pkr["decided_at"] == ""


def test_the_ledgers_keep_negative_amounts_plain_and_defuse_formulas(
        api: Api, customers: dict[str, Any]) -> None:
    # Given a correction that takes credits with a reason a spreadsheet would run
    admin = customers["admin"]
    account = customers["signups"]["hyper@example.com"]["account"]["id"]
    taken = api.post(f"/api/v1/billing/admin/accounts/{account}/credits",
                     {"amount": -100, "bucket": "allowance", "reason": "-2+3 correction"}, token=admin)
    assert taken.status == 200, taken.body
    # When both ledgers are exported
    header, *body = _csv(_export(api, "ledger", admin))[1]
    money_header, *money = _csv(_export(api, "money-ledger", admin))[1]
    # Then the credit entries are the stored ones, amounts as plain numbers (-100 too)
    assert header == ["account_id", "entry_id", "created_at", "bucket", "amount", "reason",
                      "reference", "balance_after"]
    entries = sorted(CreditLedgerModel.scan(), key=lambda e: (e.created_at, e.account_id,
                                                              e.ordered_at or "", e.entry_id))
    assert body == [[e.account_id, e.entry_id, public_time(e.created_at), e.bucket or "allowance",
                     str(e.amount), e.reason, csv_file.cell(e.reference),
                     "" if e.balance_after is None else str(e.balance_after)] for e in entries]
    correction = next(row for row in body if row[4] == "-100")
    assert correction[5:] == ["admin_correction", "'-2+3 correction", "900"]
    # And the money entries: the overpayment's 5.00 in, then -5.00 applied to the top-up
    assert money_header == ["account_id", "entry_id", "created_at", "amount", "currency", "reason",
                            "reference"]
    moves = sorted(MoneyLedgerModel.scan(), key=lambda e: (e.created_at, e.account_id, e.entry_id))
    assert [(row[1], row[3], row[4], row[5]) for row in money] == [
        (e.entry_id, format_minor(e.amount_minor), e.currency, e.reason) for e in moves]
    assert [row[3] for row in money] == ["5.00", "-5.00"]


@pytest.mark.parametrize("value, cell", [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'), ("+1-2", "'+1-2"), ("-1+2", "'-1+2"),
    ("@A1", "'@A1"), ("\tx", "'\tx"), ("\r=1", "'\r=1"), ("-5.00", "-5.00"), ("-100", "-100"),
    ("89.00", "89.00"), ("-5e3", "'-5e3"), ("- 5", "'- 5"), ("+5", "'+5"), ("-", "'-"),
    ("a=b", "a=b"), ("", ""), (None, ""), (-42, "-42"), (0, "0"),
])
def test_the_formula_rule_cell_by_cell(value: Any, cell: str) -> None:
    assert csv_file.cell(value) == cell


def test_a_file_is_rfc_4180() -> None:
    text, count = csv_file.render(("a", "b"), [("x,y", 'say "hi"'), ("line\nbreak", None), ("-5.00", "=1")])
    assert count == 3
    assert text == 'a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak",\r\n-5.00,\'=1\r\n'


def test_only_the_range_s_days_are_in_it_whatever_the_months(api: Api, customers: dict[str, Any]) -> None:
    # Given invoices whose creation is moved to the edges of a range over three months
    ids = [s["invoice"]["id"] for s in customers["signups"].values()]
    moments = ["2026-01-30T23:59:59.999999Z", "2026-01-31T00:00:00.000000Z",
               "2026-02-15T12:00:00.000000Z", "2026-03-01T23:59:59.999999Z",
               "2026-03-02T00:00:00.000000Z"]
    for invoice_id, moment in zip(ids, moments):
        InvoiceModel(invoice_id).update(actions=[
            InvoiceModel.created_at.set(moment),
            InvoiceModel.created_month.set(store.spread(moment[:7], invoice_id))])
    # When the export covers 2026-01-31 to 2026-03-01
    rows = _csv(_export(api, "invoices", customers["admin"], "2026-01-31", "2026-03-01"))[1][1:]
    # Then exactly the three inside are in it, in order
    assert [row[0] for row in rows] == ids[1:4]
    assert [row[11] for row in rows] == ["2026-01-31T00:00:00Z", "2026-02-15T12:00:00Z",
                                         "2026-03-01T23:59:59Z"]
    # And a day with nothing is a header alone
    assert _csv(_export(api, "invoices", customers["admin"], "2025-05-05", "2025-05-05"))[1] == [
        _csv(_export(api, "invoices", customers["admin"]))[1][0]]


@pytest.mark.parametrize("query, fields", [
    ("", {"from", "to"}),
    ("from=2026-01-01", {"to"}),
    ("from=2026-13-01&to=2026-12-31", {"from"}),
    ("from=2026-02-30&to=2026-03-01", {"from"}),
    ("from=2026-1-1&to=2026-01-31", {"from"}),
    ("from=20260101&to=2026-01-31", {"from"}),
    ("from=2026-01-01T00:00:00Z&to=2026-01-31", {"from"}),
    ("from=2026-01-01&to=yesterday", {"to"}),
    ("from=2026-02-01&to=2026-01-31", {"from"}),
    ("from=2026-01-01&to=2027-01-02", {"to"}),  # 367 days
])
def test_a_bad_range_is_422_and_changes_nothing(api: Api, customers: dict[str, Any], query: str,
                                                fields: set[str]) -> None:
    with store_unchanged():
        reply = api.get(f"{EXPORTS}/payments.csv?{query}", token=customers["admin"])
    assert_error(reply, 422, "validation_failed")
    assert error_fields(reply) == fields
    assert not [key for key in _s3().buckets[get_settings().proof_bucket].keys]


def test_a_leap_year_fits_in_one_export(api: Api, customers: dict[str, Any]) -> None:
    reply = _export(api, "invoices", customers["admin"], "2028-01-01", "2028-12-31")  # 366 days
    assert reply.status == 200 and _csv(reply)[1][0][0] == "id"


def test_a_large_export_is_a_link_to_s3_valid_15_minutes(api: Api, customers: dict[str, Any],
                                                         ddb_calls: list[str]) -> None:
    inline = _csv(_export(api, "invoices", customers["admin"]))[0]
    # Given a threshold below the file's size
    with environment(EXPORT_INLINE_MAX_BYTES=str(len(inline) - 1)):
        before = datetime.now(timezone.utc).replace(microsecond=0)
        reply = _export(api, "invoices", customers["admin"])
    # Then the answer is JSON: a link, the rows and the size
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    assert set(reply.body) == {"url", "expires_at", "rows", "bytes"}
    assert (reply.body["rows"], reply.body["bytes"]) == (6, len(inline.encode("utf-8")))
    url = reply.body["url"]
    signed = parse_qs(urlsplit(url).query)
    assert signed["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in signed
    expires = datetime.fromisoformat(reply.body["expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=900) <= expires <= before + timedelta(seconds=905)
    # And the link gets the same file (private: in the proofs bucket, under exports/)
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content.decode("utf-8") == inline
    assert fetched.headers["content-type"] == "text/csv; charset=utf-8"
    assert fetched.headers["content-disposition"] == (
        f'attachment; filename="invoices-{_today()}-{_today()}.csv"')
    [key] = list(_s3().buckets[get_settings().proof_bucket].keys)
    assert key.startswith(f"exports/invoices-{_today()}-{_today()}-") and key.endswith(".csv")
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403  # unsigned: refused
    assert "Scan" not in ddb_calls


def test_the_size_that_counts_is_what_the_response_carries(api: Api, customers: dict[str, Any]) -> None:
    # The Urdu name is 2 bytes a letter in UTF-8 but 6 in the function's JSON response (\\uXXXX)
    text = _csv(_export(api, "invoices", customers["admin"]))[0]
    carried = len(json.dumps(text)) - 2
    assert carried > len(text.encode("utf-8"))
    with environment(EXPORT_INLINE_MAX_BYTES=str(carried)):
        assert _export(api, "invoices", customers["admin"]).headers["content-type"].startswith("text/csv")
    with environment(EXPORT_INLINE_MAX_BYTES=str(carried - 1)):
        assert _export(api, "invoices", customers["admin"]).headers["content-type"] == "application/json"


@pytest.mark.parametrize("name", ["invoices", "payments", "ledger", "money-ledger"])
def test_exports_are_for_owners_only(api: Api, customers: dict[str, Any], name: str,
                                    role_token: Callable[[str], str]) -> None:
    user = customers["signups"]["plus@example.com"]["access_token"]
    assert_error(_export(api, name, user), 403, "forbidden")
    for role in ("viewer", "approver"):
        token = role_token(role)
        error = assert_error(_export(api, name, token), 403, "insufficient_role")
        assert error["details"] == {"required": "owner", "role": role}
    assert _export(api, name, customers["admin"]).status == 200
    assert_error(api.get(f"{EXPORTS}/{name}.csv?from={_today()}&to={_today()}"), 401)


def test_every_way_an_item_is_written_puts_it_in_the_month_index(api: Api, customers: dict[str, Any]) -> None:
    # Given the other writers: a consumption and its release (the hot path's own JSON), a payment
    # recorded from a bank statement line, a renewal the jobs issue, a reversal
    admin = customers["admin"]
    account = customers["signups"]["hyper@example.com"]["account"]["id"]
    key = api.post("/api/v1/billing/admin/service-keys", {"name": "backend"}, token=admin).body["key"]
    used = api.post("/api/v1/credits/consume", {"account_id": account, "amount": 5, "reason": "job"},
                    token=key, headers={"idempotency-key": "k1"})
    assert used.status == 200, used.body
    assert api.post("/api/v1/credits/release", {"entry_id": used.body["entry_id"]}, token=key,
                    headers={"idempotency-key": "k2"}).status == 200
    unpaid = customers["signups"]["plus@example.com"]["invoice"]
    statement = (f"Date,Amount,Currency,Description\n{_today()},89.00,USD,"
                 f"{unpaid['payment_reference']}\n").encode()
    imported = api.post("/api/v1/billing/admin/statements", {
        "filename": "s.csv", "content_base64": base64.b64encode(statement).decode()}, token=admin)
    assert imported.status == 201, imported.body
    [line] = api.get(f"/api/v1/billing/admin/statements/{imported.body['id']}/lines",
                     token=admin).body["items"]
    assert api.post(f"/api/v1/billing/admin/statement-lines/{line['id']}/apply", {},
                    token=admin).status == 200
    jobs.run(datetime.now(timezone.utc) + timedelta(days=25))
    assert any(i.kind == "renewal" for i in InvoiceModel.scan())
    recorded = next(p for p in PaymentModel.scan() if p.source == "statement")
    assert api.post(f"/api/v1/billing/admin/payments/{recorded.payment_id}/reverse",
                    {"reason": "Bounced"}, token=admin).status == 200
    # Then every item of the four tables carries its month, as the exports read them
    names = {InvoiceModel: lambda i: i.invoice_id, PaymentModel: lambda p: p.payment_id,
             CreditLedgerModel: lambda e: f"{e.account_id}#{e.entry_id}",
             MoneyLedgerModel: lambda e: f"{e.account_id}#{e.entry_id}"}
    for model, name in names.items():
        items = [model.from_raw_data(raw) for raw in stored_items(model)]
        assert items and all(i.created_month == store.spread(i.created_at[:7], name(i)) for i in items), model
    reasons = {e.reason for e in CreditLedgerModel.scan()}
    assert {"consumed", "released", "payment_reversed"} <= reasons
