"""`make bench`'s job sweep (also alone: `python -m bench.sweep`): what the billing jobs cost when
many subscriptions fall due at once, in process against moto.

1. DynamoDB calls per renewal issued: CALLS_DUE active subscriptions whose renewal is due, one
   `jobs.run` at that time, its calls counted by operation (and table/index): what each renewal
   costs, and what a run costs whatever is due (the other jobs' queries).
2. Time per 1,000 due subscriptions: `jobs.run` over TIMED_DUE of them, next to exactly the
   DynamoDB calls it made replayed with boto3 on the store rewound to just before the run (as
   bench.run does per request, but with a client that skips parameter validation, as PynamoDB's
   does); medians of TIMED_SAMPLES. Above RATIO_TARGET (or with --profile), cProfile says where
   the time goes.
3. LARGE_DUE due at once: one run's time against the Lambda's limit. Then CONTINUATION_DUE due
   swept by runs cut short by a CONTINUATION_LIMIT-second time limit, each taking what is still
   due, until one finishes; checked: every subscription got exactly one renewal invoice (and one
   email). (Continuing over LARGE_DUE would double the section's time and show nothing more.)

The subscriptions are copies of real ones: one per paid plan signed up, confirmed and approved
through the API (as of ANCHOR), then its subscription and account items copied as PynamoDB
serializes them, with new ids and the due-index shard their new id hashes to.

Stock moto's TransactWriteItems costs time in proportion to the whole store (it deep-copies every
table it touches): the section runs with `bench.moto_transactions.item_level_rollback`, for our
code and the raw replay alike, and reports what one of the sweep's transactions costs without it.
"""
from __future__ import annotations

import cProfile
import copy
import gc
import io
import pstats
import statistics
import sys
import time
import uuid
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

CALLS_DUE = 200  # section 1
TIMED_DUE, TIMED_SAMPLES = 1000, 2  # section 2
LARGE_DUE = 10_000  # section 3: one run
CONTINUATION_DUE, CONTINUATION_LIMIT = 1000, 2.0  # section 3: runs of at most this many seconds
LAMBDA_LIMIT = 300  # seconds: the billing jobs' Lambda timeout
RATIO_TARGET = 1.5
STOCK_SAMPLES = 3  # transactions timed with moto's own (whole-table) rollback backup
PAID_PLANS = {"starter": "89.00", "growth": "249.00", "scale": "699.00"}
ANCHOR = datetime(2027, 1, 31, 10, 0, tzinfo=timezone.utc)  # the templates' first approval


# The store -------------------------------------------------------------------------------------

@dataclass
class Run:
    """One `jobs.run`: its report, how long it took, the DynamoDB calls it made."""

    report: Any
    seconds: float  # wall clock (what the jobs' time limit counts)
    cpu: float  # this process's CPU time (what other processes on the machine do not inflate)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def renewals(self) -> list[str]:
        return list(self.report.steps.get("renewal_issued", []))


