"""Download PDF in the browser: the invoice page saves the invoice's PDF (fetched with the session's
token), a receipt once the payment is approved, and the admin's payment view saves the same
document; the approval email links to the invoice page, with no token in it."""
from __future__ import annotations

import email
import io
import time
import uuid
from email import policy
from pathlib import Path
from typing import Any

import pypdf
from playwright.sync_api import expect

from tests.browser.conftest import links_in, unique_email
from tests.browser.flows import log_in, log_in_as_admin, signup_by_api
from tests.conftest import PASSWORD, http


def _download(page: Any, name: str) -> tuple[str, str]:
    """Click the button named `name`; the file it saves: (its suggested name, its text)."""
    with page.expect_download() as saved:
        page.get_by_role("button", name=name).click()
    download = saved.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-"), data[:40]
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    return download.suggested_filename, text


def test_the_invoice_page_and_the_admins_payment_view_download_the_pdf(web, shot):
    # Given a Starter signup from Pakistan (through the API)
    email_address = unique_email("pdf")
    signup = signup_by_api(web.api, email_address, "PDF Traders (Pvt) Ltd", tax_id="NTN 7654321-0",
                           postal_code="54000")
    invoice, token = signup["invoice"], signup["access_token"]
    number = invoice["invoice_number"]
    web.verify_email(email_address)  # its emails are sent from then on
    # When they open the invoice and download it
    page = web.page()
    page.goto(f"{web.url}/login")
    log_in(page, email_address, PASSWORD)
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    page.goto(f"{web.url}/billing/invoices/{invoice['id']}")
    expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    # (billed to an address in Pakistan's order: the city, then the postal code)
    billed_to = page.locator("section.card").filter(has=page.get_by_role("heading", name="Billed to")).locator("address")
    expect(billed_to.locator("div")).to_have_text(["PDF Traders (Pvt) Ltd", "1 Canal Road", "Lahore 54000", "Pakistan",
                                                   email_address, "Tax ID NTN 7654321-0"])
    shot(page, "invoice-download-pdf")
    filename, text = _download(page, f"Download the invoice {number} as a PDF")
    # Then the PDF is the invoice, named by its number, with how to pay it
    assert filename == f"{number}.pdf"
    assert "INVOICE" in text and number in text and invoice["payment_reference"] in text
    assert "PDF Traders (Pvt) Ltd" in text and "Tax ID: NTN 7654321-0" in text and "JazzCash" in text
    assert "Lahore 54000" in text

    # When the payment is confirmed and approved
    reference = f"IBFT-{uuid.uuid4().hex[:6].upper()}"
    payment = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": reference}, token=token).body
    assert http("POST", f"{web.api}/billing/admin/payments/{payment['id']}/approve", {},
                token=web.admin_token()).status == 200
    # Then the invoice page downloads the receipt, with the PAID stamp and the payment
    page.goto(f"{web.url}/billing/invoices/{invoice['id']}")
    button = page.get_by_role("button", name=f"Download the receipt {number} as a PDF")
    expect(button).to_have_text("Download receipt (PDF)")
    filename, receipt = _download(page, f"Download the receipt {number} as a PDF")
    assert filename == f"{number}.pdf"
    assert "RECEIPT" in receipt and "PAID" in receipt and reference in receipt
    # and the admin's view of the payment downloads the same document
    admin = web.page()
    log_in_as_admin(admin, web.url)
    admin.goto(f"{web.url}/admin/payments/{payment['id']}")
    expect(admin.get_by_role("heading", name=f"Payment {reference}")).to_be_visible()
    shot(admin, "admin-payment-download-pdf")
    filename, admin_copy = _download(admin, f"Download the receipt {number} as a PDF")
    assert filename == f"{number}.pdf" and admin_copy == receipt
    # And the invoice email and the approval email link to the invoice page (where the PDF is),
    # with no token in them
    link = f"{web.url}/billing/invoices/{invoice['id']}"
    assert web.email_with_link(email_address, link) is not None
    deadline = time.monotonic() + 10
    while not (approved := [m for m in _emails(web, email_address) if "approved" in m["Subject"]]):
        assert time.monotonic() < deadline, "no approval email"
        time.sleep(0.25)
    body = approved[0].get_body(preferencelist=("plain",)).get_content()
    assert "receipt, as a PDF" in body and link in links_in(approved[0]) and token not in body
    assert all(token not in m.as_string() for m in _emails(web, email_address))


def _emails(web: Any, recipient: str) -> list[Any]:
    """The emails to `recipient` in the dev mailbox so far."""
    folder = web.stack.mailbox
    messages = [email.message_from_bytes(path.read_bytes(), policy=policy.default)
                for path in sorted(folder.glob("*.eml"))] if folder.is_dir() else []
    return [message for message in messages if message["To"] == recipient]
