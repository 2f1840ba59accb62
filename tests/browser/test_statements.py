"""Bank statements in the browser, in one flow: three customers sign up (through the API); the
admin imports the bank's CSV statement on the Bank statements page with the file picker (after the
browser refused a file over 4 MB and the API a broken one), sees the import report and the lines
with their evidence (an exact reference, one written in lower case with spaces, one with a typo,
money out, a line with no reference), applies all exact matches, then the typo's suggestion and
ignores the rest with a reason; the accounts are active and the invoices paid, as the API says.
The same file dropped on the drop zone again is all duplicates. Screenshots at desktop and phone
widths."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, unique_email
from tests.browser.flows import log_in_as_admin, signup_by_api
from tests.conftest import http

DAY = "2026-12-01"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXY"  # the payment references' (chalicelib.billing.references)
HEADER = "Booking date;Amount;Currency;Description;Payer;Bank reference"
MAX_BYTES = 4 * 1024 * 1024


def _mistyped(reference: str) -> str:
    """The reference with its last character changed to another of the alphabet: the check
    character no longer holds, so it is a typo, never a match."""
    wrong = next(char for char in ALPHABET if char != reference[-1])
    return reference[:-1] + wrong


def _csv(*rows: tuple[str, str, str, str, str]) -> str:
    """A bank's CSV export: (date, amount, description, payer, bank reference) rows in USD."""
    lines = [HEADER, *(f"{day};{amount};USD;{text};{payer};{ref}" for day, amount, text, payer, ref in rows)]
    return "\r\n".join(lines) + "\r\n"


def _get(web: Any, path: str) -> dict[str, Any]:
    reply = http("GET", f"{web.api}/billing/admin/{path}", token=web.admin_token())
    assert reply.status == 200, reply.body
    return reply.body