class Due:
    """Active subscriptions whose renewal is due, made by copying real ones (see the docstring)."""

    def __init__(self, bench: Any) -> None:
        import boto3
        from botocore.config import Config

        from chalicelib.core import clock
        from chalicelib.core.clock import parse_stamp
        from chalicelib.storage.models.accounts import AccountModel
        from chalicelib.storage.models.billing import SubscriptionModel

        self.bench = bench
        admin = bench.login("admin@example.com", "admin-password-bench")
        self.templates: list[tuple[dict[str, Any], dict[str, Any]]] = []
        ids = []
        with clock.travel(ANCHOR):
            for plan, amount in PAID_PLANS.items():
                signup = bench.register(plan)
                status, payment = bench.request("POST", "/api/v1/billing/admin/payments/confirm/", {
                    "invoice_id": signup["invoice"]["id"], "payment_method": "bank_transfer",
                    "amount": amount, "manual_reference": f"BT-{uuid.uuid4().hex[:12]}"},
                    token=signup["access_token"])
                assert status == 201, payment
                status, reply = bench.request(
                    "POST", f"/api/v1/billing/admin/payments/{payment['id']}/approve/",
                    {"admin_notes": "ok"}, token=admin)
                assert status == 200, reply
                ids.append(signup["subscription"]["id"])
        for subscription_id in ids:
            sub = SubscriptionModel.get(subscription_id, consistent_read=True)
            account = AccountModel.get(sub.account_id, consistent_read=True)
            assert sub.status == "active" and sub.sweep and sub.renewal_invoice_id is None, sub
            self.templates.append((sub.serialize(), account.serialize()))
        self.due_at = max(parse_stamp(SubscriptionModel.get(i).sweep_at) for i in ids)
        self.moment = self.due_at + timedelta(hours=1)  # the jobs' run: an hour after it fell due
        self.subscriptions_table = bench.backend.get_table(SubscriptionModel.Meta.table_name)
        self.accounts_table = bench.backend.get_table(AccountModel.Meta.table_name)
        self.base = copy.deepcopy(bench.backend.tables)  # the templates, nothing else due
        self.raw = boto3.client("dynamodb", region_name=bench.boto3.meta.region_name,
                                config=Config(parameter_validation=False))  # as PynamoDB's
        self.raw.describe_limits()  # warm

    def make(self, count: int) -> list[str]:
        """The store with `count` due subscriptions (the templates and copies); their ids."""
        from chalicelib.core.clock import new_id
        from chalicelib.storage import store
        from chalicelib.storage.models.billing import SWEEP

        self.bench.backend.tables = copy.deepcopy(self.base)
        self.subscriptions_table = self.bench.backend.get_table(self.subscriptions_table.name)
        self.accounts_table = self.bench.backend.get_table(self.accounts_table.name)
        ids = [sub["subscription_id"]["S"] for sub, _ in self.templates]
        for n in range(count - len(self.templates)):
            sub, account = self.templates[n % len(self.templates)]
            subscription_id, account_id = new_id("sub"), new_id("acc")
            self.subscriptions_table.put_item({
                **sub, "subscription_id": {"S": subscription_id}, "account_id": {"S": account_id},
                "sweep": {"S": store.spread(SWEEP, subscription_id)}})
            self.accounts_table.put_item({
                **account, "account_id": {"S": account_id},
                "subscription_id": {"S": subscription_id}})
            ids.append(subscription_id)
        return ids

    def run(self, time_limit: float | None = 3600, record: bool = False,
            profile: cProfile.Profile | None = None) -> Run:
        """`jobs.run` as of the renewal time (as if it were then), timed."""
        from chalicelib.billing import jobs
        from chalicelib.core import clock

        recorder = self.bench.recorder
        recorder.calls.clear()
        with clock.travel(self.moment), redirect_stdout(self.bench.devnull):
            recorder.on, recorder.copies = record, False  # the params are not reused after a call
            gc.collect()  # not the garbage of the store's copies
            if profile is not None:
                profile.enable()
            started, cpu = time.perf_counter(), time.process_time()
            try:
                report = jobs.run(self.moment, time_limit=time_limit)
            finally:
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                if profile is not None:
                    profile.disable()
                recorder.on, recorder.copies = False, True
        return Run(report, seconds, cpu, list(recorder.calls))

    def replay(self, calls: list[tuple[str, dict[str, Any]]]) -> tuple[float, float]:
        """The seconds (wall, CPU) the same calls take made directly with boto3."""
        from botocore import xform_name

        client = self.raw
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        for operation, params in calls:
            getattr(client, xform_name(operation))(**params)
        return time.perf_counter() - started, time.process_time() - cpu

    def renewal_invoices(self) -> Counter[str]:
        """Renewal invoices by subscription, read from moto's backend (a Scan's items, cheaply)."""
        from chalicelib.storage.models.billing import InvoiceModel

        table = self.bench.backend.get_table(InvoiceModel.Meta.table_name)
        found: Counter[str] = Counter()
        for item in table.all_items():
            attrs = item.to_json()["Attributes"]
            if attrs.get("kind", {}).get("S") == "renewal":
                found[attrs["subscription_id"]["S"]] += 1
        return found

    def renewal_emails(self) -> int:
        from chalicelib.storage.models.platform import OutboxModel

        table = self.bench.backend.get_table(OutboxModel.Meta.table_name)
        return sum(1 for item in table.all_items()
                   if item.to_json()["Attributes"].get("template", {}).get("S") == "renewal_invoice")


# 1. Calls per renewal ----------------------------------------------------------------------------

def _call_name(operation: str, params: dict[str, Any]) -> str:
    table = str(params.get("TableName", "")).split("-")[-1]
    index = params.get("IndexName")
    if operation == "TransactWriteItems":
        tables = Counter(str(next(iter(item.values()))["TableName"]).split("-")[-1]
                         for item in params["TransactItems"])
        return f"{operation} ({', '.join(f'{t} {n}' for t, n in sorted(tables.items()))})"
    return f"{operation} {table}" + (f".{index}" if index else "")


