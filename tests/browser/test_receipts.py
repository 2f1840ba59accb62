"""Receipts and review hints in the browser: a proof of payment attached in the confirmation modal or
afterwards, refused when it is not an image or PDF; the admin's review of it (preview, "Reference
matches", the rejected payment a resubmission repeats); the confirmation's reference checks shown at the field."""
from __future__ import annotations

import json

import struct
import urllib.request
import uuid
import zlib
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, unique_email
from tests.browser.flows import log_in, log_in_as_admin, open_queued_payment, signup_by_api
from tests.conftest import PASSWORD, http

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXY"  # the payment references' characters


def png(width: int = 240, height: int = 120) -> bytes:
    """A small valid PNG (RGB): a white slip with a green band at the top and grey "text" lines."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def pixel(x: int, y: int) -> bytes:
        if y < 24:
            return b"\x04\x78\x57"
        if y >= 36 and y % 16 < 5 and 16 <= x < width - 16 - (y * 7) % 60:
            return b"\x9a\xa4\xb5"
        return b"\xff\xff\xff"

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def _reference(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6].upper()}"


def _signup(web: Any, prefix: str, account_name: str) -> tuple[str, dict[str, Any], str]:
    """A Starter signup from Pakistan paying by bank transfer (through the API)."""
    email_address = unique_email(prefix)
    signup = signup_by_api(web.api, email_address, account_name)
    return email_address, signup["invoice"], signup["access_token"]


def _confirm(web: Any, token: str, invoice: dict[str, Any], reference: str) -> dict[str, Any]:
    reply = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": reference}, token=token)
    assert reply.status == 201, reply.body
    return reply.body


def _payments(web: Any, email_address: str) -> list[dict[str, Any]]:
    return http("GET", f"{web.api}/billing/payments", token=web.token(email_address, PASSWORD)).body["items"]


def test_receipt_attached_when_confirming_and_the_admin_reviews_it(web, shot):
    # Given a user whose first confirmation was rejected (so the next one repeats its method and amount)
    email_address, invoice, token = _signup(web, "receipt", "Receipt Traders")
    first = _confirm(web, token, invoice, _reference("IBFT"))
    assert http("POST", f"{web.api}/billing/admin/payments/{first['id']}/reject",
                {"admin_notes": "Not in the statement"}, token=web.admin_token()).status == 200
    user = web.page()
    user.goto(f"{web.url}/login")
    log_in(user, email_address, PASSWORD)
    expect(user.locator("[data-banner=rejected]")).to_be_visible()

    # When they confirm again with the payment reference in the bank reference and a PNG receipt
    receipt = png()
    reference = f"{invoice['payment_reference']} TID {uuid.uuid4().hex[:6].upper()}"
    user.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.url)
    user.get_by_role("button", name="Submit payment again").click()
    dialog = user.get_by_role("dialog", name="Confirm your payment")
    expect(dialog.locator("[data-payment-reference]")).to_have_text(invoice["payment_reference"])
    # (the Copy button puts the payment reference on the clipboard; paste it and add the TID)
    dialog.get_by_role("button", name=f"Copy {invoice['payment_reference']}").click()
    expect(user.locator("#toasts")).to_contain_text(f"Copied {invoice['payment_reference']}.")
    dialog.get_by_label("Bank transaction ID / TID").focus()
    user.keyboard.press("Control+V")
    expect(dialog.get_by_label("Bank transaction ID / TID")).to_have_value(invoice["payment_reference"])
    dialog.get_by_label("Bank transaction ID / TID").fill(reference)
    dialog.get_by_label("Receipt or screenshot").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": receipt})
    shot(user, "confirm-modal-with-receipt")
    dialog.get_by_role("button", name="Submit confirmation").click()

    # Then the confirmation is submitted with its receipt attached
    expect(dialog).to_be_hidden()
    waiting = user.locator("[data-banner=awaiting_approval]")
    expect(waiting).to_contain_text(reference)
    expect(waiting.locator("[data-proof=attached]")).to_contain_text("Receipt attached")
    expect(waiting.get_by_role("button", name="Attach receipt")).to_have_count(0)
    shot(user, "receipt-attached")
    payment = _payments(web, email_address)[0]
    assert (payment["manual_reference"], payment["status"]) == (reference, "pending_approval")
    assert payment["proof"]["content_type"] == "image/png" and payment["proof"]["size"] == len(receipt)

    # When the admin opens the approval queue
    admin = web.page()
    log_in_as_admin(admin, web.url)
    row = admin.get_by_role("row").filter(has_text=reference)
    expect(row).to_have_class("row-match")
    expect(row.locator("[data-hint=reference-matches]")).to_have_text("Payment reference matches")
    expect(row.locator("[data-hint=resubmits]")).to_have_text(
        f"Resubmits …{first['id'][-8:]} — rejected: Not in the statement")
    expect(row.get_by_role("link", name=f"Resubmits rejected payment {first['id']}")).to_be_visible()
    expect(row.locator("[data-hint=near-duplicate]")).to_have_count(0)
    expect(row.locator("[data-owner-email]")).to_have_text(email_address)
    expect(row.locator("td[data-label=Method]")).to_have_text("Bank transfer (Pakistan, IBFT)")
    expect(row.locator("[data-proof=attached]")).to_have_text("Receipt attached")
    row.scroll_into_view_if_needed()
    shot(admin, "admin-queue-flags")

    # Then the payment's detail shows both references, the hints and the receipt
    open_queued_payment(admin, reference)
    expect(admin.locator("[data-bank-reference]")).to_have_text(reference)
    expect(admin.locator("dl.kv [data-payment-reference]")).to_have_text(invoice["payment_reference"])
    expect(admin.locator("[data-hint=reference-matches]")).to_be_visible()
    expect(admin.locator("[data-hint=resubmits]")).to_have_text(
        f"Resubmits {first['id']} — rejected: Not in the statement")
    expect(admin.locator("[data-hint=near-duplicate]")).to_have_count(0)
    receipt_card = admin.locator("[data-receipt=attached]")
    expect(receipt_card).to_contain_text("PNG, ")
    link = receipt_card.get_by_role("link", name="View receipt")
    expect(link).to_have_attribute("target", "_blank")
    preview = receipt_card.get_by_role("img", name="The payer's receipt")
    expect(preview).to_be_visible()
    admin.wait_for_function("document.querySelector('[data-receipt-preview]').naturalWidth > 0")
    assert preview.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [240, 120]
    with urllib.request.urlopen(link.get_attribute("href"), timeout=10) as response:
        assert response.read() == receipt
    shot(admin, "admin-receipt-preview")

    # And the link opens the earlier, rejected payment
    admin.get_by_role("link", name=f"Resubmits rejected payment {first['id']}").click()
    expect(admin.get_by_role("heading", name=f"Payment {first['manual_reference']}")).to_be_visible()
    expect(admin.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "failed")
    expect(admin.locator("[data-receipt=none]")).to_contain_text("No receipt attached.")


def test_a_file_that_is_not_an_image_or_pdf_is_refused(web, shot):
    # Given a user with an invoice to pay, on a phone
    email_address, invoice, _ = _signup(web, "badfile", "Bad File Co")
    user = web.page(viewport=PHONE)
    user.goto(f"{web.url}/login")
    log_in(user, email_address, PASSWORD)

    # When they confirm with a text file renamed .png as the receipt
    reference = _reference("IBFT")
    user.get_by_role("button", name="I have paid — confirm payment").click()
    dialog = user.get_by_role("dialog", name="Confirm your payment")
    dialog.get_by_label("Bank transaction ID / TID").fill(reference)
    dialog.get_by_label("Receipt or screenshot").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": b"This is not a picture of a receipt.\n"})
    dialog.get_by_role("button", name="Submit confirmation").click()

    # Then the confirmation is recorded but the API refuses the file, said at the file field
    file_input = dialog.get_by_label("Receipt or screenshot")
    expect(file_input).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator(".field[data-field=file] .error")).to_have_text("Must be a PNG, JPEG or PDF.")
    expect(dialog.get_by_role("alert")).to_contain_text("Your payment confirmation was submitted, but the receipt was not attached")
    expect(dialog.get_by_role("alert")).to_contain_text("The file is not a PNG, JPEG or PDF")
    expect(dialog.get_by_label("Bank transaction ID / TID")).to_be_hidden()
    expect(dialog.get_by_role("button", name="Attach receipt")).to_be_visible()
    shot(user, "phone-confirm-modal-receipt-refused")
    payments = _payments(web, email_address)
    assert [(p["manual_reference"], p["status"], p["proof"]) for p in payments] == [
        (reference, "pending_approval", None)]

    # When they close the dialog, the banner offers to attach a receipt later; a .txt file is
    # refused before anything is sent
    dialog.get_by_role("button", name="Close — attach it later").click()
    expect(dialog).to_be_hidden()
    waiting = user.locator("[data-banner=awaiting_approval]")
    expect(waiting).to_contain_text(reference)
    attach = waiting.get_by_role("form", name="Attach a receipt")
    attach.get_by_label("Receipt or screenshot").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"notes"})
    attach.get_by_role("button", name="Attach receipt").click()
    expect(attach.locator(".field[data-field=file] .error")).to_have_text("Choose a PNG, JPEG or PDF file.")
    expect(attach.get_by_label("Receipt or screenshot")).to_be_focused()

    # And the renamed text file is refused by the API there too
    attach.get_by_label("Receipt or screenshot").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": b"still not a picture\n"})
    attach.get_by_role("button", name="Attach receipt").click()
    expect(attach.locator(".field[data-field=file] .error")).to_have_text("Must be a PNG, JPEG or PDF.")
    expect(attach.get_by_role("alert")).to_contain_text("The file is not a PNG, JPEG or PDF")
    shot(user, "phone-receipt-refused")
    assert user.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _payments(web, email_address)[0]["proof"] is None

    # Finally a real PNG is attached from the banner
    attach.get_by_label("Receipt or screenshot").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": png(40, 20)})
    attach.get_by_role("button", name="Attach receipt").click()
    expect(waiting.locator("[data-proof=attached]")).to_contain_text("Receipt attached")
    assert _payments(web, email_address)[0]["proof"]["content_type"] == "image/png"


def _taken(route: Any, taken: str, origin: str) -> None:
    """Answer a confirmation of `taken` as the API answers a reference the account already used."""
    if route.request.method != "POST" or json.loads(
            route.request.post_data or "{}").get("manual_reference") != taken:
        return route.continue_()
    return route.fulfill(status=409, content_type="application/json", headers={
        "Access-Control-Allow-Origin": origin}, body=json.dumps({"error": {
        "code": "duplicate_reference", "message": "This reference was already used for another "
        "payment with the same method. Check the reference from your bank, or contact us if you "
        "think this is wrong.", "details": {"fields": {"manual_reference": "already used with "
                                                                          "this method"}}}}))


def test_reference_typo_and_duplicate_reference_are_shown_at_the_reference_field(web, shot):
    # Given a bank reference this account already used with the same method (another account's
    # is accepted and flagged for the admin, so the API's same-account 409 is played back here)
    taken = _reference("IBFT")
    email_address, invoice, _ = _signup(web, "second", "Second Payer")
    user = web.page()
    user.route("**/billing/admin/payments/confirm**", lambda route: _taken(route, taken, web.url))
    user.goto(f"{web.url}/login")
    log_in(user, email_address, PASSWORD)
    user.get_by_role("button", name="I have paid — confirm payment").click()
    dialog = user.get_by_role("dialog", name="Confirm your payment")
    field = dialog.get_by_label("Bank transaction ID / TID")
    error = dialog.locator(".field[data-field=manual_reference] .error")

    # When the reference holds a payment reference with one wrong character
    right = invoice["payment_reference"]
    wrong = right[:-1] + next(c for c in ALPHABET if c != right[-1])
    field.fill(f"{wrong} transfer")
    dialog.get_by_role("button", name="Submit confirmation").click()

    # Then the API's 422 is shown at the reference field, with the right reference beside it
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(error).to_have_text("The payment reference has a typo.")
    expect(dialog.locator(".field[data-field=manual_reference] [data-reference-typo]")).to_contain_text(right)
    expect(dialog.locator("[data-form-alert]")).to_be_empty()
    expect(field).to_be_focused()
    shot(user, "confirm-modal-reference-typo")

    # When the reference was already used with this method, the API's 409 lands there too
    field.fill(taken)
    expect(dialog.locator("[data-reference-typo]")).to_have_count(0)
    dialog.get_by_role("button", name="Submit confirmation").click()
    expect(error).to_have_text("Already used with this method.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_role("alert")).to_contain_text("already used for another payment")
    shot(user, "confirm-modal-duplicate-reference")
    assert _payments(web, email_address) == []

    # And a fresh reference goes through
    field.fill(_reference("IBFT"))
    dialog.get_by_role("button", name="Submit confirmation").click()
    expect(dialog).to_be_hidden()
    expect(user.locator("[data-banner=awaiting_approval]")).to_be_visible()


def test_the_admin_finds_an_invoice_by_the_reference_on_a_statement_line(web, shot):
    # Given an invoice with a confirmed payment, and its payment reference as a statement shows it
    _, invoice, token = _signup(web, "lookup", "Lookup Traders")
    payment = _confirm(web, token, invoice, _reference("HBL"))
    written = invoice["payment_reference"].replace("-", " ").lower()
    admin = web.page()
    log_in_as_admin(admin, web.url)

    # When the admin looks it up in the console
    search = admin.get_by_role("region", name="Find an invoice by payment reference")
    search.get_by_label("Payment reference").fill(written)
    search.get_by_role("button", name="Find invoice").click()

    # Then the invoice and its payment are shown, and the payment opens from there
    result = search.locator("[data-lookup]")
    expect(result).to_contain_text(invoice["invoice_number"])
    expect(result).to_contain_text("Lookup Traders")
    shot(admin, "admin-find-by-reference")
    result.get_by_role("link", name=payment["manual_reference"]).click()
    expect(admin).to_have_url(f"{web.url}/admin/payments/{payment['id']}")

    # And a mistyped reference (two characters swapped) is called a typo at the field
    admin.goto(f"{web.url}/admin")
    code = invoice["payment_reference"].replace("PR-", "").replace("-", "")
    i = next(i for i in range(7) if code[i] != code[i + 1])
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    search = admin.get_by_role("region", name="Find an invoice by payment reference")
    search.get_by_label("Payment reference").fill(f"PR-{swapped[:4]}-{swapped[4:]}")
    search.get_by_role("button", name="Find invoice").click()
    expect(search.locator(".field[data-field=reference] .error")).to_contain_text("not a valid payment reference")
    expect(search.locator("[data-lookup]")).to_be_empty()
    shot(admin, "admin-find-by-reference-typo")