def _aged_confirmation(web: Any, name: str, bank_reference: str, days: int) -> dict[str, Any]:
    """A signup whose payer confirmed a bank transfer `days` ago: confirmed now through the API,
    then its `created_at` moved back in the stack's DynamoDB (the devserver's clock cannot travel)."""
    signup = signup_by_api(web.api, unique_email("stm-waiting"), name)
    invoice = signup["invoice"]
    confirm = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": bank_reference}, token=signup["access_token"])
    assert confirm.status == 201, confirm.body
    import boto3  # the tests' requirements have it (moto's)

    dynamodb = boto3.resource("dynamodb", endpoint_url=web.stack.dynamodb_endpoint, region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
    then = datetime.now(timezone.utc) - timedelta(days=days, hours=1)
    [table] = [name for name in dynamodb.meta.client.list_tables()["TableNames"] if name.endswith("-payments")]
    dynamodb.Table(table).update_item(
        Key={"payment_id": confirm.body["id"]}, UpdateExpression="SET created_at = :at",
        ExpressionAttributeValues={":at": then.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
    return {"name": name, "account_id": signup["account"]["id"], "payment_id": confirm.body["id"],
            "reference": invoice["payment_reference"]}


def _row(page: Any, text: str) -> Any:
    row = page.locator("table.lines tbody tr").filter(has_text=text)
    expect(row).to_have_count(1)
    return row


def _evidence(row: Any, **expected: str) -> None:
    labels = {"payment_reference": "Payment reference", "amount": "Amount", "bank_reference": "Bank transaction ID / TID",
              "payer": "Payer"}
    for key, value in expected.items():
        badge = row.locator(f"[data-evidence={key}]")
        expect(badge).to_have_attribute("data-value", value)
        expect(badge).to_have_text(f"{labels[key]}: {value.replace('_', ' ')}")


def _report(page: Any, **counts: int) -> None:
    for key, value in counts.items():
        expect(page.locator(f"[data-report] [data-count={key}] .report-value")).to_have_text(str(value))


def test_an_admin_imports_a_statement_and_applies_its_matches(web, shot, tmp_path: Path):
    # Given three customers from Pakistan with a Starter invoice of 89.00 USD each
    tag = uuid.uuid4().hex[:6].upper()
    customers = {}
    for key in ("exact", "spaced", "typo"):
        name = f"{key.title()} Traders {tag}"
        signup = signup_by_api(web.api, unique_email(f"stm-{key}"), name)
        invoice = signup["invoice"]
        assert (invoice["amount"], invoice["currency"], invoice["status"]) == ("89.00", "USD", "pending")
        customers[key] = {"name": name, "account_id": signup["account"]["id"], "invoice": invoice,
                          "reference": invoice["payment_reference"]}
    exact, spaced, typo = customers["exact"], customers["spaced"], customers["typo"]
    mistyped = _mistyped(typo["reference"])
    # And the bank's statement: an exact reference, one in lower case with spaces, a typo, money
    # out and a line with no reference
    statement = _csv(
        (DAY, "89.00", f"Invoice {exact['reference']}", exact["name"], f"FT{tag}1"),
        (DAY, "89.00", f"payment for invoice {spaced['reference'].lower().replace('-', ' ')} thanks",
         spaced["name"], f"FT{tag}2"),
        (DAY, "89.00", f"Invoice {mistyped}", typo["name"], f"FT{tag}3"),
        (DAY, "-12.00", f"Bank charges {tag}", "", f"FT{tag}4"),
        (DAY, "3.33", f"Interest {tag}", "", f"FT{tag}5"))
    path = tmp_path / f"statement-{tag}.csv"
    path.write_text(statement, encoding="utf-8")

    # And a fourth customer's confirmation, made 4 days ago, that no statement line has
    waiting = _aged_confirmation(web, f"Waiting Traders {tag}", f"BT-{tag}", days=4)

    # When the admin opens Bank statements from the admin navigation
    admin = web.page()
    log_in_as_admin(admin, web.url)
    admin.get_by_role("navigation").get_by_role("link", name="Bank statements").click()
    expect(admin.get_by_role("heading", name="Bank statements", exact=True)).to_be_visible()
    upload = admin.locator("[data-statement-upload]")
    picker = upload.get_by_label("Statement file")
    expect(picker).to_have_attribute("accept", ".csv,.sta,.mt940,.940,.xml,.053")
    # Then the confirmation waiting over 3 days is listed, with its account, amount and reference
    section = admin.locator("[data-unmatched-confirmations]")
    expect(section.get_by_role("heading")).to_have_text("Confirmations waiting over 3 days with no statement line")
    row = section.locator(f"[data-unmatched-payment={waiting['payment_id']}]")
    expect(row.get_by_role("link", name=waiting["name"])).to_have_attribute(
        "href", f"/admin/accounts/{waiting['account_id']}")
    expect(row).to_contain_text("$89.00 USD")
    expect(row).to_contain_text(f"BT-{tag}")
    expect(row).to_contain_text(waiting["reference"])
    expect(row.locator("[data-days-waiting]")).to_have_text("4 days")
    expect(row.get_by_role("link", name=f"Review payment BT-{tag}")).to_have_attribute(
        "href", f"/admin/payments/{waiting['payment_id']}")
    shot(admin, "statements-upload")

    # Then a file over 4 MB is refused in the browser, with the API's words, and nothing is sent
    picker.set_input_files({"name": "huge.csv", "mimeType": "text/csv", "buffer": b"x" * (MAX_BYTES + 1)})
    error = upload.locator("[data-upload-error]")
    expect(error).to_have_text("The file is 4,194,305 bytes; a statement may be at most 4 MB (4,194,304 bytes).")
    # And a broken file is refused by the API, with where in the file
    picker.set_input_files({"name": "broken.csv", "mimeType": "text/csv",
                            "buffer": f"{HEADER}\r\n{DAY};abc;USD;x;y;z\r\n".encode()})
    expect(error.locator("[data-error-code=statement_invalid]")).to_have_text("Line 2: 'abc' is not an amount.")
    expect(error.locator("[data-error-where]")).to_have_text("Where in the file: line 2.")
    shot(admin, "statements-upload-error")
    assert all(s["filename"] != "broken.csv" for s in _get(web, "statements?limit=100")["items"])

    # When they pick the statement with the file picker
    picker.set_input_files(str(path))

    # Then its page shows the import report: 5 lines, all new, and how they matched
    expect(admin.get_by_role("heading", name=f"Statement {path.name}")).to_be_visible()
    expect(admin.locator("[data-imported]")).to_contain_text(f"Imported {path.name}")
    _report(admin, lines=5, new_lines=5, duplicate_lines=0, matched=2, suggested=1, unmatched=1, ignored=1)
    statement_id = admin.locator("[data-report]").get_attribute("data-report")
    report = _get(web, f"statements/{statement_id}")
    assert {k: report[k] for k in ("lines", "new_lines", "matched", "suggested", "unmatched", "ignored")} == {
        "lines": 5, "new_lines": 5, "matched": 2, "suggested": 1, "unmatched": 1, "ignored": 1}
    expect(admin.locator("[data-tab=all] .tab-count")).to_have_text("5")
    expect(admin.locator("[data-tab=matched] .tab-count")).to_have_text("2")

    # And the lines with their status, invoice and evidence per criterion
    row_exact = _row(admin, exact["reference"])
    expect(row_exact.locator("[data-line-status]")).to_have_text("Matched")
    expect(row_exact).to_contain_text(exact["invoice"]["invoice_number"])
    account_link = row_exact.get_by_role("link", name=exact["name"])
    expect(account_link).to_have_attribute("href", f"/admin/accounts/{exact['account_id']}")
    _evidence(row_exact, payment_reference="exact", amount="exact", bank_reference="none", payer="exact")
    row_spaced = _row(admin, spaced["reference"].lower().replace("-", " "))
    expect(row_spaced.locator("[data-line-status]")).to_have_text("Matched")
    expect(row_spaced).to_contain_text(spaced["invoice"]["invoice_number"])
    _evidence(row_spaced, payment_reference="exact", amount="exact")
    row_typo = _row(admin, mistyped)
    expect(row_typo.locator("[data-line-status]")).to_have_text("Suggested")
    expect(row_typo).to_contain_text(typo["invoice"]["invoice_number"])
    expect(row_typo.locator("[data-typo]")).to_have_text(f"{mistyped} has a typo")
    _evidence(row_typo, payment_reference="partial", amount="exact", payer="exact")
    row_out = _row(admin, f"Bank charges {tag}")
    expect(row_out.locator("[data-line-status]")).to_have_text("Ignored")
    expect(row_out.locator(".amount-out")).to_have_text("−$12.00 USD")
    expect(row_out).to_contain_text("Money out")
    expect(row_out.get_by_role("button")).to_have_count(0)
    row_interest = _row(admin, f"Interest {tag}")
    expect(row_interest.locator("[data-line-status]")).to_have_text("Unmatched")
    apply_all = admin.get_by_role("button", name="Apply all exact matches (2)")
    expect(apply_all).to_be_enabled()
    shot(admin, "statements-lines-after-import")

    # And at phone width the lines are cards, each cell labelled
    phone = web.page(PHONE)
    log_in_as_admin(phone, web.url)
    phone.goto(f"{web.url}/admin/statements/{statement_id}")
    expect(phone.get_by_role("heading", name=f"Statement {path.name}")).to_be_visible()
    expect(phone.locator("table.lines thead")).to_be_hidden()
    expect(_row(phone, exact["reference"]).locator("[data-evidence=payment_reference]")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide at {PHONE['width']}px"
    shot(phone, "statements-lines-phone")

    # When they apply all exact matches and confirm
    apply_all.click()
    dialog = admin.get_by_role("dialog", name="Apply all exact matches?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Apply 2 lines").click()
    expect(dialog).to_be_hidden()

    # Then the two exact lines are applied, the others left as they were
    expect(admin.locator("[data-apply-result]")).to_contain_text("Applied 2, skipped 0.")
    for row in (row_exact, row_spaced):
        expect(row.locator("[data-line-status]")).to_have_text("Applied")
        expect(row.get_by_role("link", name="Payment")).to_be_visible()
    expect(row_typo.locator("[data-line-status]")).to_have_text("Suggested")
    expect(admin.get_by_role("button", name="Apply all exact matches (0)")).to_be_disabled()
    expect(admin.locator("[data-tab=applied] .tab-count")).to_have_text("2")
    shot(admin, "statements-lines-after-apply-all")
    # And the API says so: each line approved a payment; the invoices are paid, the accounts active
    lines = {line["id"]: line for line in _get(web, f"statements/{statement_id}/lines?limit=100")["items"]}
    assert sorted(line["status"] for line in lines.values()) == [
        "applied", "applied", "ignored", "suggested", "unmatched"]
    for customer in (exact, spaced):
        [line] = [line for line in lines.values() if line["match"]
                  and line["match"]["invoice_id"] == customer["invoice"]["id"]]
        assert line["status"] == "applied" and line["payment_id"], line
        detail = _get(web, f"payments/{line['payment_id']}")
        assert (detail["payment"]["status"], detail["invoice"]["status"], detail["account"]["status"]) == (
            "succeeded", "paid", "active"), detail
        lookup = _get(web, f"invoices/by-reference/{customer['reference']}")
        assert (lookup["invoice"]["status"], lookup["account"]["status"]) == ("paid", "active")
    assert _get(web, f"invoices/by-reference/{typo['reference']}")["invoice"]["status"] == "pending"

    # When they apply the typo's suggestion: the dialog offers the invoice it meant
    row_typo.get_by_role("button", name="Apply").click()
    dialog = admin.get_by_role("dialog", name="Apply this line?")
    expect(dialog.get_by_label("Invoice")).to_have_value(typo["invoice"]["id"])
    shot(admin, "statements-apply-suggestion-dialog")
    dialog.get_by_role("button", name="Apply line").click()
    expect(dialog).to_be_hidden()
    expect(row_typo.locator("[data-line-status]")).to_have_text("Applied")
    lookup = _get(web, f"invoices/by-reference/{typo['reference']}")
    assert (lookup["invoice"]["status"], lookup["account"]["status"]) == ("paid", "active")

    # And an unmatched line asks which invoice it pays (here they cancel)
    row_interest.get_by_role("button", name="Apply").click()
    dialog = admin.get_by_role("dialog", name="Apply this line?")
    expect(dialog.get_by_label("Invoice")).to_have_value("")
    dialog.get_by_role("button", name="Apply line").click()
    expect(dialog.locator(".field[data-field=invoice_id] .error")).to_have_text(
        "Enter the invoice's ID or payment reference.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    # And they ignore the interest line, with the reason (asked for when left out)
    row_interest.get_by_role("button", name="Ignore").click()
    dialog = admin.get_by_role("dialog", name="Ignore this line?")
    dialog.get_by_role("button", name="Ignore line").click()
    expect(dialog.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Reason").fill("Interest from the bank")
    dialog.get_by_role("button", name="Ignore line").click()
    expect(dialog).to_be_hidden()
    expect(row_interest.locator("[data-line-status]")).to_have_text("Ignored")
    expect(row_interest.locator("[data-ignore-reason]")).to_have_text("“Interest from the bank”")
    now = _get(web, f"statements/{statement_id}")["now"]
    assert now == {"matched": 0, "suggested": 0, "unmatched": 0, "ignored": 2, "applied": 3}

    # And the filter shows the applied lines only
    admin.locator("[data-tab=applied]").click()
    expect(admin.locator("[data-tab=applied]")).to_have_attribute("aria-current", "page")
    expect(admin.locator("table.lines tbody tr")).to_have_count(3)
    shot(admin, "statements-lines-applied-filter")

    # When they go back to the list, the statement is there (newest first) with its counts
    admin.get_by_role("link", name="← Bank statements").click()
    listed = admin.locator(f"[data-statement={statement_id}]")
    expect(listed).to_contain_text(path.name)
    expect(listed.locator("[data-count=matched]")).to_have_text("2")
    expect(admin.locator("[data-statement]").first).to_have_attribute("data-statement", statement_id)
    shot(admin, "statements-list")

    # When the same file is dropped on the drop zone, every line is a duplicate
    admin.evaluate("""([name, text]) => {
      const data = new DataTransfer();
      data.items.add(new File([text], name, { type: "text/csv" }));
      const zone = document.querySelector("[data-drop-zone]");
      for (const type of ["dragenter", "dragover", "drop"]) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
      }
    }""", [path.name, statement])
    expect(admin.locator("[data-imported]")).to_contain_text("All of its 5 lines were imported before")
    _report(admin, lines=5, new_lines=0, duplicate_lines=5)
    again = admin.locator("[data-report]").get_attribute("data-report")
    assert again != statement_id
    expect(admin.locator("table.lines")).to_be_hidden()
    assert _get(web, f"statements/{statement_id}")["now"]["applied"] == 3
