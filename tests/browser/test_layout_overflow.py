"""Nothing on any screen overflows, on a phone (390×844) or a laptop (1280×900).

One scripted journey visits every screen of the app: the signup steps, the dashboard in each state
(trial, pending payment, payment submitted with a receipt, active), the confirmation modal, billing
and an invoice, and the admin side (console and approval queue, a payment's detail, the reference
lookup, accounts, team, service keys, webhooks, statements, exchange rates, and Reports when the app
has it). On each, at both sizes, the page is no wider than the window, and no element with text is
cut off: an element whose content is wider than its box while its overflow hides, clips or scrolls
it sideways fails, unless it deliberately truncates (`text-overflow: ellipsis`) and carries its full
text in a `title`, or is a wide data table in a labelled scroll region the keyboard reaches (the
Reports page's figure tables on a phone). Each screen is saved as overflow-<screen>-<phone|desktop>.png.
"""
from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, unique_email
from tests.browser.flows import fill_account_step, log_in, log_in_as_admin, signup_by_api
from tests.browser.test_receipts import png
from tests.conftest import PASSWORD, PROJECT_DIR, http

SIZES = {"phone": PHONE, "desktop": DESKTOP}

# Every element that cuts off its text: its content is wider than its box and its overflow hides,
# clips or scrolls it sideways (a scroll box on a page is text out of view). Elements 1 px wide
# are the visually-hidden labels for screen readers. Form controls scroll their own value.
CUT_OFF = """() => {
  const cut = [];
  const root = document.documentElement;
  if (root.scrollWidth > innerWidth) cut.push(`the page is ${root.scrollWidth}px wide in ${innerWidth}px`);
  const skip = new Set(["INPUT", "SELECT", "TEXTAREA", "OPTION", "SCRIPT", "STYLE", "PRE"]);
  for (const el of document.querySelectorAll("body *")) {
    if (skip.has(el.tagName) || el.closest("select")) continue;
    if (!el.textContent.trim() || el.clientWidth <= 1 || !el.getClientRects().length) continue;
    if (el.scrollWidth <= el.clientWidth + 1) continue;
    const style = getComputedStyle(el);
    if (!/hidden|clip|auto|scroll/.test(style.overflowX)) continue;
    if (style.textOverflow === "ellipsis" && el.title.trim()) continue;
    // A wide data table in a labelled scroll region the keyboard reaches scrolls on purpose
    if (el.matches(".scroll-region[tabindex='0'][role='region'][aria-label]") && el.querySelector("table")) continue;
    const name = el.tagName.toLowerCase() + (el.id ? `#${el.id}` : "")
      + [...el.classList].map((c) => `.${c}`).join("");
    cut.push(`${name} (${el.scrollWidth}px in ${el.clientWidth}px, overflow ${style.overflowX}): `
      + el.textContent.trim().replace(/\\s+/g, " ").slice(0, 80));
  }
  // The dialog's buttons: on one line, and in view without scrolling the dialog.
  const dialog = document.querySelector("dialog[open]");
  if (dialog) {
    const buttons = [...dialog.querySelectorAll(".dialog-actions button, form > .actions button")]
      .filter((b) => b.getClientRects().length);
    const tops = new Set(buttons.map((b) => Math.round(b.getBoundingClientRect().top)));
    if (tops.size > 1) cut.push(`the dialog's buttons are on ${tops.size} lines`);
    const submit = dialog.querySelector("button[type=submit]");
    const body = dialog.querySelector(".dialog-body") ?? dialog;
    if (submit && submit.getBoundingClientRect().bottom > Math.min(innerHeight, body.getBoundingClientRect().bottom) + 1)
      cut.push("the dialog's submit button is out of view");
  }
  // Nothing runs out of its card (under the next one).
  for (const card of document.querySelectorAll(".card, .banner")) {
    const edge = card.getBoundingClientRect().right;
    for (const el of card.querySelectorAll("*")) {
      if (!el.getClientRects().length || !el.textContent.trim() || el.closest(".table-wrap, dialog")) continue;
      const right = el.getBoundingClientRect().right;
      if (right > edge + 1) {
        cut.push(`${el.tagName.toLowerCase()}${[...el.classList].map((c) => `.${c}`).join("")} runs ${Math.round(right - edge)}px out of its card: `
          + el.textContent.trim().replace(/\\s+/g, " ").slice(0, 60));
        break;
      }
    }
  }
  return cut;
}"""


