"""The invoice PDF (a receipt once paid): opened with a PDF parser (pypdf), it names the seller and
the buyer, the number and dates, the lines and totals, the quotes, the payment reference and how
to pay, and a paid one has the PAID stamp; only the caller's own (404 otherwise), only with a token
(401), only to `Accept: application/pdf` (406). Page 1 is saved as a PNG (pypdfium2) beside the
browser tests' screenshots."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pypdf
import pytest

from chalicelib.billing import documents
from chalicelib.core.money import format_grouped, parse_amount
from chalicelib.storage.models.billing import InvoiceModel
from tests.conftest import BILLING_PK, PROJECT_DIR, Api, PaidSignup
from tests.helpers import assert_error, environment, invoice

SCREENSHOTS = PROJECT_DIR / "test-artifacts" / "screenshots"
PDF = {"accept": "application/pdf"}
QUOTE = {"currency": "PKR", "amount": "24964.50", "rate": "280.50"}
QUOTE_LINE = "Send exactly PKR 24,964.50 (rate 280.50 PKR per USD)"


def pdf_of(api: Api, invoice_id: str, token: str, *, admin: bool = False) -> tuple[str, Any]:
    """The invoice's PDF fetched as the web app does: (its text as pypdf reads it, the reply)."""
    path = f"/api/v1/billing/{'admin/' if admin else ''}invoices/{invoice_id}/pdf"
    reply = api.get(path, token=token, headers=PDF)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/pdf"
    assert reply.body[:5] == b"%PDF-" and reply.body.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(reply.body))
    return "\n".join(page.extract_text() for page in reader.pages), reply


def paid(api: Api, signup: PaidSignup, reference: str = "BT-2025-001") -> dict[str, Any]:
    payment = api.confirm(signup.token, signup.invoice_id, reference=reference).body
    approved = api.approve(api.admin_token(), payment["id"])
    assert approved.status == 200, approved.body
    return payment


def test_an_unpaid_invoice_names_both_parties_its_dates_lines_totals_and_how_to_pay(
        api: Api, paid_signup: PaidSignup) -> None:
    view = api.get(f"/api/v1/billing/invoices/{paid_signup.invoice_id}", token=paid_signup.token).body
    # When its owner downloads the invoice
    with environment(SELLER_NAME="Ledgerline Technologies LLC", SELLER_TAX_ID="EIN 98-7654321",
                     SELLER_ADDRESS="1 Market Street; San Francisco, CA 94105; United States",
                     SELLER_EMAIL="accounts@ledgerline.example"):
        text, reply = pdf_of(api, paid_signup.invoice_id, paid_signup.token)
    # Then it is offered under its number
    number = view["invoice_number"]
    assert reply.headers["content-disposition"] == f'inline; filename="{number}.pdf"'
    # and says who sells and who buys, with their tax ids
    for seller in ("Ledgerline Technologies LLC", "1 Market Street", "San Francisco, CA 94105",
                   "Tax ID: EIN 98-7654321", "accounts@ledgerline.example"):
        assert seller in text, seller
    for buyer in (BILLING_PK["billing_name"], BILLING_PK["address_line1"], "Lahore 54000",
                  "Pakistan", f"Tax ID: {BILLING_PK['tax_id']}", BILLING_PK["billing_email"]):
        assert buyer in text, buyer
    # its title, number, dates, line and totals
    assert "INVOICE" in text and "RECEIPT" not in text and "PAID" not in text
    assert number in text and documents.day(view["created_at"]) in text
    assert documents.day(view["due_date"]) in text and "Awaiting payment" in text
    assert "Starter plan, monthly subscription" in text and "1,000 credits" in text
    assert "Total USD 89.00" in text and "Amount due USD 89.00" in text
    # and how to pay: the reference, each method offered in Pakistan as the invoice page lists them
    assert view["payment_reference"] in text
    names = [m["display_name"] for m in documents.offered_methods("PK")]
    assert names[:4] == ["Bank transfer (Pakistan, IBFT)", "JazzCash", "Easypaisa", "Raast ID"]
    assert "International bank transfer (SWIFT)" not in names  # the country's own replaces it
    for name in names:
        assert name in text, name
    assert "PK36MEZN0001010104567891" in text and "0300-1234567" in text
    assert "Send exactly USD 89.00" in text  # the USD methods
    assert f"/billing/invoices/{paid_signup.invoice_id}" in text  # the web app's page, no token
    assert "Bearer" not in text and paid_signup.token not in text


