"""The Reports page in the browser: after a scripted history (signups from Pakistan and the UK, payments
by Wise, PayPal and JazzCash in PKR approved, one rejected, invoices left unpaid), the owner reads the
charts, and each chart's table and marks say what the API's summary and aging report say; a range
the API refuses shows its error at the field; a CSV export downloads the API's file. A viewer reads
the reports without the export card. Screenshots at desktop and phone (375 px) widths."""
from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, unique_email
from tests.browser.flows import invited_admin, log_in, log_in_as_admin, signup_by_api
from tests.conftest import PASSWORD, http

PHONE_375 = {"width": 375, "height": 812}
MONTHS = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def _tag() -> str:
    return uuid.uuid4().hex[:6].upper()


def _money(amount: str) -> str:
    """"1234.50" -> "$1,234.50" (as the page writes USD)."""
    sign, digits = ("-", amount[1:]) if amount.startswith("-") else ("", amount)
    whole, cents = digits.split(".")
    return f"{sign}${int(whole):,}.{cents}"


def _pay(web: Any, signup: dict[str, Any], method: str, *, currency: str | None = None) -> str:
    """The payer confirms their invoice paid in full (in `currency` at its quote); the payment's id."""
    invoice = signup["invoice"]
    amount = next(q["amount_due"] for q in invoice["quotes"] if q["currency"] == currency) if currency else invoice["amount"]
    body = {"invoice_id": invoice["id"], "payment_method": method, "amount": amount,
            "manual_reference": f"{invoice['payment_reference']} {_tag()}", **({"currency": currency} if currency else {})}
    reply = http("POST", f"{web.api}/billing/admin/payments/confirm", body, token=signup["access_token"])
    assert reply.status == 201, reply.body
    return reply.body["id"]


def _decide(web: Any, payment_id: str, decision: str) -> None:
    notes = {"approve": "In the statement", "reject": "Not in the statement"}[decision]
    reply = http("POST", f"{web.api}/billing/admin/payments/{payment_id}/{decision}", {"admin_notes": notes},
                 token=web.admin_token())
    assert reply.status == 200, reply.body


def _history(web: Any) -> dict[str, Any]:
    """Five signups this month: three paid (Wise and JazzCash in PKR from Lahore, PayPal from London)
    and approved, one whose payment is rejected, one never paid."""
    tag = _tag()
    made = {}
    for key, country, method, currency in (("wise", "PK", "wise", None), ("jazzcash", "PK", "jazzcash", "PKR"),
                                           ("paypal", "GB", "paypal", None), ("rejected", "PK", "wise", None),
                                           ("unpaid", "PK", "bank_transfer", None)):
        billing = {"city": "London", "country": "GB", "postal_code": "SW1A 1AA"} if country == "GB" else {}
        signup = signup_by_api(web.api, unique_email(f"report-{key}"), f"Report {key.title()} {tag}", method=method, **billing)
        made[key] = signup
        if key != "unpaid":
            payment_id = _pay(web, signup, method, currency=currency)
            _decide(web, payment_id, "reject" if key == "rejected" else "approve")
            signup["payment_id"] = payment_id
    return made


def _get(web: Any, path: str, token: str | None = None) -> dict[str, Any]:
    reply = http("GET", f"{web.api}/billing/admin/{path}", token=token or web.admin_token())
    assert reply.status == 200, reply.body
    return reply.body


def _csv(web: Any, name: str, first: str, last: str) -> str:
    """The API's CSV file (inline) of an export, as text."""
    request = urllib.request.Request(f"{web.api}/billing/admin/exports/{name}.csv?from={first}&to={last}",
                                     headers={"Authorization": f"Bearer {web.admin_token()}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/csv"), response.headers
        return response.read().decode("utf-8")


def _cells(page: Any, chart: str) -> dict[str, dict[str, str]]:
    """A chart's table as {row: {series: (text, data-value)}}."""
    return page.locator(f"[data-chart='{chart}'] table.figures").evaluate("""table => {
        const out = {};
        for (const row of table.querySelectorAll('tbody tr, tfoot tr')) {
          out[row.dataset.row] = Object.fromEntries([...row.querySelectorAll('td')].map(
            (td) => [td.dataset.series, [td.textContent.trim(), td.dataset.value]]));
        }
        return out;
    }""")


def _marks(page: Any, chart: str) -> dict[str, str]:
    """A chart's SVG marks as {"series|month-or-bucket": data-value}."""
    return page.locator(f"[data-chart='{chart}'] svg.chart-svg").evaluate("""svg => Object.fromEntries(
        [...svg.querySelectorAll('[data-value]')].map((mark) =>
          [`${mark.dataset.series}|${mark.dataset.month ?? mark.dataset.category}`, mark.dataset.value]))""")


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:g} h"


