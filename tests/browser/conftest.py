"""Browser tests: Playwright drives Debian's Chromium against the live stack (`python -m devserver`).

One browser for the whole run; each test gets fresh browser contexts (their own storage, so their
own sessions). Screenshots of each screen go to test-artifacts/screenshots/.
"""
from __future__ import annotations

import email
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PROJECT_DIR, LiveStack, http, require_mark

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = PROJECT_DIR / "test-artifacts" / "screenshots"
TIMEOUT_MS = 10_000
# A Content-Security-Policy violation, as an error in the console (so in `page.errors`): Chromium
# logs most of them itself, this names each one, whatever the browser logs.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => console.error(
  `CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
  `(${event.sourceFile || "?"}:${event.lineNumber})`));
"""
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, started once per run (root conftest marks every test here
    `browser`; the fixture fails a test elsewhere that is not)."""
    require_mark("browser", "starts Chromium")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium).")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Web:
    """The live stack as the browser tests use it: the web app, the API, and fresh browser tabs."""

    stack: LiveStack
    browser: Any
    contexts: list[Any]

    @property
    def url(self) -> str:
        return self.stack.web_url

    @property
    def api(self) -> str:
        return f"{self.stack.base_url}/api/v1"

    def page(self, viewport: dict[str, int] = DESKTOP) -> Any:
        """A new tab in a context of its own (its own localStorage, so its own session)."""
        context = self.browser.new_context(viewport=viewport, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.add_init_script(REPORT_CSP_VIOLATIONS)
        page.errors = []  # the app's uncaught exceptions, logged errors, CSP violations; a test fails on any
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("console", lambda message: page.errors.append(message.text)
                if message.type == "error" and not message.text.startswith("Failed to load resource")
                else None)
        return page

    def token(self, email_address: str, password: str) -> str:
        reply = http("POST", f"{self.api}/auth/login", {"email": email_address, "password": password})
        assert reply.status == 200, reply.body
        return reply.body["access_token"]

    def me(self, email_address: str, password: str) -> dict[str, Any]:
        """The account as the API sees it (GET /auth/me)."""
        reply = http("GET", f"{self.api}/auth/me", token=self.token(email_address, password))
        assert reply.status == 200, reply.body
        return reply.body

    def admin_token(self) -> str:
        return self.token(ADMIN_EMAIL, ADMIN_PASSWORD)

    def email_with_link(self, recipient: str, link: str, timeout: float = 10) -> email.message.EmailMessage | None:
        """The email to `recipient` in the dev mailbox that links to `link` (the mail worker drains
        the outbox every second, so wait for it)."""
        deadline = time.monotonic() + timeout
        while True:
            for path in sorted(self.stack.mailbox.glob("*.eml")) if self.stack.mailbox.is_dir() else []:
                message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
                if message["To"] == recipient and link in links_in(message):
                    return message
            if time.monotonic() > deadline:
                return None
            time.sleep(0.25)

    def link_starting(self, recipient: str, prefix: str, timeout: float = 10,
                      after: set[str] | None = None) -> str | None:
        """The newest link to `recipient` in the dev mailbox that starts with `prefix` (and is not
        one of `after`), waiting for the mail worker."""
        deadline = time.monotonic() + timeout
        while True:
            found = []
            for path in sorted(self.stack.mailbox.glob("*.eml")) if self.stack.mailbox.is_dir() else []:
                message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
                if message["To"] == recipient:
                    found += [link for link in links_in(message)
                              if link.startswith(prefix) and link not in (after or set())]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.25)

    def verify_email(self, recipient: str) -> None:
        """Open the verification link the dev mailbox got for `recipient` (through the API): the
        emails held for the address are sent from then on."""
        link = self.link_starting(recipient, f"{self.url}/verify-email?token=")
        assert link, f"no verification email to {recipient}"
        reply = http("POST", f"{self.api}/auth/verify-email", {"token": link.split("token=", 1)[1]})
        assert reply.status == 200, reply.body


@pytest.fixture
def web(live_stack: LiveStack, browser: Any) -> Iterator[Web]:
    """The web app of the shared live stack; the contexts a test opens are closed after it."""
    assert live_stack.web_url, "the live stack serves no web app"
    harness = Web(live_stack, browser, [])
    try:
        yield harness
    finally:
        errors = [error for context in harness.contexts for page in context.pages
                  for error in getattr(page, "errors", [])]
        for context in harness.contexts:
            context.close()
        assert not errors, f"the app threw: {errors}"


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Any, name: str) -> Path:
        page.evaluate("document.getElementById('toasts')?.replaceChildren()")  # no toasts over the screen
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    return save


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.pk"


def links_in(message: email.message.EmailMessage) -> list[str]:
    """Every http(s) link in the text part of an email."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.findall(r"https?://\S+", text)