def test_a_paid_invoice_is_a_receipt_with_the_paid_stamp_and_the_payment_received(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given the invoice paid by bank transfer and approved
    paid(api, paid_signup, reference="MEEZAN-7731")
    view = api.get(f"/api/v1/billing/invoices/{paid_signup.invoice_id}", token=paid_signup.token).body
    # When its owner and an admin download it
    text, _ = pdf_of(api, paid_signup.invoice_id, paid_signup.token)
    admin_text, _ = pdf_of(api, paid_signup.invoice_id, api.admin_token(), admin=True)
    # Then it is the receipt: the PAID stamp with the day, the payment received, nothing to pay
    assert "RECEIPT" in text and "PAID" in text and documents.day(view["paid_at"]) in text
    assert "Payments received" in text and "MEEZAN-7731" in text
    assert "Bank transfer (Pakistan, IBFT)" in text
    assert "Total USD 89.00" in text and "Paid USD 89.00" in text and "Amount due" not in text
    assert "How to pay" not in text and "JazzCash" not in text
    assert view["invoice_number"] in text and view["payment_reference"] in text
    assert admin_text == text


def test_quotes_and_partial_payments_are_shown_when_the_invoice_has_them(
        api: Api, paid_signup: PaidSignup, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a PKR rate, an invoice issued in Pakistan carries its quote, and the PDF says it
    rate = api.request("PUT", "/api/v1/billing/admin/fx-rates/PKR", body={"rate": "280.50"},
                       token=api.admin_token())
    assert rate.status == 200, rate.body
    quoted = api.register("quoted@khan.pk", plan="starter", payment_method="jazzcash").body
    assert invoice(quoted["invoice"]["id"]).quotes[0].amount_minor == 2496450
    text, _ = pdf_of(api, quoted["invoice"]["id"], quoted["access_token"])
    assert QUOTE_LINE in text
    # Given the view of an invoice partly paid, with a quote and what was applied and written off
    plain_view = documents.invoice_view

    def view_with_fields(model: InvoiceModel) -> dict[str, Any]:
        return {**plain_view(model), "status": "partially_paid", "quotes": [QUOTE],
                "amount_paid": "50.00", "written_off": "0.50", "balance_applied": "10.00",
                "amount_due": "28.50"}

    monkeypatch.setattr(documents, "invoice_view", view_with_fields)
    # When it is downloaded
    text, _ = pdf_of(api, paid_signup.invoice_id, paid_signup.token)
    # Then the quote says what exactly to send, and the totals say what is left
    assert QUOTE_LINE in text and "Amount in local currency" in text
    assert "Partially paid" in text and "PAID" not in text
    for line in ("Total USD 89.00", "Paid USD 50.00", "Written off USD 0.50",
                 "Applied from balance USD 10.00", "Amount due USD 28.50"):
        assert line in text, line
    assert "Send exactly USD 28.50" in text  # what is still due, by the USD methods


def test_another_accounts_invoice_is_404_no_token_401_and_a_pdf_needs_its_accept_header(
        api: Api, paid_signup: PaidSignup) -> None:
    path = f"/api/v1/billing/invoices/{paid_signup.invoice_id}/pdf"
    other = api.register("someone@else.example", plan="starter", payment_method="bank_transfer")
    # Another account's invoice is not found, like a missing one; the error is JSON
    assert_error(api.get(path, token=other.body["access_token"], headers=PDF), 404, "invoice_not_found")
    assert_error(api.get("/api/v1/billing/invoices/inv_missing/pdf", token=paid_signup.token,
                         headers=PDF), 404, "invoice_not_found")
    # No token, or a bad one: 401
    assert_error(api.get(path, headers=PDF), 401)
    assert_error(api.get(path, token="not.a.jwt", headers=PDF), 401)
    # Without Accept: application/pdf first (what API Gateway needs to return bytes): 406
    for accept in (None, "*/*", "application/json", "text/html, application/pdf"):
        headers = {"accept": accept} if accept else {}
        error = assert_error(api.get(path, token=paid_signup.token, headers=headers), 406,
                             "not_acceptable")
        assert error["details"] == {"accept": "application/pdf"}
    assert api.get(path, token=paid_signup.token,
                   headers={"accept": "application/pdf;q=1, */*"}).status == 200
    # The admin's route is for admins, and 404 for no such invoice
    admin_path = f"/api/v1/billing/admin/invoices/{paid_signup.invoice_id}/pdf"
    assert_error(api.get(admin_path, token=paid_signup.token, headers=PDF), 403)
    assert_error(api.get("/api/v1/billing/admin/invoices/inv_missing/pdf", token=api.admin_token(),
                         headers=PDF), 404, "invoice_not_found")


def test_each_kind_of_invoice_has_its_line(api: Api, paid_signup: PaidSignup) -> None:
    # Given an active starter subscription: an upgrade to growth and a top-up are invoiced
    paid(api, paid_signup)
    upgrade = api.post("/api/v1/billing/subscription/change", {"plan": "growth"},
                       token=paid_signup.token).body["invoice"]
    topup = api.post("/api/v1/billing/topups", {"pack": "pack_5000", "payment_method": "jazzcash"},
                     token=paid_signup.token).body
    # Then each line says what it is for
    text, _ = pdf_of(api, upgrade["id"], paid_signup.token)
    assert "Upgrade to the Growth plan, prorated" in text and "The rest of the period:" in text
    assert f"Amount due {format_grouped(parse_amount(upgrade['amount']), 'USD')}" in text
    text, _ = pdf_of(api, topup["id"], paid_signup.token)
    assert "Top-up: 5,000 extra credits" in text and "never expire" in text
    assert "Total USD 60.00" in text
    # and a renewal names its period
    renewal = invoice(paid_signup.invoice_id)
    renewal.kind, renewal.period_start, renewal.period_end = (
        "renewal", "2027-01-05T10:00:00.000000Z", "2027-02-05T10:00:00.000000Z")
    line = documents.content(renewal).lines[0]
    assert line.description == "Starter plan, renewal"
    assert line.details == ("Period: 5 Jan 2027 to 5 Feb 2027", "1,000 credits for the period")


def test_a_void_invoice_says_so(api: Api, paid_signup: PaidSignup) -> None:
    stored = invoice(paid_signup.invoice_id)
    stored.status, stored.voided_at = "void", "2026-03-01T00:00:00.000000Z"
    stored.save()
    text, _ = pdf_of(api, paid_signup.invoice_id, paid_signup.token)
    assert "VOID" in text and "Void" in text and "How to pay" not in text and "PAID" not in text


def _png(pixels: bytes, width: int, height: int, stride: int) -> bytes:
    """RGB rows as a PNG file (zlib and struct: no imaging library needed)."""
    rows = b"".join(b"\x00" + pixels[y * stride:y * stride + width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6))
            + chunk(b"IEND", b""))


def screenshot(document: bytes, name: str) -> Path:
    """Page 1 of a PDF rendered by PDFium into test-artifacts/screenshots/<name>.png."""
    import pypdfium2

    page = pypdfium2.PdfDocument(document)[0]
    bitmap = page.render(scale=1.5, rev_byteorder=True)  # RGB
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(_png(bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride))
    return path


def test_page_one_of_an_invoice_and_of_a_receipt_as_pictures(
        api: Api, paid_signup: PaidSignup, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_view = documents.invoice_view
    monkeypatch.setattr(documents, "invoice_view",
                        lambda model: {"quotes": [QUOTE], **plain_view(model)})
    _, unpaid = pdf_of(api, paid_signup.invoice_id, paid_signup.token)
    paid(api, paid_signup)
    _, receipt = pdf_of(api, paid_signup.invoice_id, paid_signup.token)
    for body, name in ((unpaid.body, "invoice-pdf-page-1"), (receipt.body, "receipt-pdf-page-1")):
        path = screenshot(body, name)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