def _assert_summary(page: Any, summary: dict[str, Any]) -> None:
    """Every chart's table and marks say the summary's figures."""
    months = summary["months"]
    mrr, subs, decisions = _cells(page, "mrr"), _cells(page, "subscriptions"), _cells(page, "decisions")
    by_method, by_country = _cells(page, "by-method"), _cells(page, "by-country")
    assert list(mrr) == [m["month"] for m in months], mrr
    for m in months:
        month = m["month"]
        assert mrr[month]["mrr"] == [_money(m["mrr"]), m["mrr"]]
        for key in ("active_subscriptions", "new_subscriptions", "churned"):
            assert subs[month][key] == [f"{m[key]:,}", str(m[key])], (month, key, subs[month])
        for key in ("approvals", "rejections", "reversals"):
            assert decisions[month][key] == [f"{m[key]:,}", str(m[key])], (month, key, decisions[month])
        for key in ("median_hours_to_decision", "p90_hours_to_decision"):
            value = m[key]
            assert decisions[month][key] == [_hours(value), "" if value is None else f"{value:g}"], (month, key)
        for cells, field in ((by_method, "collected_by_method"), (by_country, "collected_by_country")):
            assert cells[month]["collected"] == [_money(m["collected"]), m["collected"]]
            shown = {key: value for key, (_, value) in cells[month].items() if key != "collected" and value != "0.00"}
            other = shown.pop("other", None)  # the smaller series summed, past five
            assert shown == {k: v for k, v in m[field].items() if k in cells[month]}, (month, field, cells[month])
            rest = [Decimal(v) for k, v in m[field].items() if k not in cells[month]]
            assert (other is None and not rest) or Decimal(other) == sum(rest), (month, field, cells[month])
    # The SVG marks hold the same values: a point per month with a value, a segment per series
    last = months[-1]
    points = _marks(page, "mrr")
    assert points == {f"mrr|{m['month']}": m["mrr"] for m in months}, points
    assert _marks(page, "subscriptions") == {f"active_subscriptions|{m['month']}": str(m["active_subscriptions"])
                                             for m in months}
    median = _marks(page, "decisions")
    assert median == {f"{key}|{m['month']}": f"{m[key]:g}" for m in months
                      for key in ("median_hours_to_decision", "p90_hours_to_decision") if m[key] is not None}, median
    segments = _marks(page, "by-method")
    shown = {k.split("|")[0]: v for k, v in segments.items() if k.endswith(f"|{last['month']}") and v != "0.00"}
    assert {k: v for k, v in shown.items() if k != "other"} == {
        method: amount for method, amount in last["collected_by_method"].items() if method in shown}, segments


def _assert_aging(page: Any, aging: dict[str, Any]) -> None:
    cells = _cells(page, "aging")
    for bucket in aging["buckets"]:
        assert cells[bucket["bucket"]] == {"count": [f"{bucket['count']:,}", str(bucket["count"])],
                                           "amount_due": [_money(bucket["amount_due"]), bucket["amount_due"]]}, cells
    total = aging["total"]
    assert cells["total"] == {"count": [f"{total['count']:,}", str(total["count"])],
                              "amount_due": [_money(total["amount_due"]), total["amount_due"]]}
    assert _marks(page, "aging") == {f"amount_due|{b['bucket']}": b["amount_due"] for b in aging["buckets"]}
    labels = page.locator("[data-chart=aging] svg .bar-label").all_text_contents()
    assert [re.sub(r"\D", "", label) for label in labels] == [str(b["count"]) for b in aging["buckets"]], labels
    rows = page.locator("table.oldest tbody tr")
    expect(rows).to_have_count(len(aging["oldest"]))
    for i, invoice in enumerate(aging["oldest"]):
        row = rows.nth(i)
        assert row.get_attribute("data-invoice") == invoice["id"]
        expect(row.locator("[data-field=invoice_number]")).to_have_text(invoice["invoice_number"])
        expect(row.locator("[data-field=amount_due]")).to_have_text(_money(invoice["amount_due"]))
        expect(row.locator("[data-field=days_past_due]")).to_have_text(str(invoice["days_past_due"]))
        assert row.locator("[data-field=due_date]").get_attribute("data-value") == invoice["due_date"]
        link = row.locator("[data-field=customer] a")
        expect(link).to_have_attribute("href", f"/admin/accounts/{invoice['account_id']}")
        expect(link).to_have_text(invoice["account_name"] or invoice["billing_name"] or invoice["account_id"])