def calls_per_renewal(due: Due) -> None:
    due.make(CALLS_DUE)
    run = due.run(record=True)
    renewals = len(run.renewals)
    assert renewals == CALLS_DUE, run.report.counts()
    by_name = Counter(_call_name(operation, params) for operation, params in run.calls)
    by_operation = Counter(operation for operation, _ in run.calls)
    due_queries = sum(n for name, n in by_name.items() if name == "Query subscriptions.due_by_time")
    fixed = by_operation["Query"] - due_queries
    print(f"Job sweep, DynamoDB calls per renewal issued ({CALLS_DUE} active subscriptions due, "
          f"one jobs.run an hour after; {renewals} renewals issued, {len(run.calls)} calls):")
    print(f"{'call':<78}{'calls':>7}{'per renewal':>13}")
    for name, n in sorted(by_name.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{name:<78}{n:>7}{n / renewals:>13.2f}")
    per_item = sum(n for op, n in by_operation.items() if op != "Query") / renewals
    print(f"per renewal: {per_item:.2f} calls ({', '.join(f'{op} {n / renewals:.2f}' for op, n in sorted(by_operation.items()) if op != 'Query')})"
          f" + {due_queries / renewals:.3f} of the due index's Query pages; the run's other "
          f"{fixed} Queries are fixed per run (target: 2 + a page share)\n")


# 2. Time per 1,000 ----------------------------------------------------------------------------

def _area(filename: str) -> str:
    if filename == "~":
        return "builtins"
    if "/site-packages/" in filename:
        return filename.split("/site-packages/")[1].split("/")[0].removesuffix(".py")
    for name in ("chalicelib", "bench"):
        if f"/{name}/" in filename:
            return name
    return "stdlib"


def _top_costs(profile: cProfile.Profile, limit: int = 12) -> list[str]:
    """Own time by library, and the functions with the most own time."""
    stats = pstats.Stats(profile, stream=io.StringIO()).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values())
    areas: Counter[str] = Counter()
    for (filename, _, _), row in stats.items():
        areas[_area(filename)] += row[2]
    lines = ["  own time by library: " + ", ".join(
        f"{name} {seconds / total:.0%}" for name, seconds in areas.most_common(8))]
    ranked = sorted(stats.items(), key=lambda kv: -kv[1][2])
    for (filename, line, function), (_, calls, own, cumulative, _) in ranked[:limit]:
        short = "/".join(filename.split("/")[-2:])
        lines.append(f"  {own / total:>5.1%} own {cumulative:>7.2f} s cum {calls:>8} calls  "
                     f"{short}:{line}({function})")
    return lines


def time_per_thousand(due: Due, profile: bool = False) -> None:
    from bench import moto_transactions

    due.make(TIMED_DUE)
    before = copy.deepcopy(due.bench.backend.tables)
    runs, raw = [], []
    for _ in range(TIMED_SAMPLES):
        due.bench.backend.tables = copy.deepcopy(before)
        run = due.run(record=True)
        assert len(run.renewals) == TIMED_DUE, run.report.counts()
        due.bench.backend.tables = copy.deepcopy(before)  # rewind, then the same calls directly
        raw.append(due.replay(run.calls))
        runs.append(run)
    scale = 1000 / TIMED_DUE * 1000  # ms per 1,000 due
    app_cpu = statistics.median(r.cpu for r in runs) * scale
    raw_cpu = statistics.median(cpu for _, cpu in raw) * scale
    app_wall = statistics.median(r.seconds for r in runs) * scale
    raw_wall = statistics.median(wall for wall, _ in raw) * scale
    ratio = app_cpu / raw_cpu
    print(f"Job sweep, time per 1,000 due subscriptions ({TIMED_DUE} due, medians of "
          f"{TIMED_SAMPLES}; boto3 = the run's {len(run.calls)} DynamoDB calls made directly, "
          "with a client that skips parameter validation as PynamoDB's does):")
    print(f"{'sweep':<30}{'renewals':>9}{'app ms':>10}{'boto3 ms':>10}{'ratio':>7}")
    print(f"{'jobs.run, CPU time':<30}{TIMED_DUE:>9}{app_cpu:>10.0f}{raw_cpu:>10.0f}{ratio:>7.2f}"
          f"   (target {RATIO_TARGET}; {app_cpu / 1000:.1f} ms a renewal)")
    print(f"{'jobs.run, wall clock':<30}{TIMED_DUE:>9}{app_wall:>10.0f}{raw_wall:>10.0f}"
          f"{app_wall / raw_wall:>7.2f}   (other processes on the machine inflate it)")
    transactions = [(op, params) for op, params in run.calls if op == "TransactWriteItems"]
    due.bench.backend.tables = copy.deepcopy(before)
    lean = due.replay(transactions[:STOCK_SAMPLES])[1] / STOCK_SAMPLES
    due.bench.backend.tables = copy.deepcopy(before)
    with moto_transactions.stock():
        stock = due.replay(transactions[:STOCK_SAMPLES])[1] / STOCK_SAMPLES
    print(f"(stock moto: one of these TransactWriteItems costs {stock * 1000:.0f} ms CPU, against "
          f"{lean * 1000:.1f} ms with the item-level rollback backup used here: it deep-copies "
          f"each table the transaction touches, here {TIMED_DUE:,} subscriptions and accounts)")
    if ratio > RATIO_TARGET or profile:
        profiler = cProfile.Profile()
        due.bench.backend.tables = copy.deepcopy(before)
        due.run(profile=profiler)
        print(f"{'above ' + str(RATIO_TARGET) if ratio > RATIO_TARGET else '--profile'}: where one "
              "run's time goes (cProfile, whose overhead inflates the many small functions):")
        for line in _top_costs(profiler):
            print(line)
    print()


