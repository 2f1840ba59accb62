"""How to pay, on a phone: the IBAN in groups of four that never break inside a group, and a Copy
button by every account number, IBAN, wallet number and Raast ID that copies the value without spaces."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, unique_email
from tests.browser.flows import log_in, signup_by_api
from tests.browser.test_layout_overflow import CUT_OFF
from tests.conftest import PASSWORD

IBAN = "PK36MEZN0001010104567891"  # the Pakistan bank transfer method's (the seed's)
# The Pakistan methods' details a payer copies, as the invoice page lists them
COPIES = {"bank_transfer": ("Copy account number", "Copy IBAN"), "jazzcash": ("Copy wallet number",),
          "easypaisa": ("Copy wallet number",), "raast": ("Copy Raast ID",)}


def test_the_iban_is_grouped_and_every_account_detail_copies_its_raw_value(web, shot):
    # Given a Starter signup from Pakistan paying by bank transfer (through the API), on a phone
    email_address = unique_email("iban")
    invoice = signup_by_api(web.api, email_address, "Iban Traders")["invoice"]
    user = web.page(PHONE)
    user.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.url)
    user.goto(f"{web.url}/login")
    log_in(user, email_address, PASSWORD)

    # Then the dashboard shows the IBAN in groups of four, none of them broken over two lines
    banner = user.locator("[data-banner=payment_due]")
    iban = banner.locator("[data-detail=iban] .detail-value")
    expect(iban).to_have_text("PK36 MEZN 0001 0101 0456 7891")
    groups = iban.locator(".iban-group").evaluate_all(
        "els => els.map((el) => [el.textContent, el.getClientRects().length])")
    assert groups == [[group, 1] for group in ("PK36", "MEZN", "0001", "0101", "0456", "7891")], groups
    # with a Copy button by the account number and by the IBAN
    expect(banner.get_by_role("button", name="Copy account number", exact=True)).to_be_visible()
    expect(banner.get_by_role("button", name="Copy IBAN", exact=True)).to_be_visible()
    # and nothing runs out of the 390 px screen
    assert user.evaluate(CUT_OFF) == []
    shot(user, "phone-dashboard-iban-grouped")

    # When they copy the IBAN
    banner.get_by_role("button", name="Copy IBAN", exact=True).click()
    # Then the clipboard holds it without the spaces
    expect(user.locator("#toasts")).to_contain_text(f"Copied {IBAN}.")
    assert user.evaluate("navigator.clipboard.readText()") == IBAN

    # And on the invoice page every method's account number, IBAN, wallet number and Raast ID has one
    user.goto(f"{web.url}/billing/invoices/{invoice['id']}")
    expect(user.get_by_role("heading", name=f"Invoice {invoice['invoice_number']}")).to_be_visible()
    for method, names in COPIES.items():
        card = user.locator(f".card .pay-method[data-method={method}]")
        for name in names:
            expect(card.get_by_role("button", name=name, exact=True)).to_be_visible()
    copyable = user.locator(".card .pay-method").locator(
        "dd[data-detail=account_number], dd[data-detail=iban], dd[data-detail=wallet_number], dd[data-detail=raast_id]")
    expect(copyable).to_have_count(5)
    expect(copyable.get_by_role("button", name="Copy")).to_have_count(5)
    user.locator(".card .pay-method[data-method=raast]").get_by_role("button", name="Copy Raast ID").click()
    expect(user.locator("#toasts")).to_contain_text("Copied 03001234567.")
    assert user.evaluate("navigator.clipboard.readText()") == "03001234567"
    assert user.evaluate(CUT_OFF) == []
    shot(user, "phone-invoice-method-details")