def check(page: Any, screen: str, problems: dict[str, list[str]]) -> None:
    """The screen at both sizes: what is cut off at each, and a screenshot of each."""
    shots = PROJECT_DIR / "test-artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.wait_for_timeout(150)  # the layout settles after the resize
        page.evaluate("document.getElementById('toasts')?.replaceChildren()")
        found = page.evaluate(CUT_OFF)
        if found:
            problems[f"{screen} at {size}"] = found
        page.screenshot(path=str(shots / f"overflow-{screen}-{size}.png"), full_page=True, animations="disabled")


def visit(page: Any, url: str, heading: str, screen: str, problems: dict[str, list[str]]) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    check(page, screen, problems)


def test_no_screen_overflows_on_a_phone_or_a_laptop(web):
    problems: dict[str, list[str]] = {}

    # The signup steps, and the dashboard of the account they make (its first invoice to pay)
    email_address = unique_email("overflow")
    user = web.page(PHONE)
    user.goto(f"{web.url}/signup?plan=starter")
    fill_account_step(user, "Starter", "Ayesha Khan", email_address, account_name="Khan Media Overflow Traders")
    check(user, "signup-1-plan-and-account", problems)
    user.get_by_role("button", name="Continue").click()
    expect(user.get_by_role("heading", name="Billing details")).to_be_visible()
    user.get_by_label("Address", exact=True).fill("12 Mall Road, Gulberg III")
    user.get_by_label("City").fill("Lahore")
    user.get_by_label("Postal code").fill("54000")
    user.get_by_label("Country").select_option("PK")
    check(user, "signup-2-billing-details", problems)
    user.get_by_role("button", name="Continue").click()
    expect(user.get_by_role("heading", name="How will you pay?")).to_be_visible()
    user.get_by_role("radio", name="JazzCash").check()
    check(user, "signup-3-payment-method", problems)
    user.get_by_role("button", name="Create account").click()
    expect(user.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    check(user, "dashboard-pending-payment", problems)

    # The confirmation modal, filled in with a receipt
    invoice = http("GET", f"{web.api}/billing/invoices", token=web.token(email_address, PASSWORD)).body["items"][0]
    user.get_by_role("button", name="I have paid — confirm payment").click()
    dialog = user.get_by_role("dialog", name="Confirm your payment")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Bank transaction ID / TID").fill(f"{invoice['payment_reference']} TID 0123456789012")
    dialog.get_by_label("Receipt or screenshot").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": png(600, 900)})
    check(user, "confirm-modal", problems)
    dialog.get_by_role("button", name="Submit confirmation").click()
    expect(dialog).to_be_hidden()
    expect(user.locator("[data-banner=awaiting_approval] [data-proof=attached]")).to_be_visible()
    check(user, "dashboard-payment-submitted", problems)
    visit(user, f"{web.url}/billing", "Billing", "billing-payment-submitted", problems)
    visit(user, f"{web.url}/billing/invoices/{invoice['id']}", invoice["invoice_number"],
          "invoice-payment-submitted", problems)

    # A trial account's dashboard
    trial_email = unique_email("overflow-trial")
    assert http("POST", f"{web.api}/auth/register", {
        "email": trial_email, "password": PASSWORD, "name": "Bilal Ahmed",
        "account_name": "Ahmed Studio"}).status == 201
    trial = web.page(PHONE)
    trial.goto(f"{web.url}/login")
    log_in(trial, trial_email, PASSWORD)
    expect(trial.get_by_role("heading", name="Hello, Bilal")).to_be_visible()
    check(trial, "dashboard-trial", problems)

    # A second payer by bank transfer (its IBAN and account number on the screens), rejected once
    bank_email = unique_email("overflow-bank")
    bank = signup_by_api(web.api, bank_email, "Khan Media Overflow Traders", postal_code="54000")
    first = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": bank["invoice"]["id"], "payment_method": "bank_transfer",
        "amount": bank["invoice"]["amount"], "manual_reference": "IBFT 7700112233"}, token=bank["access_token"])
    assert first.status == 201, first.body
    assert http("POST", f"{web.api}/billing/admin/payments/{first.body['id']}/reject",
                {"admin_notes": "Not in the statement"}, token=web.admin_token()).status == 200
    again = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": bank["invoice"]["id"], "payment_method": "bank_transfer",
        "amount": bank["invoice"]["amount"], "manual_reference": "IBFT 7700112244"}, token=bank["access_token"])
    assert again.status == 201, again.body
    payer = web.page(PHONE)
    payer.goto(f"{web.url}/login")
    log_in(payer, bank_email, PASSWORD)
    expect(payer.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    check(payer, "dashboard-bank-transfer-resubmitted", problems)

    # The admin side
    admin = web.page(PHONE)
    log_in_as_admin(admin, web.url)
    queued = admin.get_by_role("row").filter(has_text=invoice["payment_reference"])
    expect(queued).to_have_count(1)
    check(admin, "admin-console", problems)
    payment = http("GET", f"{web.api}/billing/payments", token=web.token(email_address, PASSWORD)).body["items"][0]
    visit(admin, f"{web.url}/admin/payments/{payment['id']}", "Payment", "admin-payment-detail", problems)
    expect(admin.locator(".timeline")).to_contain_text("Receipt attached (PNG, ")
    expect(admin.locator(".timeline")).not_to_contain_text("bytes")
    visit(admin, f"{web.url}/admin/payments/{again.body['id']}", "Payment", "admin-payment-resubmitted", problems)
    admin.goto(f"{web.url}/admin")
    lookup = admin.locator("[data-lookup]").locator("xpath=..")
    lookup.get_by_label("Payment reference").fill(invoice["payment_reference"])
    lookup.get_by_role("button", name="Find invoice").click()
    expect(admin.locator("[data-lookup] dl")).to_be_visible()
    admin.locator("[data-lookup]").scroll_into_view_if_needed()
    check(admin, "admin-reference-lookup", problems)
    lookup.get_by_label("Payment reference").fill(invoice["payment_reference"].lower().replace("-", " "))
    lookup.get_by_role("button", name="Find invoice").click()
    admin.wait_for_timeout(500)
    check(admin, "admin-reference-lookup-typo", problems)
    visit(admin, f"{web.url}/admin/accounts?q=Overflow", "Accounts", "admin-accounts", problems)
    visit(admin, f"{web.url}/admin/accounts/{bank['account']['id']}", "Khan Media Overflow Traders",
          "admin-account", problems)
    visit(admin, f"{web.url}/admin/team", "Team", "admin-team", problems)
    admin.goto(f"{web.url}/admin")
    keys = admin.get_by_role("heading", name="Service keys")
    expect(keys).to_be_visible()
    keys.scroll_into_view_if_needed()
    check(admin, "admin-service-keys", problems)
    visit(admin, f"{web.url}/admin/webhooks", "Webhooks", "admin-webhooks", problems)
    visit(admin, f"{web.url}/admin/statements", "Bank statements", "admin-statements", problems)
    visit(admin, f"{web.url}/admin/fx-rates", "Exchange rates", "admin-exchange-rates", problems)
    if "/admin/reports" in (PROJECT_DIR / "web" / "js" / "app.js").read_text():
        visit(admin, f"{web.url}/admin/reports", "Reports", "admin-reports", problems)

    # The account once approved: the dashboard and billing say so
    assert http("POST", f"{web.api}/billing/admin/payments/{payment['id']}/approve", {},
                token=web.admin_token()).status == 200
    visit(user, f"{web.url}/dashboard", "Hello, Ayesha", "dashboard-active", problems)
    visit(user, f"{web.url}/billing", "Billing", "billing-active", problems)

    assert not problems, "cut off:\n" + "\n".join(
        f"{screen}:\n  " + "\n  ".join(found) for screen, found in problems.items())