# 3. Ten thousand, and continuing ---------------------------------------------------------------

def large_sweep(due: Due) -> None:
    from chalicelib.core.config import get_settings

    due.make(LARGE_DUE)
    run = due.run()  # uncut, to time all of it; deployed, JOB_TIME_LIMIT_SECONDS would stop it
    assert run.report.finished and len(run.renewals) == LARGE_DUE, run.report.counts()
    limit = get_settings().job_time_limit_seconds
    each = 1000 / LARGE_DUE
    if run.seconds <= limit:
        verdict = (f"within the jobs' own {limit} s limit, so within the Lambda's "
                   f"{LAMBDA_LIMIT // 60}-minute timeout in one run")
    else:
        verdict = (f"over the jobs' own {limit} s limit: a run would stop after about "
                   f"{int(LARGE_DUE * limit / run.seconds):,} (inside the Lambda's "
                   f"{LAMBDA_LIMIT // 60}-minute timeout) and the next run take the rest")
    print(f"Job sweep of {LARGE_DUE:,} due subscriptions (one jobs.run, moto in process): "
          f"{len(run.renewals):,} renewals in {run.seconds:.1f} s wall clock "
          f"({run.seconds * each:.1f} ms each; CPU {run.cpu:.1f} s, {run.cpu * each:.1f} ms each): "
          f"{verdict}. (On this machine and moto; the deployed function has 256 MB, a fraction of a "
          "vCPU, and waits on DynamoDB's round trips.)")


def continuation(due: Due) -> None:
    ids = due.make(CONTINUATION_DUE)
    runs: list[Run] = []
    while not runs or not runs[-1].report.finished:
        runs.append(due.run(time_limit=CONTINUATION_LIMIT))
        if len(runs) > CONTINUATION_DUE:  # no progress: the check below says so
            break
    invoices, emails = due.renewal_invoices(), due.renewal_emails()
    missing = [i for i in ids if invoices[i] == 0]
    twice = [i for i in ids if invoices[i] > 1]
    strangers = set(invoices) - set(ids)
    ok = not missing and not twice and not strangers and emails == CONTINUATION_DUE
    print(f"Continuation: {CONTINUATION_DUE:,} due, each run limited to {CONTINUATION_LIMIT:g} s: "
          f"{len(runs)} runs in {sum(r.seconds for r in runs):.1f} s, "
          f"{sum(not r.report.finished for r in runs)} stopped early (finished False) before one "
          f"finished; renewals per run: {', '.join(str(len(r.renewals)) for r in runs)}")
    print(f"Continuation check: {'OK' if ok else 'FAILED'}: "
          f"{len(ids) - len(missing) - len(twice):,} of {len(ids):,} subscriptions have exactly one "
          f"renewal invoice ({len(missing)} none, {len(twice)} more than one, {len(strangers)} "
          f"invoices of other subscriptions); {emails:,} renewal emails queued\n")


# Report --------------------------------------------------------------------------------------

def report(profile: bool = False) -> None:
    """The job sweep's sections of the bench report (its own moto); `profile`: say where the
    sweep's time goes whatever the ratio."""
    from bench import moto_transactions
    from bench.run import InProcess

    bench = InProcess()
    try:
        due = Due(bench)
        with moto_transactions.item_level_rollback():
            calls_per_renewal(due)
            time_per_thousand(due, profile)
            large_sweep(due)
            continuation(due)
    finally:
        bench.close()


def main() -> int:
    from bench.run import machine

    started = time.monotonic()
    print(f"Machine: {machine()}\n")
    report(profile="--profile" in sys.argv[1:])
    print(f"bench.sweep took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
