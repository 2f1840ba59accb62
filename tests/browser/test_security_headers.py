"""The web app under its security headers: the page's response carries them, the app's screens run
with no Content-Security-Policy violation (the `web` fixture fails a test on any, as on any console
error), styles set by the app still apply, and no other site can frame the app."""
from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import unique_email
from tests.browser.flows import log_in, log_in_as_admin, signup_by_api
from tests.conftest import PASSWORD


def _directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}


def test_the_page_comes_with_the_security_headers(web: Any) -> None:
    page = web.page()
    response = page.goto(f"{web.url}/login")
    headers = response.headers  # Playwright: lower-case names
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert "camera=()" in headers["permissions-policy"]
    assert "strict-transport-security" not in headers  # plain HTTP
    csp = _directives(headers["content-security-policy"])
    # the API and the proofs bucket (moto's S3, on the DynamoDB endpoint's server) are reachable
    assert csp["connect-src"] == ["'self'", web.stack.base_url, web.stack.dynamodb_endpoint]
    assert csp["img-src"] == ["'self'", "data:", "blob:", web.stack.dynamodb_endpoint]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_user_and_an_admin_go_through_their_screens_with_no_violation(web: Any) -> None:
    email_address = unique_email("csp")
    signup = signup_by_api(web.api, email_address, "Policy Traders")
    page = web.page()
    page.goto(f"{web.url}/login")
    log_in(page, email_address, PASSWORD)
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    page.goto(f"{web.url}/billing")
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    invoice = signup["invoice"]
    page.goto(f"{web.url}/billing/invoices/{invoice['id']}")
    expect(page.get_by_role("heading", name=f"Invoice {invoice['invoice_number']}")).to_be_visible()
    page.get_by_role("button", name="I have paid — confirm payment").click()
    expect(page.get_by_role("dialog", name="Confirm your payment")).to_be_visible()

    admin = web.page()
    log_in_as_admin(admin, web.url)
    admin.goto(f"{web.url}/admin/accounts/{signup['account']['id']}")
    expect(admin.get_by_role("heading", name="Policy Traders")).to_be_visible()
    for tab in (page, admin):
        tab.wait_for_load_state("networkidle")
        assert tab.errors == []  # no console error, no CSP violation


def test_the_styles_the_app_sets_apply_under_the_policy(web: Any) -> None:
    # The login screen's "Forgot password?" line has margin-top:1rem from the app (web/js/dom.js
    # sets it through the CSSOM; a style attribute would be refused by style-src 'self').
    page = web.page()
    page.goto(f"{web.url}/login")
    forgot = page.get_by_role("link", name="Forgot password?").locator("xpath=..")
    expect(forgot).to_have_css("margin-top", "16px")


def test_a_violation_is_an_error_that_fails_the_test(web: Any) -> None:
    page = web.page()
    page.goto(f"{web.url}/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.evaluate("document.body.append(Object.assign(document.createElement('p'), {id: 'x'}));"
                  "document.getElementById('x').setAttribute('style', 'color: red')")
    for _ in range(30):  # the console messages arrive on their own
        if any("CSP violation" in e for e in page.errors):
            break
        page.wait_for_timeout(100)
    assert any("CSP violation: style-src-attr blocked inline" in e for e in page.errors), page.errors
    assert page.evaluate("getComputedStyle(document.getElementById('x')).color") != "rgb(255, 0, 0)"
    page.errors.clear()  # expected here


def test_another_site_cannot_frame_the_app(web: Any) -> None:
    page = web.page()
    page.set_content(f'<iframe id="app" src="{web.url}/login" width="600" height="400"></iframe>')
    page.wait_for_timeout(1500)
    [frame] = [f for f in page.frames if f != page.main_frame]
    # the app's page was refused (Chromium's error page instead), not shown
    assert frame.url.startswith("chrome-error://"), frame.url
    expect(frame.get_by_role("heading", name="Log in")).to_have_count(0)
    assert all("frame-ancestors" in e or "Refused to display" in e for e in page.errors), page.errors
    page.errors.clear()  # the refusal, logged by the browser
