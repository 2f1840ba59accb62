"""The admin team in the browser: an owner invites an approver on the Team page, who sets a password
from the emailed link and approves a payment but is not offered the owner's settings; two admins
approve a payment above the single-approval limit; an admin finds accounts by name and invoice
number and suspends and reactivates one; an owner changes roles, disables and enables an admin,
the last owner stays, and a viewer decides nothing. Screenshots at desktop and phone widths."""
from __future__ import annotations

import email
import re
import time
import uuid
from email import policy
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, links_in, unique_email
from tests.browser.flows import log_in, log_in_as_admin, open_queued_payment, signup_by_api
from tests.conftest import ADMIN_EMAIL, PASSWORD, http

INVITATION_LINK = re.compile(r"/accept-invitation\?token=[\w.-]+$")


def _tag() -> str:
    return uuid.uuid4().hex[:6].upper()


def _invitation_link(web: Any, recipient: str, timeout: float = 10) -> str:
    """The set-password link of the invitation email to `recipient` in the dev mailbox (the mail
    worker drains the outbox every second, so wait for it)."""
    deadline = time.monotonic() + timeout
    while True:
        for path in sorted(web.stack.mailbox.glob("*.eml")) if web.stack.mailbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] != recipient:
                continue
            links = [link for link in links_in(message) if INVITATION_LINK.search(link)]
            if links:
                assert links[0].startswith(f"{web.url}/accept-invitation?token="), links
                return links[0]
        assert time.monotonic() < deadline, f"no invitation email to {recipient} in {web.stack.mailbox}"
        time.sleep(0.25)


def _admin_by_api(web: Any, role: str, name: str) -> str:
    """An admin of `role` the owner invited through the API and who accepted through it; their email
    (their password is PASSWORD)."""
    address = unique_email(role)
    invited = http("POST", f"{web.api}/billing/admin/admins", {"email": address, "name": name, "admin_role": role},
                   token=web.admin_token())
    assert invited.status == 201, invited.body
    token = _invitation_link(web, address).split("token=", 1)[1]
    accepted = http("POST", f"{web.api}/auth/invitations/accept", {"token": token, "password": PASSWORD})
    assert accepted.status == 200, accepted.body
    return address


def _confirmed(web: Any, name: str, *, plan: str = "starter") -> dict[str, Any]:
    """A paid signup from Lahore whose payer confirmed a bank transfer, all through the API."""
    signup = signup_by_api(web.api, unique_email("team-payer"), name, plan=plan)
    invoice = signup["invoice"]
    reference = f"BT-{_tag()}"
    confirm = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": reference}, token=signup["access_token"])
    assert confirm.status == 201, confirm.body
    return {"name": name, "account_id": signup["account"]["id"], "invoice": invoice, "reference": reference,
            "payment_id": confirm.body["id"], "email": signup["user"]["email"]}


def _get(web: Any, path: str) -> dict[str, Any]:
    reply = http("GET", f"{web.api}/billing/admin/{path}", token=web.admin_token())
    assert reply.status == 200, reply.body
    return reply.body


def _team(web: Any) -> dict[str, dict[str, Any]]:
    return {admin["email"]: admin for admin in _get(web, "admins")["items"]}


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide at {PHONE['width']}px"


