"""`make bench`'s statement import section (also alone: `python -m bench.statement_import`): what
importing and matching a 5,000-line statement costs, and applying its exact matches.

The store holds SYNTHETIC open invoices (written directly, in batches) with PENDING of them
awaiting approval, and REAL paid-plan signups made through the API. The statement (CSV) has:
exact references with the exact amount for the real signups (what "apply all exact matches"
applies), exact references with a partial amount, mistyped references, pending confirmations'
bank references, amounts alone, and money out.

1. The import request (`POST /api/v1/billing/admin/statements`) in process against moto: its
   DynamoDB calls by operation, lookups (reads) and writes per line, its time, and the same calls
   replayed with a raw boto3 client on the store rewound to just before it (the ratio is what our
   code costs on top of DynamoDB's work), and its parse and match share (CPU, profiled apart).
2. "Apply all exact matches" on it: DynamoDB calls per applied line, time per applied line.
3. What that means on real DynamoDB: the calls of the import at typical single-digit-millisecond
   reads and tens-of-milliseconds transactions of 100 items, against the API's 29-second limit.

Runs with `bench.moto_transactions.item_level_rollback` (stock moto deep-copies every table a
transaction touches, a cost of moto's, not ours).
"""
from __future__ import annotations

import base64
import copy
import sys
import time
from collections import Counter
from contextlib import redirect_stdout
from typing import Any

SYNTHETIC, PENDING, REAL = 3000, 300, 100
LINES = 5000
API_LIMIT_S = 29.0
# Typical latencies on real DynamoDB in the same region (an estimate, not measured here): a read
# (GetItem, Query page, BatchGetItem of 100) and a TransactWriteItems of up to 100 items.
READ_MS, TRANSACTION_MS, WRITE_MS = 8.0, 60.0, 8.0
READS = {"GetItem", "Query", "BatchGetItem", "TransactGetItems", "Scan"}


