"""An invoice as a PDF document, a receipt once it is paid: what it says (here, as a
`document_content.Content`) and where on the page it goes (`document_layout`, loaded with the PDF
library on the first render).

It says who sells (the SELLER_* settings) and who buys (the invoice's copy of the billing details),
its number and dates, its lines and totals (paid, written off, applied from balance, still due),
the local-currency quotes, and, while it is unpaid, the payment reference and how to pay with each
method offered in the billing country (as the web app's invoice page lists them); once paid, the
payments received and a PAID stamp. Money is formatted from integer minor units, never floats.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.billing.document_content import Content, Line, Method, Received
from chalicelib.billing.invoices import own_invoice
from chalicelib.billing.views import invoice_view
from chalicelib.catalog.plans import methods_for_country, pack
from chalicelib.catalog.views import detail_rows
from chalicelib.core.addresses import place_lines
from chalicelib.core.clock import parse_stamp
from chalicelib.core.config import get_settings
from chalicelib.core.country_names import country_name
from chalicelib.core.errors import NotFound
from chalicelib.core.money import format_grouped, parse_amount
from chalicelib.storage import store
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel
from chalicelib.storage.models.catalog import PlanModel

UNPAID = ("pending", "partially_paid")
STATUS = {"pending": "Awaiting payment", "partially_paid": "Partially paid", "paid": "Paid",
          "void": "Void"}


def own_invoice_pdf(principal: Principal, invoice_id: str) -> tuple[bytes, str]:
    """One of the caller's invoices as a PDF and its file name (404 for another account's)."""
    return pdf(own_invoice(principal, invoice_id))


def invoice_pdf(invoice_id: str) -> tuple[bytes, str]:
    """Any account's invoice as a PDF and its file name (the admins')."""
    invoice = store.get(InvoiceModel, invoice_id)
    if invoice is None:
        raise NotFound("No such invoice.", code="invoice_not_found")
    return pdf(invoice)


def pdf(invoice: InvoiceModel) -> tuple[bytes, str]:
    return render(content(invoice)), f"{invoice.invoice_number}.pdf"


def render(document: Content) -> bytes:
    """The PDF of a document (the page layout and the PDF library load on the first call)."""
    from chalicelib.billing import document_layout

    return document_layout.render(document)


# What the document says -------------------------------------------------------------------------

def content(invoice: InvoiceModel) -> Content:
    """The document of an invoice: the invoice's own fields (through `invoice_view`, so the ones
    added later are read when they are there), its plan's name, and the methods offered in its
    billing country (while unpaid) or the payments approved against it (once some are)."""
    view = invoice_view(invoice) or {}
    status = view.get("status") or invoice.status
    currency = view.get("currency") or invoice.currency
    paid = status == "paid"
    snapshot = view.get("billing_snapshot") or {}
    settings = get_settings()
    return Content(
        title="Receipt" if paid else "Invoice", number=invoice.invoice_number,
        status=STATUS.get(status, status.replace("_", " ").capitalize()), stamp=_stamp(view),
        seller=_seller(), buyer=_buyer(snapshot), facts=_facts(view), currency=currency,
        lines=(_line(invoice, view),), totals=_totals(view), quotes=_quotes(view),
        reference=view.get("payment_reference") if status in UNPAID else None,
        due=day(view.get("due_date")) if status in UNPAID else None,
        methods=_methods(invoice, view) if status in UNPAID else (),
        received=_received(invoice) if status in ("paid", "partially_paid") else (),
        page_url=f"{settings.web_app_url}/billing/invoices/{invoice.invoice_id}",
        contact=settings.seller.email)


def day(value: str | None) -> str | None:
    """An ISO date or timestamp as "4 Mar 2026"."""
    if not value:
        return None
    moment = date.fromisoformat(value) if len(value) == 10 else parse_stamp(value).date()
    return f"{moment.day} {moment:%b %Y}"


def money(amount: Any, currency: str) -> str:
    """A wire amount ("24964.50") as "PKR 24,964.50"; shown as it is if it is not one."""
    try:
        return format_grouped(parse_amount(str(amount)), currency)
    except ValueError:
        return f"{currency} {amount}"


def _nonzero(amount: Any) -> bool:
    try:
        return parse_amount(str(amount)) != 0
    except ValueError:
        return bool(amount)


def _stamp(view: dict[str, Any]) -> tuple[str, ...]:
    if view.get("status") == "paid":
        return ("PAID", day(view.get("paid_at")) or "")
    if view.get("status") == "void":
        return ("VOID",)
    return ()


def _seller() -> tuple[str, ...]:
    seller = get_settings().seller
    return (seller.name, *seller.address, f"Tax ID: {seller.tax_id}", seller.email)


def _buyer(snapshot: dict[str, Any]) -> tuple[str, ...]:
    lines = [snapshot.get("billing_name"), snapshot.get("company"), snapshot.get("address_line1"),
             snapshot.get("address_line2"), *place_lines(snapshot), country_name(snapshot.get("country"))]
    if snapshot.get("tax_id"):
        lines.append(f"Tax ID: {snapshot['tax_id']}")
    lines.append(snapshot.get("billing_email"))
    return tuple(str(line) for line in lines if line)


def _facts(view: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    facts = [("Invoice number", view.get("invoice_number") or ""),
             ("Issue date", day(view.get("created_at")) or ""),
             ("Due date", day(view.get("due_date")) or "")]
    if view.get("paid_at"):
        facts.append(("Paid", day(view["paid_at"]) or ""))
    if view.get("payment_reference"):
        facts.append(("Payment reference", view["payment_reference"]))
    return tuple(facts)


def _period(view: dict[str, Any]) -> str | None:
    start, end = day(view.get("period_start")), day(view.get("period_end"))
    return f"{start} to {end}" if start and end else None


def _line(invoice: InvoiceModel, view: dict[str, Any]) -> Line:
    kind, amount = view.get("kind") or "signup", money(view.get("amount"), invoice.currency)
    period = _period(view)
    if kind == "topup":
        item = pack(invoice.plan)
        name = item["name"] if item else f"Credit pack {invoice.plan}"
        return Line(f"Top-up: {name}", (f"{invoice.plan_credits:,} extra credits, which never "
                                        "expire",), amount)
    plan = store.get(PlanModel, invoice.plan)
    name = plan.name if plan else invoice.plan.replace("_", " ").title()
    if kind == "upgrade":
        credits = invoice.upgrade_credits or 0
        return Line(f"Upgrade to the {name} plan, prorated",
                    tuple(filter(None, (f"The rest of the period: {period}" if period else None,
                                        f"{credits:,} credits added"))), amount)
    what = "renewal" if kind == "renewal" else "monthly subscription"
    details = (f"Period: {period}" if period else "One month from the approval of this payment",
               f"{invoice.plan_credits:,} credits for the period")
    return Line(f"{name} plan, {what}", details, amount)


def _totals(view: dict[str, Any]) -> tuple[tuple[str, str, bool], ...]:
    currency = view.get("currency") or ""
    totals = [("Total", money(view.get("amount"), currency), True)]
    for key, label in (("amount_paid", "Paid"), ("written_off", "Written off"),
                       ("balance_applied", "Applied from balance")):
        if _nonzero(view.get(key)):
            totals.append((label, money(view[key], currency), False))
    if view.get("status") in UNPAID and _nonzero(view.get("amount_due")):
        totals.append(("Amount due", money(view["amount_due"], currency), True))
    return tuple(totals)


def _quote_text(quote: dict[str, Any], currency: str) -> str:
    """'Send exactly PKR 24,964.50 (rate 280.50 PKR per USD)': what is still due in it."""
    local = quote.get("currency") or ""
    return (f"Send exactly {money(quote.get('amount_due') or quote.get('amount'), local)} "
            f"(rate {quote.get('rate')} {local} per {currency})")


def _quotes(view: dict[str, Any]) -> tuple[str, ...]:
    currency = view.get("currency") or ""
    return tuple(_quote_text(quote, currency) for quote in view.get("quotes") or ()
                 if isinstance(quote, dict))


def offered_methods(country: str | None) -> list[dict[str, Any]]:
    """The methods offered in a country as the web app's invoice page lists them: the country's
    own, then the global ones that none of its own replaces (same slug)."""
    methods = methods_for_country(country)
    local = [m for m in methods if m["country"] is not None]
    slugs = {m["payment_method"] for m in local}
    return local + [m for m in methods if m["country"] is None and m["payment_method"] not in slugs]


def _methods(invoice: InvoiceModel, view: dict[str, Any]) -> tuple[Method, ...]:
    currency = view.get("currency") or invoice.currency
    quotes = {q.get("currency"): q for q in view.get("quotes") or () if isinstance(q, dict)}
    due = view.get("amount_due") if _nonzero(view.get("amount_due")) else view.get("amount")
    found = []
    for method in offered_methods(invoice.billing_country or None):
        details = method.get("details") or {}
        local = details.get("currency")
        send = (_quote_text(quotes[local], currency) if local in quotes
                else f"Send exactly {money(due, currency)}" if local in (None, currency) else None)
        found.append(Method(method["display_name"], method.get("instructions") or "",
                            tuple(detail_rows(details)), send))
    return tuple(found)


def _received(invoice: InvoiceModel) -> tuple[Received, ...]:
    with store.guard():
        payments = list(PaymentModel.by_invoice.query(invoice.invoice_id))
    return tuple(Received(day(p.decided_at or p.created_at) or "", p.method_name or p.payment_method,
                          p.manual_reference, format_grouped(p.amount_minor, p.currency))
                 for p in payments if p.status == "succeeded")