def test_an_owner_invites_an_approver_who_approves_but_is_not_offered_the_owners_settings(web, shot):
    # Given a Starter signup whose payer confirmed the transfer (through the API)
    payer = _confirmed(web, f"Queue Traders {_tag()}")
    approver_email = unique_email("bilal")

    # When the owner opens Team from the navigation and invites an approver
    owner = web.page()
    log_in_as_admin(owner, web.url)
    expect(owner.locator("[data-admin-role]")).to_have_attribute("data-admin-role", "owner")
    owner.get_by_role("navigation").get_by_role("link", name="Team").click()
    expect(owner.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    form = owner.locator("[data-invite-form]")
    form.get_by_label("Email").fill(approver_email)
    form.get_by_label("Name").fill("Bilal Approver")
    form.get_by_label("Role").select_option("approver")
    form.get_by_role("button", name="Send invitation").click()

    # Then the team lists them, invited, as an approver; the API says the same
    row = owner.locator(f"[data-admin='{approver_email}']")
    expect(row.locator("[data-admin-status]")).to_have_text("Invited")
    expect(row).to_contain_text(f"Invited by {ADMIN_EMAIL}")
    expect(row.get_by_label("Role of Bilal Approver")).to_have_value("approver")
    shot(owner, "team-invited")
    invited = _team(web)[approver_email]
    assert (invited["admin_role"], invited["invited"], invited["disabled"]) == ("approver", True, False), invited
    # And inviting the same email again is refused under the email, with the API's words
    form.get_by_label("Email").fill(approver_email)
    form.get_by_label("Name").fill("Bilal Again")
    form.get_by_role("button", name="Send invitation").click()
    expect(form.locator(".field[data-field=email] .error")).to_have_text("Someone already signs in with this email.")

    # When the invitee opens the emailed link in a browser of their own
    link = _invitation_link(web, approver_email)
    approver = web.page()
    approver.goto(link)
    expect(approver.get_by_role("heading", name="Join the admin team")).to_be_visible()
    shot(approver, "accept-invitation")
    # Then two different passwords are refused before anything is sent
    approver.get_by_label("Password", exact=True).fill(PASSWORD)
    approver.get_by_label("Password again").fill(f"{PASSWORD} typo")
    approver.get_by_role("button", name="Accept and sign in").click()
    expect(approver.get_by_label("Password again")).to_have_attribute("aria-invalid", "true")
    expect(approver.locator(".field[data-field=password_again] .error")).to_have_text(
        "The two passwords differ: type the same one twice.")
    # And with the same one twice they are signed in, in the console, as an approver
    approver.get_by_label("Password again").fill(PASSWORD)
    approver.get_by_role("button", name="Accept and sign in").click()
    expect(approver.get_by_role("heading", name="Admin console")).to_be_visible()
    expect(approver).to_have_url(f"{web.url}/admin")
    expect(approver.locator("[data-admin-role]")).to_have_attribute("data-admin-role", "approver")
    nav = approver.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Team")).to_have_count(0)
    expect(nav.get_by_role("link", name="Bank statements")).to_be_visible()
    expect(nav).to_contain_text(approver_email)
    expect(approver.locator("#service-keys")).to_have_count(0)
    shot(approver, "approver-console")
    assert _team(web)[approver_email]["invited"] is False

    # When the approver approves the confirmed payment from the queue
    open_queued_payment(approver, payer["reference"])
    approver.get_by_label("Notes").fill("Verified in the Meezan statement")
    approver.get_by_role("button", name="Approve payment").click()

    # Then it is approved by them, and the account is active, as the API says
    expect(approver.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "succeeded")
    expect(approver.locator("[data-decided=succeeded]")).to_contain_text(f"Decided by {approver_email}")
    detail = _get(web, f"payments/{payer['payment_id']}")
    assert (detail["payment"]["status"], detail["payment"]["decided_by"], detail["account"]["status"]) == (
        "succeeded", approver_email, "active"), detail
    # And reversing it is the owner's: the button is there, disabled, saying so
    reverse = approver.get_by_role("button", name="Reverse payment")
    expect(reverse).to_be_disabled()
    expect(reverse).to_have_attribute("title", "Needs the owner role (you are an approver).")

    # And the Team page, opened directly, says it needs the owner role (the API's words)
    approver.goto(f"{web.url}/admin/team")
    expect(approver.get_by_role("heading", name="Not for your role")).to_be_visible()
    expect(approver.locator("[data-insufficient-role=owner]")).to_contain_text(
        "This needs the owner role; you are an approver.")
    expect(approver.get_by_role("navigation").get_by_role("link", name="Team")).to_have_count(0)
    shot(approver, "approver-team-refused")

    # And the exchange rates are shown without the editor
    approver.get_by_role("navigation").get_by_role("link", name="Exchange rates").click()
    expect(approver.get_by_role("heading", name="Exchange rates", exact=True)).to_be_visible()
    expect(approver.get_by_role("heading", name="Current rates")).to_be_visible()
    expect(approver.get_by_role("heading", name="Set a rate")).to_have_count(0)
    expect(approver.get_by_role("button", name="Set rate")).to_have_count(0)
    expect(approver.locator("[data-rates-read-only]")).to_contain_text("Owners set the exchange rates.")
    shot(approver, "approver-exchange-rates")

    # And the link, used once, says so when opened again
    again = web.page()
    again.goto(link)
    again.get_by_label("Password", exact=True).fill(PASSWORD)
    again.get_by_label("Password again").fill(PASSWORD)
    again.get_by_role("button", name="Accept and sign in").click()
    expect(again.get_by_role("heading", name="This invitation link cannot be used")).to_be_visible()
    expect(again.locator("[data-invalid-invitation]")).to_contain_text("This invitation link is not valid")
    # As does a link cut short
    again.goto(f"{web.url}/accept-invitation?token=abc")
    expect(again.locator("[data-invalid-invitation]")).to_contain_text("The link is incomplete")

    # And the owner's Team page shows them active
    owner.reload()
    expect(owner.locator(f"[data-admin='{approver_email}'] [data-admin-status]")).to_have_text("Active")


def test_two_admins_approve_a_payment_above_the_single_approval_limit(web, shot):
    # Given a Scale signup (699.00 USD, over the 500.00 limit) confirmed through the API, and an approver
    payer = _confirmed(web, f"Scale Works {_tag()}", plan="scale")
    assert (payer["invoice"]["amount"], payer["invoice"]["currency"]) == ("699.00", "USD")
    approver_email = _admin_by_api(web, "approver", "Sana Approver")
    queued = _get(web, f"payments/{payer['payment_id']}")["payment"]
    assert (queued["approvals_required"], queued["approvals"]) == (2, [])

    # When the owner finds it in the queue: it needs two approvals, none given
    owner = web.page()
    log_in_as_admin(owner, web.url)
    row = owner.get_by_role("row").filter(has_text=payer["reference"])
    expect(row.locator("[data-approvals]")).to_have_text("0 of 2 approvals")
    # (a second tab of the owner's, opened on the payment before they approve)
    stale = web.page()
    log_in_as_admin(stale, web.url)
    stale.goto(f"{web.url}/admin/payments/{payer['payment_id']}")
    expect(stale.get_by_role("button", name="Give the first approval")).to_be_enabled()

    open_queued_payment(owner, payer["reference"])
    expect(owner.locator("[data-first-approval=none]")).to_contain_text("This payment needs two approvals")
    shot(owner, "two-approvers-before")
    owner.get_by_role("button", name="Give the first approval").click()

    # Then the first approval is recorded (1 of 2, by the owner) and nothing else changed
    expect(owner.locator("[data-first-approval=mine]")).to_contain_text(
        "First approval recorded: another admin gives the second")
    expect(owner.locator("dl.kv [data-approvals]")).to_contain_text(f"1 of 2 approvals by {ADMIN_EMAIL}")
    second = owner.get_by_role("button", name="Give the second approval")
    expect(second).to_be_disabled()
    expect(owner.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "pending_approval")
    shot(owner, "two-approvers-first-given")
    detail = _get(web, f"payments/{payer['payment_id']}")
    assert detail["payment"]["status"] == "pending_approval", detail["payment"]
    assert [approval["by"] for approval in detail["payment"]["approvals"]] == [ADMIN_EMAIL]
    assert detail["account"]["status"] == "pending_payment", detail["account"]

    # And the owner's other tab, still offering the first approval, is told a second approver is required
    stale.get_by_role("button", name="Give the first approval").click()
    alert = stale.locator("form:has(#approve-title) [data-form-alert]")
    expect(alert).to_have_text("Second approver required: You gave this payment its first approval; "
                               "another admin gives the second.")
    expect(alert).to_have_attribute("data-code", "second_approver_required")
    shot(stale, "two-approvers-second-approver-required")

    # And the queue says 1 of 2, with who
    owner.get_by_role("link", name="← Approval queue").click()
    row = owner.get_by_role("row").filter(has_text=payer["reference"])
    expect(row.locator("[data-approvals]")).to_have_text(f"1 of 2 approvals by {ADMIN_EMAIL}")
    shot(owner, "two-approvers-queue")

    # When the approver logs in and gives the second approval
    approver = web.page()
    approver.goto(f"{web.url}/login")
    log_in(approver, approver_email, PASSWORD)
    expect(approver.get_by_role("heading", name="Admin console")).to_be_visible()
    expect(approver.get_by_role("row").filter(has_text=payer["reference"]).locator("[data-approvals]")).to_have_text(
        f"1 of 2 approvals by {ADMIN_EMAIL}")
    open_queued_payment(approver, payer["reference"])
    expect(approver.locator("[data-first-approval=given]")).to_contain_text(f"{ADMIN_EMAIL} gave the first approval")
    approver.get_by_role("button", name="Give the second approval").click()

    # Then the payment is approved by both, and the account is active (as the API says)
    expect(approver.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "succeeded")
    expect(approver.locator("[data-decided=succeeded]")).to_contain_text(
        f"Approved by {ADMIN_EMAIL} (first approval")
    expect(approver.locator("[data-decided=succeeded]")).to_contain_text(f"and {approver_email}")
    expect(approver.locator("[data-account-status]")).to_have_attribute("data-account-status", "active")
    shot(approver, "two-approvers-approved")
    detail = _get(web, f"payments/{payer['payment_id']}")
    assert detail["payment"]["status"] == "succeeded", detail["payment"]
    assert [approval["by"] for approval in detail["payment"]["approvals"]] == [ADMIN_EMAIL, approver_email]
    account = _get(web, f"accounts/{payer['account_id']}")["account"]
    assert account["status"] == "active", account

    # And on a phone the approved payment fits the screen
    phone = web.page(PHONE)
    phone.goto(f"{web.url}/login?next=/admin/payments/{payer['payment_id']}")
    log_in(phone, approver_email, PASSWORD)
    expect(phone.locator("[data-decided=succeeded]")).to_be_visible()
    _fits(phone)
    shot(phone, "two-approvers-approved-phone")


def test_an_owner_finds_an_account_and_suspends_and_reactivates_it(web, shot):
    # Given an account with a confirmed payment (through the API)
    tag = _tag()
    payer = _confirmed(web, f"Hold Test {tag} Traders")
    number = payer["invoice"]["invoice_number"]

    # When the owner searches the console for part of its name (in lower case)
    owner = web.page()
    log_in_as_admin(owner, web.url)
    search = owner.locator("[data-account-search]")
    search.get_by_label("Search accounts").fill(f"hold test {tag.lower()}")
    search.get_by_role("button", name="Search").click()

    # Then the results list it, with its status, plan and what matched
    expect(owner.get_by_role("heading", name=f"Accounts for “hold test {tag.lower()}”")).to_be_visible()
    result = owner.locator(f"[data-account-result={payer['account_id']}]")
    expect(result).to_contain_text(payer["name"])
    expect(result).to_contain_text("Awaiting payment")
    expect(result).to_contain_text("Starter")
    expect(result.locator("[data-matched=name]")).to_have_text("Name starts with it")
    shot(owner, "accounts-search-by-name")
    # And one character is refused before asking
    owner.get_by_label("Search accounts").fill("h")
    owner.get_by_role("button", name="Search").click()
    expect(owner.locator(".field[data-field=q] .error")).to_have_text("Type at least 2 characters.")

    # When they search by the invoice number, from the Accounts page of the navigation
    owner.get_by_role("navigation").get_by_role("link", name="Accounts").click()
    expect(owner.get_by_role("heading", name="Accounts", exact=True)).to_be_visible()
    owner.get_by_label("Search accounts").fill(number)
    owner.get_by_role("button", name="Search").click()
    result = owner.locator(f"[data-account-result={payer['account_id']}]")
    expect(result.locator("[data-matched=invoice_number]")).to_have_text("Invoice number")
    expect(owner.locator("[data-account-result]")).to_have_count(1)

    # And open the account: its users, invoices, payments (linked) and history
    result.get_by_role("link", name=payer["name"]).click()
    expect(owner).to_have_url(f"{web.url}/admin/accounts/{payer['account_id']}")
    expect(owner.get_by_role("heading", name=payer["name"], exact=True)).to_be_visible()
    expect(owner.locator(f"[data-user='{payer['email']}']")).to_contain_text("Customer")
    expect(owner.locator(f"[data-invoice={payer['invoice']['id']}]")).to_contain_text(number)
    expect(owner.locator(f"[data-invoice={payer['invoice']['id']}]")).to_contain_text("$89.00 USD")
    payment = owner.locator(f"[data-payment={payer['payment_id']}]")
    expect(payment).to_contain_text("Awaiting approval")
    expect(payment.get_by_role("link", name=f"Payment {payer['reference']}")).to_have_attribute(
        "href", f"/admin/payments/{payer['payment_id']}")
    expect(owner.locator("[data-history] .timeline li").first).to_be_visible()
    expect(owner.locator("[data-hold]")).to_have_count(0)
    shot(owner, "account-page")

    # When they suspend it: first without a reason (asked for), then with one
    owner.get_by_role("button", name="Suspend account").click()
    dialog = owner.get_by_role("dialog", name=f"Suspend {payer['name']}?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Suspend account").click()
    expect(dialog.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Reason").fill(f"Chargeback on {number}")
    shot(owner, "account-suspend-dialog")
    dialog.get_by_role("button", name="Suspend account").click()
    expect(dialog).to_be_hidden()

    # Then the page shows the hold, its reason, and the status reactivating gives back
    hold = owner.locator("[data-hold]")
    expect(hold).to_contain_text("Suspended by an admin")
    expect(hold.locator("[data-hold-reason]")).to_have_text(f"Chargeback on {number}")
    expect(hold.locator("[data-status-after=pending_payment]")).to_have_text("Awaiting payment")
    expect(owner.locator("[data-account-status]")).to_have_attribute("data-account-status", "suspended")
    expect(owner.locator("[data-history] [data-action=suspended_by_admin]")).to_contain_text(f"Chargeback on {number}")
    shot(owner, "account-suspended")
    detail = _get(web, f"accounts/{payer['account_id']}")
    assert (detail["account"]["status"], detail["hold"]) == (
        "suspended", {"reason": f"Chargeback on {number}", "status_after": "pending_payment"}), detail["hold"]

    # And on a phone the held account's page fits the screen
    phone = web.page(PHONE)
    log_in_as_admin(phone, web.url)
    phone.goto(f"{web.url}/admin/accounts/{payer['account_id']}")
    expect(phone.locator("[data-hold]")).to_be_visible()
    _fits(phone)
    shot(phone, "account-suspended-phone")

    # When they reactivate it, with a reason
    owner.get_by_role("button", name="Reactivate account").click()
    dialog = owner.get_by_role("dialog", name=f"Reactivate {payer['name']}?")
    dialog.get_by_label("Reason").fill("Dispute settled with the bank")
    dialog.get_by_role("button", name="Reactivate account").click()
    expect(dialog).to_be_hidden()

    # Then the hold is gone and the account has its status back, as the API says
    expect(owner.locator("[data-hold]")).to_have_count(0)
    expect(owner.locator("[data-account-status]")).to_have_attribute("data-account-status", "pending_payment")
    expect(owner.get_by_role("button", name="Suspend account")).to_be_enabled()
    expect(owner.locator("[data-history] [data-action=reactivated_by_admin]")).to_contain_text(
        "Dispute settled with the bank")
    detail = _get(web, f"accounts/{payer['account_id']}")
    assert (detail["account"]["status"], detail["hold"]) == ("pending_payment", None), detail

    # And the payment link opens the payment's page
    owner.get_by_role("link", name=f"Payment {payer['reference']}").click()
    expect(owner.get_by_role("heading", name=f"Payment {payer['reference']}")).to_be_visible()


def test_an_owner_changes_roles_and_disables_an_admin_but_never_the_last_owner(web, shot):
    # Given a viewer (invited and accepted through the API) and a confirmed payment
    viewer_email = _admin_by_api(web, "viewer", "Vera Viewer")
    payer = _confirmed(web, f"Viewer Check {_tag()}")
    owners = [a for a in _team(web).values() if a["admin_role"] == "owner" and not a["disabled"] and not a["invited"]]
    assert [a["email"] for a in owners] == [ADMIN_EMAIL], "these steps need the seeded admin as the only owner"

    # When the viewer opens the payment, they see it but decide nothing: the buttons say why
    viewer = web.page()
    viewer.goto(f"{web.url}/login")
    log_in(viewer, viewer_email, PASSWORD)
    expect(viewer.locator("[data-admin-role]")).to_have_attribute("data-admin-role", "viewer")
    open_queued_payment(viewer, payer["reference"])
    approve = viewer.get_by_role("button", name="Approve payment")
    expect(approve).to_be_disabled()
    expect(approve).to_have_attribute("title", "Needs the approver role (you are a viewer).")
    expect(viewer.get_by_role("button", name="Reject payment")).to_be_disabled()
    expect(viewer.locator("[data-needs-role=approver].role-note")).to_contain_text(
        "Approvers and owners approve or reject payments.")
    shot(viewer, "viewer-payment")
    # And the bank statements page offers no import
    viewer.get_by_role("navigation").get_by_role("link", name="Bank statements").click()
    expect(viewer.get_by_role("heading", name="Bank statements", exact=True)).to_be_visible()
    expect(viewer.locator("[data-statement-upload]")).to_have_count(0)
    expect(viewer.get_by_text("Approvers and owners import statements")).to_be_visible()

    # When the owner makes the viewer an approver on the Team page
    owner = web.page()
    log_in_as_admin(owner, web.url)
    owner.goto(f"{web.url}/admin/team")
    row = owner.locator(f"[data-admin='{viewer_email}']")
    expect(row.locator("[data-admin-status]")).to_have_text("Active")
    row.get_by_label("Role of Vera Viewer").select_option("approver")
    expect(owner.locator("#toasts")).to_contain_text("Vera Viewer is now an approver.")
    assert _team(web)[viewer_email]["admin_role"] == "approver"
    # Then, once their app is loaded again, they may approve
    viewer.goto(f"{web.url}/admin/payments/{payer['payment_id']}")
    expect(viewer.locator("[data-payment-status]")).to_be_visible()
    expect(viewer.get_by_role("button", name="Approve payment")).to_be_enabled()

    # When the owner disables them, after confirming
    row.get_by_role("button", name="Disable Vera Viewer").click()
    dialog = owner.get_by_role("dialog", name="Disable Vera Viewer?")
    expect(dialog).to_contain_text("They can no longer sign in")
    shot(owner, "team-disable-dialog")
    dialog.get_by_role("button", name="Disable admin").click()
    expect(dialog).to_be_hidden()

    # Then they are disabled: listed so, and their login is refused
    expect(row.locator("[data-admin-status]")).to_have_text("Disabled")
    assert _team(web)[viewer_email]["disabled"] is True
    login = http("POST", f"{web.api}/auth/login", {"email": viewer_email, "password": PASSWORD})
    assert login.status == 401, login.body
    # And their open session ends: the next page sends them to the login
    viewer.reload()
    expect(viewer.get_by_role("heading", name="Log in")).to_be_visible()
    expect(viewer.get_by_text("Your session has expired")).to_be_visible()

    # When the owner enables them again
    row.get_by_role("button", name="Enable Vera Viewer").click()
    owner.get_by_role("dialog", name="Enable Vera Viewer?").get_by_role("button", name="Enable admin").click()
    expect(row.locator("[data-admin-status]")).to_have_text("Active")
    assert _team(web)[viewer_email]["disabled"] is False

    # And when the owner, the last one, tries to make themselves a viewer, the API's 409 is shown
    # and their role stays
    me = owner.locator(f"[data-admin='{ADMIN_EMAIL}']")
    me.get_by_role("combobox").select_option("viewer")
    expect(owner.locator("[data-team-alert]")).to_have_text(
        "This is the last owner: make another admin an owner first.")
    expect(me.get_by_role("combobox")).to_have_value("owner")
    # As when they try to disable themselves
    me.get_by_role("button", name=re.compile("^Disable")).click()
    dialog = owner.get_by_role("dialog", name=re.compile("^Disable"))
    dialog.get_by_role("button", name="Disable admin").click()
    expect(dialog.get_by_role("alert")).to_have_text("This is the last owner: make another admin an owner first.")
    shot(owner, "team-last-owner")
    dialog.get_by_role("button", name="Cancel").click()
    assert _team(web)[ADMIN_EMAIL]["admin_role"] == "owner" and not _team(web)[ADMIN_EMAIL]["disabled"]
    shot(owner, "team")

    # And on a phone the Team page fits the screen
    phone = web.page(PHONE)
    log_in_as_admin(phone, web.url)
    phone.goto(f"{web.url}/admin/team")
    expect(phone.locator(f"[data-admin='{viewer_email}']")).to_be_visible()
    _fits(phone)
    shot(phone, "team-phone")


def test_an_owner_reverses_an_approved_payment_with_a_reason(web, shot):
    # Given a starter signup whose payment the owner approved through the API
    payer = _confirmed(web, f"Bounce Traders {_tag()}")
    approved = http("POST", f"{web.api}/billing/admin/payments/{payer['payment_id']}/approve",
                    {"admin_notes": "In the statement"}, token=web.admin_token())
    assert approved.status == 200, approved.body
    # When the owner opens the payment and reverses it, first without a reason
    owner = web.page()
    log_in_as_admin(owner, web.url)
    owner.goto(f"{web.url}/admin/payments/{payer['payment_id']}")
    owner.get_by_role("button", name="Reverse payment").click()
    dialog = owner.locator("dialog[data-dialog=reverse-payment]")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Reverse payment").click()
    expect(dialog).to_contain_text("Give the reason for the reversal")
    dialog.get_by_label("Reason").fill("Chargeback from the bank on Dec 3")
    shot(owner, "reversal-dialog")
    dialog.get_by_role("button", name="Reverse payment").click()
    # Then the payment shows as reversed, and the API says the same of the whole account
    expect(owner.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "reversed")
    expect(owner.locator("[data-decided=reversed] [data-reversal]")).to_have_text(
        re.compile(r"^Reversed by admin@example\.com on .+: Chargeback from the bank on Dec 3$"))
    shot(owner, "reversal-done")
    detail = _get(web, f"payments/{payer['payment_id']}")
    assert detail["payment"]["status"] == "reversed", detail["payment"]
    assert detail["payment"]["reversal"]["reason"] == "Chargeback from the bank on Dec 3"
    account = _get(web, f"accounts/{payer['account_id']}")
    assert account["account"]["status"] == "past_due", account["account"]
    assert [i["status"] for i in account["invoices"]] == ["pending"]