def _fits(page: Any) -> None:
    """Nothing wider than the phone, and no two axis labels of a chart overlap."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_375["width"], f"the page is {width}px wide at {PHONE_375['width']}px"
    overlaps = page.evaluate("""() => [...document.querySelectorAll('.chart-svg')].flatMap((svg) => {
        const boxes = [...svg.querySelectorAll('.chart-x > .tick, .bar-label')].map((t) => t.getBoundingClientRect());
        return boxes.flatMap((a, i) => boxes.slice(i + 1).filter((b) => a.right > b.left && b.right > a.left
          && a.bottom > b.top && b.bottom > a.top).map(() => svg.closest('[data-chart]').dataset.chart));
    })""")
    assert not overlaps, f"labels overlap in {overlaps}"


def test_the_owner_reads_the_reports_as_the_api_says_and_exports_a_csv(web, shot):
    history = _history(web)
    token = web.admin_token()
    summary, aging = _get(web, "reports/summary", token), _get(web, "reports/aging", token)
    this_month = summary["months"][-1]
    assert this_month["approvals"] >= 3 and this_month["rejections"] >= 1, this_month
    assert {"wise", "paypal", "jazzcash"} <= set(this_month["collected_by_method"]), this_month
    assert {"PK", "GB"} <= set(this_month["collected_by_country"]), this_month

    # When the owner opens Reports from the navigation
    owner = web.page()
    log_in_as_admin(owner, web.url)
    owner.get_by_role("navigation").get_by_role("link", name="Reports").click()
    expect(owner.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(owner.locator("[data-chart]")).to_have_count(6)

    # Then the range is the last 12 months, and every chart and its table say the API's figures
    expect(owner.get_by_label("From", exact=True).first).to_have_value(summary["months"][0]["month"])
    assert len(summary["months"]) == 12
    _assert_summary(owner, summary)
    _assert_aging(owner, aging)
    unpaid = owner.locator(f"tr[data-invoice='{history['unpaid']['invoice']['id']}']")
    if any(i["id"] == history["unpaid"]["invoice"]["id"] for i in aging["oldest"]):
        expect(unpaid).to_contain_text(history["unpaid"]["invoice"]["invoice_number"])
    # (each chart is an image with a text alternative and a title, and a legend where it has series)
    for chart in ("mrr", "subscriptions", "by-method", "by-country", "decisions", "aging"):
        image = owner.locator(f"[data-chart='{chart}'] svg[role=img]")
        assert image.get_attribute("aria-label"), chart
        expect(image.locator("> title")).to_have_count(1)
        expect(owner.locator(f"[data-chart='{chart}'] table.figures caption")).not_to_be_empty()
    expect(owner.locator("[data-chart=by-method] .chart-legend li")).to_have_count(
        min(5, len({k for m in summary["months"] for k in m["collected_by_method"]})))
    shot(owner, "reports")

    # When the owner asks for a range the API refuses (from after to), its error shows at the field
    form = owner.locator("[data-range-form]")
    form.get_by_label("From").fill(this_month["month"])
    form.get_by_label("To").fill(summary["months"][-3]["month"])
    form.get_by_role("button", name="Show").click()
    expect(form.locator(".field[data-field=from] .error")).to_have_text("Must not be after `to`.")
    expect(form.get_by_label("From")).to_have_attribute("aria-invalid", "true")
    # And a range it takes (the last 3 months) draws those months, as the API counts them
    form.get_by_label("From").fill(summary["months"][-3]["month"])
    form.get_by_label("To").fill(this_month["month"])
    form.get_by_role("button", name="Show").click()
    expect(owner.locator("[data-summary]")).to_have_attribute("data-from", summary["months"][-3]["month"])
    expect(owner.locator("[data-chart=mrr] table.figures tbody tr")).to_have_count(3)
    expect(form.locator(".field[data-field=from] .error")).to_be_empty()
    short = _get(web, f"reports/summary?from={summary['months'][-3]['month']}&to={this_month['month']}")
    _assert_summary(owner, short)
    assert owner.url.endswith(f"/admin/reports?from={summary['months'][-3]['month']}&to={this_month['month']}")

    # When the owner exports this month's payments
    today = datetime.now(timezone.utc).date().isoformat()
    card = owner.locator("[data-exports]")
    expect(card.get_by_label("From")).to_have_value(f"{today[:8]}01")
    card.get_by_label("From").fill(today)
    card.get_by_label("To").fill(today)
    with owner.expect_download() as downloading:
        card.get_by_role("button", name="Payments CSV").click()
    download = downloading.value
    assert download.suggested_filename == f"payments-{today}-{today}.csv"
    text = download.path().read_bytes().decode("utf-8")  # as is: its rows end in CRLF
    expect(card.locator("[data-export-status]")).to_contain_text(f"Downloaded payments-{today}-{today}.csv")

    # Then the file is the API's: rows that parse, with the history's payments as decided
    assert text == _csv(web, "payments", today, today)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    by_id = {row["id"]: row for row in rows}
    for key, status in (("wise", "succeeded"), ("jazzcash", "succeeded"), ("paypal", "succeeded"), ("rejected", "failed")):
        row = by_id[history[key]["payment_id"]]
        assert (row["status"], row["invoice_id"], row["amount"], row["currency"]) == (
            status, history[key]["invoice"]["id"], history[key]["invoice"]["amount"], "USD"), row
    pkr = by_id[history["jazzcash"]["payment_id"]]
    assert (pkr["local_currency"], pkr["local_amount"]) == ("PKR", history["jazzcash"]["invoice"]["quotes"][0]["amount"]), pkr
    # When a file is too large for one response (the API answers a link to it in S3, here faked on
    # the way back), the page downloads it from the link and says so
    link = "https://proofs.s3.example/exports/ledger-big.csv?X-Amz-Signature=abc"

    def as_link(route: Any) -> None:
        real = route.fetch()
        route.fulfill(response=real, headers={**real.headers, "content-type": "application/json"},
                      body=json.dumps({"url": link, "expires_at": "2026-12-02T18:00:00Z", "rows": 123456, "bytes": 9_000_000}))

    owner.route("**/billing/admin/exports/ledger.csv?*", as_link)
    owner.route(link, lambda route: route.fulfill(status=200, body="account_id,entry_id\r\n", headers={
        "Content-Type": "text/csv", "Content-Disposition": 'attachment; filename="ledger-big.csv"'}))
    with owner.expect_download() as downloading:
        card.get_by_role("button", name="Credit ledger CSV").click()
    assert downloading.value.url == link
    expect(card.locator("[data-export-status]")).to_contain_text("is 8.6 MB (123,456 rows): it downloads from this link")
    expect(card.locator("[data-export-link=ledger]")).to_have_attribute("href", link)
    owner.unroute("**/billing/admin/exports/ledger.csv?*")

    # And a range the API refuses (to before from) shows its error at the field, downloading nothing
    card.get_by_label("From").fill(today)
    card.get_by_label("To").fill(f"{today[:8]}01" if today[8:] != "01" else "2000-01-01")
    card.get_by_role("button", name="Invoices CSV").click()
    expect(card.locator(".field[data-field=from] .error")).to_have_text("Must not be after to.")

    # And on a phone the page fits, the tables fold away and the month labels do not overlap
    phone = web.page(PHONE_375)
    log_in_as_admin(phone, web.url)
    phone.goto(f"{web.url}/admin/reports")
    expect(phone.locator("[data-chart]")).to_have_count(6)
    expect(phone.locator("details.chart-table[open]")).to_have_count(0)
    _assert_summary(phone, summary)
    _fits(phone)
    shot(phone, "reports-phone")
    phone.locator("[data-chart=by-method] details summary").click()
    expect(phone.locator("[data-chart=by-method] table.figures")).to_be_visible()
    _fits(phone)
    owner.set_viewport_size(DESKTOP)


def test_a_viewer_reads_the_reports_but_is_offered_no_export(web, shot):
    viewer_email = invited_admin(web, "Rita Viewer")
    viewer = web.page()
    viewer.goto(f"{web.url}/login")
    log_in(viewer, viewer_email, PASSWORD)
    viewer.get_by_role("navigation").get_by_role("link", name="Reports").click()
    expect(viewer.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(viewer.locator("[data-chart]")).to_have_count(6)
    viewer_token = web.token(viewer_email, PASSWORD)
    _assert_summary(viewer, _get(web, "reports/summary", viewer_token))
    _assert_aging(viewer, _get(web, "reports/aging", viewer_token))
    # No export card, no export button: a note says owners export
    expect(viewer.locator("[data-exports]")).to_have_count(0)
    expect(viewer.get_by_role("heading", name="Export CSV files")).to_have_count(0)
    expect(viewer.get_by_role("button", name=re.compile("CSV"))).to_have_count(0)
    expect(viewer.locator("[data-needs-role=owner].role-note")).to_contain_text("Owners export")
    shot(viewer, "reports-viewer")
    # (and the API refuses them the file anyway)
    today = datetime.now(timezone.utc).date().isoformat()
    refused = http("GET", f"{web.api}/billing/admin/exports/invoices.csv?from={today}&to={today}", token=viewer_token)
    assert (refused.status, refused.body["error"]["code"]) == (403, "insufficient_role"), refused.body