def _money(minor: int) -> str:
    return f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def synthetic_store(count: int, pending: int) -> list[Any]:
    """Open invoices written directly (no account behind them: matched, never applied), the
    first `pending` with a payment awaiting approval; the invoices."""
    from chalicelib.billing.references import new_reference
    from chalicelib.core.clock import new_id, stamp
    from chalicelib.storage import store
    from chalicelib.storage.models.billing import (OPEN_INVOICE, InvoiceModel, PaymentModel,
                                                   QuoteMap)

    at = stamp()
    invoices = []
    with InvoiceModel.batch_write() as batch, PaymentModel.batch_write() as payments:
        for n in range(count):
            amount = 1000 + n * 7  # all different: an amount suggests one invoice
            invoice = InvoiceModel(
                new_id("inv"), invoice_number=f"INV-2026-{900000 + n}", account_id=new_id("acc"),
                subscription_id=new_id("sub"), status="pending", amount_minor=amount,
                currency="USD", plan="starter", plan_credits=1000,
                billing_snapshot={"billing_name": f"Payer {n}"}, billing_country="PK",
                preferred_payment_method="bank_transfer", due_date=at[:10], created_at=at,
                payment_reference=new_reference(), amount_due_minor=amount, amount_paid_minor=0,
                written_off_minor=0, balance_applied_minor=0,
                quotes=[QuoteMap(currency="PKR", amount_minor=amount * 28050 // 100, rate="280.50")])
            invoice.open = store.spread(OPEN_INVOICE, invoice.invoice_id)
            if n < pending:
                payment = PaymentModel(
                    new_id("pay"), invoice_id=invoice.invoice_id, account_id=invoice.account_id,
                    subscription_id=invoice.subscription_id, status="pending_approval",
                    payment_method="bank_transfer", amount_minor=amount, currency="USD",
                    manual_reference=f"FT{n:06d}ZX", created_at=at,
                    queue=store.spread("pending_approval", f"p{n}"),
                    invoice_reference=invoice.payment_reference)
                invoice.pending_payment_id = payment.payment_id
                payments.save(payment)
            batch.save(invoice)
            invoices.append(invoice)
    return invoices


def mistype(reference: str) -> str:
    """The reference with its last character changed (its check character then fails)."""
    from chalicelib.billing.references import ALPHABET

    last = reference[-1]
    return reference[:-1] + ALPHABET[(ALPHABET.index(last) + 1) % len(ALPHABET)]


def statement(real: list[dict[str, Any]], synthetic: list[Any], pending: int) -> bytes:
    """The CSV of LINES lines (see the module's docstring)."""
    rows = []
    for signup in real:
        invoice = signup["invoice"]
        rows.append((invoice["amount"], f"Invoice {invoice['payment_reference']}", "FTR"))
    for n, invoice in enumerate(synthetic[pending:]):
        if len(rows) < 2100 + len(real):
            rows.append((_money(invoice.amount_minor // 2), f"part of {invoice.payment_reference}", ""))
        elif len(rows) < 2600 + len(real):
            rows.append((_money(invoice.amount_minor), f"inv {mistype(invoice.payment_reference)}", ""))
        else:
            rows.append((_money(invoice.amount_minor), f"monthly fee {n}", ""))
    for invoice in synthetic[:pending]:
        rows.append((_money(invoice.amount_minor), f"IBFT {invoice.invoice_number} FT{int(invoice.invoice_number[-6:]) - 900000:06d}ZX", ""))
    while len(rows) < LINES:
        rows.append((_money(-(500 + len(rows))), f"card payment {len(rows)}", ""))
    text = "\n".join(f"2026-12-01,{amount},USD,\"{text}\",Payer,{bank or f'B{n}'}"
                     for n, (amount, text, bank) in enumerate(rows[:LINES]))
    return ("Booking date,Amount,Currency,Description,Payer,Bank reference\n" + text + "\n").encode()


def report() -> None:
    from bench import moto_transactions
    from bench.run import InProcess

    bench = InProcess()
    try:
        with moto_transactions.item_level_rollback():
            _report(bench)
    finally:
        bench.close()


def _report(bench: Any) -> None:
    from botocore import xform_name

    with redirect_stdout(bench.devnull):
        synthetic = synthetic_store(SYNTHETIC, PENDING)
    real = [bench.register("starter") for _ in range(REAL)]
    admin = bench.login("admin@example.com", "admin-password-bench")
    data = statement(real, synthetic, PENDING)
    body = {"filename": "bench.csv", "content_base64": base64.b64encode(data).decode()}
    before = copy.deepcopy(bench.backend.tables)
    bench.recorder.calls.clear()
    bench.recorder.on = True
    started, cpu = time.perf_counter(), time.process_time()
    status, reply = bench.request("POST", "/api/v1/billing/admin/statements", body, token=admin)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    bench.recorder.on = False
    assert status == 201, reply
    calls = list(bench.recorder.calls)
    by_op = Counter(operation for operation, _ in calls)
    reads = sum(n for op, n in by_op.items() if op in READS)
    writes = sum(n for op, n in by_op.items() if op not in READS)
    assert by_op["Scan"] == 0
    after = bench.backend.tables
    bench.backend.tables = before
    started = time.perf_counter()
    for operation, params in calls:
        try:
            getattr(bench.boto3, xform_name(operation))(**params)
        except bench.boto3.exceptions.ClientError:
            pass
    replay = time.perf_counter() - started
    bench.backend.tables = after
    parse_match = _parse_and_match(data)
    lines = reply["lines"]
    print(f"Statement import ({lines:,} lines: {REAL} exact for real signups, {SYNTHETIC:,} open "
          f"invoices of which {PENDING} await approval; in process on moto):")
    print(f"  report: {reply['new_lines']:,} new, matched {reply['matched']:,}, suggested "
          f"{reply['suggested']:,}, unmatched {reply['unmatched']:,}, ignored {reply['ignored']:,}")
    print(f"  DynamoDB calls: {len(calls)} ({', '.join(f'{op} {n}' for op, n in by_op.most_common())})")
    print(f"  per line: {reads / lines:.3f} lookups (target <= 0.1), {writes / lines:.3f} writes "
          "(transactions of up to 100 conditional puts)")
    print(f"  time: {wall:.2f} s wall, {cpu:.2f} s CPU; the same calls with boto3: {replay:.2f} s "
          f"(ratio {wall / replay:.2f}); parsing {parse_match[0]:.2f} s and matching "
          f"{parse_match[1]:.2f} s of it (CPU); {lines / wall:,.0f} lines/s")
    estimate = (sum(n for op, n in by_op.items() if op in READS) * READ_MS
                + by_op["TransactWriteItems"] * TRANSACTION_MS
                + sum(n for op, n in by_op.items() if op not in READS | {"TransactWriteItems"})
                * WRITE_MS) / 1000 + parse_match[0] + parse_match[1]
    print(f"  on real DynamoDB (estimate: {READ_MS:.0f} ms a read, {TRANSACTION_MS:.0f} ms a "
          f"transaction, plus parse and match): about {estimate:.1f} s, against the API's "
          f"{API_LIMIT_S:.0f} s limit: {'synchronous' if estimate < API_LIMIT_S / 3 else 'too close'}")
    bench.recorder.calls.clear()
    bench.recorder.on = True
    started = time.perf_counter()
    status, applied = bench.request("POST", f"/api/v1/billing/admin/statements/{reply['id']}/apply-exact",
                                    token=admin)
    wall = time.perf_counter() - started
    bench.recorder.on = False
    assert status == 200, applied
    ops = Counter(operation for operation, _ in bench.recorder.calls)
    count = max(applied["applied"], 1)
    print(f"Apply all exact matches: {applied['applied']} applied, {applied['skipped']} skipped, "
          f"{len(applied['failed'])} failed; {sum(ops.values()) / count:.1f} DynamoDB calls per "
          f"applied line ({', '.join(f'{op} {n / count:.1f}' for op, n in ops.most_common())}), "
          f"{ops['TransactWriteItems'] / count:.1f} transaction; {wall / count * 1000:.0f} ms each\n")


def _parse_and_match(data: bytes) -> tuple[float, float]:
    """CPU seconds of parsing the file, and of matching its lines against the store's book."""
    from chalicelib.statements import imports, matching
    from chalicelib.statements.parse import parse

    started = time.process_time()
    parsed = parse("bench.csv", data)
    parsing = time.process_time() - started
    book = imports.load_book(parsed, parsed.lines)
    started = time.process_time()
    for line in parsed.lines:
        matching.match(line, book)
    return parsing, time.process_time() - started


def main() -> int:
    from bench.run import machine

    started = time.monotonic()
    print(f"Machine: {machine()}\n")
    report()
    print(f"bench.statement_import took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
