"""The monthly summary's cost at 100 and at 10,000 payments (`python -m bench.reports`; a section
of `make bench`).

The first 100 payments are real: signups confirmed and approved through the API, so their figures
are written by the approvals' own transactions. The next 9,900 are approvals spread over the last
12 months, 8 methods and 10 countries, whose figures are committed as approvals' transactions
commit them (`chalicelib.reports.aggregates`; 100 approvals of one month per transaction, each to one
random shard): the items a summary reads are the same as 9,900 more real approvals would leave (their number depends on months, shards, methods and
countries, not on payments). Reported per size: the DynamoDB calls of `GET .../reports/summary`
for 12 months, the items they read (at most (1 + methods + countries) x shards a month), the median
latency, and the same calls made with boto3. On moto a Query's time grows with the table, so the
ratio to boto3 is the figure to compare; on DynamoDB a Query costs what it returns.
"""
from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta, timezone

from bench.run import InProcess, Row

SAMPLES = 20
SUMMARY = "/api/v1/billing/admin/reports/summary"
METHODS = ("bank_transfer", "jazzcash", "easypaisa", "raast", "upi", "bkash", "wise", "card")
COUNTRIES = ("PK", "IN", "BD", "AE", "GB", "US", "DE", "FR", "NG", "KE")


def _real_payments(h: InProcess, admin: str, count: int) -> None:
    for _ in range(count):
        status, reply = h.request("POST", f"/api/v1/billing/admin/payments/{h.confirmed_payment()}/approve/",
                                  {"admin_notes": "bench"}, token=admin)
        assert status == 200, reply


def _synthetic_approvals(count: int, per_transaction: int = 100) -> None:
    from chalicelib.core.clock import stamp
    from chalicelib.reports import aggregates
    from chalicelib.storage.store import Tx

    rng = random.Random(10_000)
    now = datetime.now(timezone.utc)
    for batch, start in enumerate(range(0, count, per_transaction)):
        figures = aggregates.Figures()
        days_back = 30 * (batch % 12)  # one month per transaction (at most 19 items each)
        for _ in range(min(per_transaction, count - start)):
            at = stamp(now - timedelta(days=days_back, hours=rng.randrange(24)))
            month, amount = at[:7], rng.choice((8900, 24900, 69900))
            figures.add(month, "approvals", 1)
            figures.add(month, aggregates.hours_bucket(rng.expovariate(1 / 12)), 1)
            for key in (aggregates.TOTALS, f"{aggregates.METHOD}#{rng.choice(METHODS)}",
                        f"{aggregates.COUNTRY}#{rng.choice(COUNTRIES)}"):
                figures.add(month, "collected_minor", amount, key)
        tx = Tx()
        aggregates._write(tx, figures)  # one random shard per transaction, as an approval's
        tx.commit()


def _timed(h: InProcess, admin: str) -> Row:
    """The summary's calls and median latency, and the same (read-only) calls made with boto3."""
    from botocore import xform_name

    app_times, boto3_times, calls = [], [], []
    h.request("GET", SUMMARY, token=admin)  # warm: the admin's role, checked once a minute
    for _ in range(SAMPLES):
        h.recorder.calls.clear()
        h.recorder.on = True
        started = time.perf_counter()
        status, reply = h.request("GET", SUMMARY, token=admin)
        app_times.append(time.perf_counter() - started)
        h.recorder.on = False
        assert status == 200, reply
        calls = list(h.recorder.calls)
        started = time.perf_counter()
        for operation, params in calls:
            getattr(h.boto3, xform_name(operation))(**params)
        boto3_times.append(time.perf_counter() - started)
    return Row("summary, 12 months", [operation for operation, _ in calls],
               statistics.median(app_times) * 1000, statistics.median(boto3_times) * 1000)


def _items_read(row: Row) -> int:
    """The aggregate items the summary's Queries return: every shard and key of the 13 months."""
    from chalicelib.reports import summary
    from chalicelib.storage.models.reports import ReportAggregateModel

    start, _, current = summary.months(None, None)
    months = [summary.ALL] + [summary._month(n) for n in range(start, current + 1)]
    assert len(months) == len(row.calls), (months, row.calls)
    return sum(ReportAggregateModel.count(month) for month in months)


def measure() -> list[tuple[int, Row, int]]:
    """(payments, the summary's row, items read) at 100 and at 10,000 payments."""
    h = InProcess()
    try:
        admin = h.login("admin@example.com", "admin-password-bench")
        found = []
        for payments, add in ((100, lambda: _real_payments(h, admin, 100)),
                              (10_000, lambda: _synthetic_approvals(9_900))):
            add()
            row = _timed(h, admin)
            items = _items_read(row)
            found.append((payments, row, items))
        return found
    finally:
        h.close()


def report() -> None:
    print(f"Reports: the monthly summary for 12 months (medians of {SAMPLES}; boto3 = the same "
          "DynamoDB calls made directly):")
    print(f"{'payments':>9}  {'DynamoDB calls':<14}{'items read':>16}{'app ms':>9}{'boto3 ms':>10}"
          f"{'ratio':>7}")
    for payments, row, items in measure():
        print(f"{payments:>9,}  {len(row.calls):>2} x {row.calls[0]:<9}{items:>16}{row.app_ms:>9.1f}"
              f"{row.boto3_ms:>10.1f}{row.ratio:>7.1f}")
    print()


if __name__ == "__main__":
    report()
