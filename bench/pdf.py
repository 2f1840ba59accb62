"""The invoice PDF's own cost (`make bench` prints it after the endpoints; alone: `python -m
bench.pdf`): what the first render costs a fresh container, which imports the PDF library (pydyf)
and the layout then (never at `import app`), and what a warm render costs, in CPU time, for a
two-page unpaid invoice from Pakistan (seven ways to pay) and a one-page receipt. The route's
whole median in process, with its DynamoDB calls, is a row of the endpoints' table."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
READS = 30  # samples of the route, as bench.run's reads
# A container that has imported the app (as every API container has) renders its first PDF.
_FIRST = ("import time, app; from bench.pdf import sample; content = sample(True); "
          "t = time.process_time(); from chalicelib.billing import document_layout; "
          "i = time.process_time(); document_layout.render(content); "
          "print(i - t, time.process_time() - i)")
_ENV = {"JWT_SECRET": "x" * 40, "AWS_DEFAULT_REGION": "us-east-1"}


def sample(unpaid: bool) -> Any:
    """An invoice's content as `documents.content` makes it (no store needed)."""
    from chalicelib.billing.document_content import Content, Line, Method, Received

    method = Method("Bank transfer (Pakistan, IBFT)", "Transfer the PKR equivalent of the invoice "
                    "amount by IBFT or Raast to the account below. Write your invoice's payment "
                    "reference in the transfer's description.",
                    (("Account title", "Ledgerline Pakistan (Pvt) Ltd"), ("Bank", "Meezan Bank"),
                     ("IBAN", "PK36MEZN0001010104567891"), ("Currency", "PKR")),
                    "Send exactly PKR 24,964.50 (rate 280.50 PKR per USD)")
    return Content(
        title="Invoice" if unpaid else "Receipt", number="INV-2026-000123",
        status="Awaiting payment" if unpaid else "Paid", stamp=() if unpaid else ("PAID", "4 Mar 2026"),
        seller=("Ledgerline Technologies LLC", "100 Example Street", "Wilmington, DE 19801",
                "Tax ID: EIN 00-0000000", "billing@example.com"),
        buyer=("Khan Media (Pvt) Ltd", "12 Mall Road", "54000 Lahore", "Pakistan",
               "Tax ID: 1234567-8", "billing@khan.pk"),
        facts=(("Invoice number", "INV-2026-000123"), ("Issue date", "2 Mar 2026"),
               ("Due date", "9 Mar 2026"), ("Payment reference", "PR-7K4Q-X9MP")),
        currency="USD",
        lines=(Line("Starter plan, monthly subscription", ("1,000 credits for the period",),
                    "USD 89.00"),),
        totals=(("Total", "USD 89.00", True), ("Amount due", "USD 89.00", True)) if unpaid
        else (("Total", "USD 89.00", True), ("Paid", "USD 89.00", False)),
        quotes=("Send exactly PKR 24,964.50 (rate 280.50 PKR per USD)",),
        reference="PR-7K4Q-X9MP" if unpaid else None, due="9 Mar 2026" if unpaid else None,
        methods=(method,) * 7 if unpaid else (),
        received=() if unpaid else (Received("4 Mar 2026", "Bank transfer (Pakistan, IBFT)",
                                             "BT-2025-001", "USD 89.00"),),
        page_url="https://app.example.com/billing/invoices/inv_123", contact="billing@example.com")


def rows(bench: Any, token: str, invoice_id: str, admin: str) -> list[Any]:
    """The route in process, as rows of bench.run's endpoints table: the unpaid invoice of
    `token`'s signup, and the receipt of another signup, paid and approved."""
    get, pdf = bench.request, "application/pdf"
    paid = bench.register("starter")
    status, payment = get("POST", "/api/v1/billing/admin/payments/confirm/", {
        "invoice_id": paid["invoice"]["id"], "payment_method": "bank_transfer", "amount": "89.00",
        "manual_reference": f"BT-PDF-{paid['invoice']['id'][-8:]}"}, token=paid["access_token"])
    assert status == 201, payment
    assert get("POST", f"/api/v1/billing/admin/payments/{payment['id']}/approve/", {},
               token=admin)[0] == 200
    return [
        bench.measure("invoice PDF (unpaid, PK)", READS, lambda: lambda: get(
            "GET", f"/api/v1/billing/invoices/{invoice_id}/pdf", token=token, accept=pdf), 200),
        bench.measure("invoice PDF (receipt)", READS, lambda: lambda: get(
            "GET", f"/api/v1/billing/invoices/{paid['invoice']['id']}/pdf",
            token=paid["access_token"], accept=pdf), 200),
    ]


def first_render(runs: int = 5) -> tuple[float, float]:
    """Medians (CPU seconds) in fresh processes that imported the app: importing the layout with
    the PDF library, then the first render."""
    imports, renders = [], []
    for _ in range(runs):
        env = {k: v for k, v in os.environ.items() if k != "OUTBOX_STREAM_ARN"}
        out = subprocess.run([sys.executable, "-c", _FIRST], cwd=PROJECT_DIR, check=True,
                             capture_output=True, text=True, env={**env, **_ENV}).stdout.split()
        imports.append(float(out[-2]))
        renders.append(float(out[-1]))
    return statistics.median(imports), statistics.median(renders)


def warm_render(unpaid: bool, samples: int = 30) -> tuple[float, int, int]:
    """(median CPU seconds of a render once loaded, bytes, pages)."""
    import io

    import pypdf

    from chalicelib.billing import document_layout

    content, times, data = sample(unpaid), [], b""
    for _ in range(samples):
        started = time.process_time()
        data = document_layout.render(content)
        times.append(time.process_time() - started)
    return statistics.median(times), len(data), len(pypdf.PdfReader(io.BytesIO(data)).pages)


def report() -> None:
    imported, first = first_render()
    print("Invoice PDF (CPU; the route's whole time is its row above): a container's first render "
          f"imports pydyf and the layout, {imported * 1000:.1f} ms, then renders in "
          f"{first * 1000:.0f} ms (medians of 5 fresh processes that imported the app); warm:")
    for unpaid, what in ((True, "unpaid invoice, 7 ways to pay"), (False, "receipt")):
        seconds, size, pages = warm_render(unpaid)
        print(f"  {what:<32}{seconds * 1000:>6.1f} ms  {size / 1000:>5.1f} kB  {pages} page(s)")
    print()


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_DIR))
    report()
