"""`make bench`'s credits consume section (also alone: `python -m bench.consume`): what one
`POST /api/v1/credits/consume` costs, in DynamoDB calls and in time, and how it holds up under
concurrent use of one account.

1. DynamoDB calls per consume, counted with a botocore spy (bench.run.Recorder): warm (the service
   key and the account as this container last saw them: one TransactWriteItems), the account not
   cached (another container's, or a restart's: GetItem + TransactWriteItems), and a fresh
   container (neither the key nor the account cached).
2. Latency in process against moto: LATENCY_SAMPLES warm consumes, each followed by exactly its
   recorded TransactWriteItems replayed with a raw boto3 client (one that skips parameter
   validation, as PynamoDB's does) on the store rewound to just before the consume, so the replay
   succeeds exactly as the original did. Twice: the app as Lambda runs it (its handler called with
   the request's API Gateway event, made before the clock starts), and through Chalice's local
   gateway (the test client: route matching and the event's making on top). Medians and p90s, and
   the ratio of the medians (target RATIO_TARGET, for the app as on Lambda). Above the target (or with --profile), cProfile of PROFILED
   consumes and of their replays: own time per consume by library in each, and the app's top
   functions.
3. `python -m devserver` (real HTTP, the embedded moto serving one call at a time): one active
   account with enough credits, LOAD_THREADS threads each making LOAD_PER_THREAD consumes of 1
   credit with its own Idempotency-Keys (a new connection per request, as bench.run's load);
   consumes/s, p50, p99, the answers by status (409 transaction_conflict is retryable), and a
   check that the account's credits went down by exactly the number of 200 answers.

Sections 1 and 2 run with `bench.moto_transactions.item_level_rollback` (for the app and the replay
alike): stock moto deep-copies every table a transaction touches, a cost of moto's, not ours.
"""
from __future__ import annotations

import cProfile
import gc
import io
import json
import pstats
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

LATENCY_SAMPLES = 200
PROFILED = 100
RATIO_TARGET = 1.2
LOAD_THREADS, LOAD_PER_THREAD = 16, 10
LOAD_EXTRA_CREDITS = 1000  # granted on top of the plan's 1,000: more than the load consumes
CONSUME = "/api/v1/credits/consume"


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# The in-process setup ----------------------------------------------------------------------------

class Consumer:
    """bench.run's InProcess with an active starter account (1,000 credits) and a service key."""

    def __init__(self, bench: Any) -> None:
        import boto3
        from botocore.config import Config

        self.bench = bench
        admin = bench.login("admin@example.com", "admin-password-bench")
        signup = bench.register("starter")
        status, payment = bench.request("POST", "/api/v1/billing/admin/payments/confirm/", {
            "invoice_id": signup["invoice"]["id"], "payment_method": "bank_transfer",
            "amount": "89.00", "manual_reference": f"BT-{uuid.uuid4().hex[:12]}"},
            token=signup["access_token"])
        assert status == 201, payment
        status, reply = bench.request("POST", f"/api/v1/billing/admin/payments/{payment['id']}/approve/",
                                      {"admin_notes": "ok"}, token=admin)
        assert status == 200, reply
        self.account_id = signup["account"]["id"]
        status, reply = bench.request("POST", f"/api/v1/billing/admin/accounts/{self.account_id}/credits",
                                      {"amount": 100_000, "bucket": "extra", "reason": "bench"},
                                      token=admin)
        assert status == 200, reply
        status, reply = bench.request("POST", "/api/v1/billing/admin/service-keys",
                                      {"name": "bench"}, token=admin)
        assert status == 201, reply
        self.key = reply["key"]
        self.raw = boto3.client("dynamodb", region_name=bench.boto3.meta.region_name,
                                config=Config(parameter_validation=False))  # as PynamoDB's
        self.raw.describe_limits()  # warm
        self._keys = iter(range(10 ** 9))

    def _request(self, amount: int) -> tuple[dict[str, str], bytes]:
        body = json.dumps({"account_id": self.account_id, "amount": amount, "reason": "bench"})
        return ({"content-type": "application/json", "authorization": f"Bearer {self.key}",
                 "idempotency-key": f"bench-{next(self._keys)}"}, body.encode())

    def consume(self, amount: int = 1, handler: bool = False) -> tuple[int, Any]:
        """One consume through Chalice's local gateway (the test client), or, with `handler`, as
        Lambda runs it: the app's handler called with the API Gateway event of the request (made
        before the clock starts: building it is API Gateway's work)."""
        headers, body = self._request(amount)
        gateway = self.bench.client.http._local_gateway
        if handler:
            event = gateway._generate_lambda_event("POST", CONSUME, headers, body)
            context = gateway._generate_lambda_context()
            started, cpu = time.perf_counter(), time.process_time()
            with redirect_stdout(self.bench.devnull):
                response = gateway._app_object(event, context)
            self.handler_times = time.perf_counter() - started, time.process_time() - cpu
            return response["statusCode"], json.loads(response["body"]) if response["body"] else None
        with redirect_stdout(self.bench.devnull):
            response = self.bench.client.http.request("POST", CONSUME, headers=headers, body=body)
        return response.status_code, json.loads(response.body) if response.body else None

    def recorded(self, amount: int = 1, handler: bool = False
                 ) -> tuple[float, float, list[tuple[str, dict[str, Any]]]]:
        """One consume, timed (wall, CPU), with the DynamoDB calls it made (not copied: the spy's
        copy would be timed too; the calls' parameters are not reused by the app)."""
        recorder = self.bench.recorder
        recorder.calls.clear()
        recorder.on, recorder.copies = True, False
        started, cpu = time.perf_counter(), time.process_time()
        try:
            status, reply = self.consume(amount, handler)
        finally:
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            recorder.on, recorder.copies = False, True
        assert status == 200, reply
        if handler:  # the event's making is not the app's time
            wall, cpu = self.handler_times
        return wall, cpu, list(recorder.calls)

    def replay(self, calls: list[tuple[str, dict[str, Any]]]) -> tuple[float, float]:
        from botocore import xform_name

        # botocore fills in a TransactWriteItems' ClientRequestToken into the caller's dict: a new one
        # for the replay, as the original got.
        prepared = [(xform_name(op), {k: v for k, v in params.items() if k != "ClientRequestToken"})
                    for op, params in calls]
        started, cpu = time.perf_counter(), time.process_time()
        for operation, params in prepared:
            getattr(self.raw, operation)(**params)
        return time.perf_counter() - started, time.process_time() - cpu


def _call_names(calls: list[tuple[str, dict[str, Any]]]) -> str:
    from bench.sweep import _call_name

    return " + ".join(_call_name(op, params) for op, params in calls)


# 1. Calls per consume ----------------------------------------------------------------------------

def calls_per_consume(consumer: Consumer) -> None:
    from chalicelib.credits import consume as consumption
    from chalicelib.credits import service_keys

    rows = []
    consumption._views.clear()
    service_keys._cache.clear()
    rows.append(("fresh container (key and account not cached)", consumer.recorded()[2]))
    rows.append(("warm (key and account cached)", consumer.recorded()[2]))
    consumption._views.clear()  # another container's, or a restart's with the key still cached
    rows.append(("account not cached", consumer.recorded()[2]))
    warm = consumer.recorded()[2]
    print("Credits consume, DynamoDB calls per consume (in process, moto; a botocore spy):")
    print(f"{'consume':<48}{'calls':>6}  what")
    for name, calls in rows:
        print(f"{name:<48}{len(calls):>6}  {_call_names(calls)}")
    ok = [op for op, _ in warm] == ["TransactWriteItems"] and \
        [op for op, _ in rows[2][1]] == ["GetItem", "TransactWriteItems"]
    print(f"check: {'OK' if ok else 'FAILED'}: warm 1 (TransactWriteItems), account not cached 2 "
          "(GetItem + TransactWriteItems); a fresh container also reads the key and writes its "
          "last_used_at in the same transaction (once per 60 s per container)\n")


# 2. Latency --------------------------------------------------------------------------------------

def _area(filename: str) -> str:
    if filename == "~":
        return "builtins"
    if "/site-packages/" in filename:
        return filename.split("/site-packages/")[1].split("/")[0].removesuffix(".py")
    for name in ("chalicelib", "devserver", "bench"):
        if f"/{name}/" in filename:
            return name
    if filename.endswith("app.py") and "/lib/" not in filename:
        return "app.py"
    parts = filename.rsplit("/lib/python", 1)[-1].split("/")  # 3.11/json/encoder.py
    return f"stdlib {(parts[1] if len(parts) > 1 else parts[0]).removesuffix('.py')}"


def _by_area(profile: cProfile.Profile) -> tuple[Counter[str], dict[Any, Any]]:
    stats = pstats.Stats(profile, stream=io.StringIO()).stats  # type: ignore[attr-defined]
    areas: Counter[str] = Counter()
    for (filename, _, _), row in stats.items():
        areas[_area(filename)] += row[2]
    return areas, stats


def _profile(consumer: Consumer) -> list[str]:
    """Where a warm consume's time goes, next to where its replay's goes."""
    from botocore import xform_name

    app, raw = cProfile.Profile(), cProfile.Profile()
    for _ in range(PROFILED):
        before = consumer.bench.backend.tables
        consumer.bench.backend.tables = _copy(before)
        app.enable()
        _, _, calls = consumer.recorded()
        app.disable()
        consumer.bench.backend.tables = before
        prepared = [(op, {k: v for k, v in p.items() if k != "ClientRequestToken"}) for op, p in calls]
        raw.enable()
        for operation, params in prepared:
            getattr(consumer.raw, xform_name(operation))(**params)
        raw.disable()
    app_areas, stats = _by_area(app)
    raw_areas, _ = _by_area(raw)
    each = 1000 / PROFILED
    lines = [f"  own time per consume by library (ms, under cProfile, which inflates small "
             f"functions; {PROFILED} consumes):",
             f"  {'library':<22}{'app':>8}{'boto3':>8}{'extra':>8}"]
    names = sorted(set(app_areas) | set(raw_areas), key=lambda n: -(app_areas[n] - raw_areas[n]))
    for name in names[:12]:
        a, r = app_areas[name] * each, raw_areas[name] * each
        lines.append(f"  {name:<22}{a:>8.2f}{r:>8.2f}{a - r:>+8.2f}")
    lines.append(f"  {'total':<22}{sum(app_areas.values()) * each:>8.2f}"
                 f"{sum(raw_areas.values()) * each:>8.2f}"
                 f"{(sum(app_areas.values()) - sum(raw_areas.values())) * each:>+8.2f}")
    lines.append("  the app's functions with the most own time outside moto and botocore (which "
                 "the replay runs too):")
    total = sum(row[2] for row in stats.values())
    ours = [kv for kv in stats.items() if _area(kv[0][0]) not in ("moto", "botocore")]
    for (filename, line, function), (_, ncalls, own, cumulative, _) in sorted(
            ours, key=lambda kv: -kv[1][2])[:12]:
        short = "/".join(filename.split("/")[-2:])
        lines.append(f"  {own / total:>5.1%} own {cumulative * each:>6.2f} ms cum/consume "
                     f"{ncalls // PROFILED:>5} calls/consume  {short}:{line}({function})")
    return lines


def _copy(tables: Any) -> Any:
    import copy

    return copy.deepcopy(tables)


def _samples(consumer: Consumer, handler: bool) -> tuple[list[float], list[float], list[float],
                                                         list[float], Any, int]:
    """LATENCY_SAMPLES warm consumes, each with its call replayed on the store rewound to just
    before it: (app wall, app CPU, replay wall, replay CPU, the calls of the last, rechecks)."""
    backend = consumer.bench.backend
    app_wall: list[float] = []
    app_cpu: list[float] = []
    raw_wall: list[float] = []
    raw_cpu: list[float] = []
    calls: list[tuple[str, dict[str, Any]]] = []
    rechecks = 0
    while len(app_wall) < LATENCY_SAMPLES:
        before = _copy(backend.tables)
        gc.collect()
        wall, cpu, calls = consumer.recorded(handler=handler)
        if [op for op, _ in calls] != ["TransactWriteItems"]:
            # Every KEY_CACHE_SECONDS the container checks the key again (a GetItem, and its
            # last_used_at in the transaction): not a warm consume; not a sample.
            assert [op for op, _ in calls] == ["GetItem", "TransactWriteItems"], calls
            rechecks += 1
            continue
        backend.tables = before  # rewind, then the same call directly
        gc.collect()
        wall_raw, cpu_raw = consumer.replay(calls)
        app_wall.append(wall), app_cpu.append(cpu), raw_wall.append(wall_raw), raw_cpu.append(cpu_raw)
    return app_wall, app_cpu, raw_wall, raw_cpu, calls, rechecks


def latency(consumer: Consumer, profile: bool = False) -> None:
    for _ in range(20):  # warm-up: both paths' code and caches
        consumer.recorded()
        consumer.recorded(handler=True)
    gc.collect()
    gc.freeze()  # the setup's objects: each collection below looks at the samples' garbage only
    ms = 1000
    print(f"Credits consume, latency of a warm consume (in process, moto; {LATENCY_SAMPLES} samples "
          "each; boto3 = the consume's own TransactWriteItems replayed on the store rewound to just "
          "before it, with a client that skips parameter validation as PynamoDB's does). The app "
          "as Lambda runs it: its handler called with the request's API Gateway event (made before "
          "the clock starts: that is API Gateway's work); and through Chalice's local gateway (the "
          "test client), which also matches the route and builds that event:")
    print(f"{'consume':<42}{'p50 ms':>8}{'p90 ms':>8}{'CPU p50 ms':>12}{'ratio':>7}{'CPU':>6}")
    verdicts = []
    for handler, name in ((True, "app handler (as on Lambda)"), (False, "app via Chalice local gateway")):
        app_wall, app_cpu, raw_wall, raw_cpu, calls, rechecks = _samples(consumer, handler)
        ratio = statistics.median(app_wall) / statistics.median(raw_wall)
        cpu_ratio = statistics.median(app_cpu) / statistics.median(raw_cpu)
        print(f"{name:<42}{statistics.median(app_wall) * ms:>8.2f}{_percentile(app_wall, 90) * ms:>8.2f}"
              f"{statistics.median(app_cpu) * ms:>12.2f}{ratio:>7.2f}{cpu_ratio:>6.2f}")
        print(f"{'  its TransactWriteItems (boto3)':<42}{statistics.median(raw_wall) * ms:>8.2f}"
              f"{_percentile(raw_wall, 90) * ms:>8.2f}{statistics.median(raw_cpu) * ms:>12.2f}")
        verdicts.append((name, ratio, (statistics.median(app_wall) - statistics.median(raw_wall)) * ms,
                         rechecks))
    (_, ratio, added, rechecks), (_, gateway_ratio, gateway_added, _) = verdicts
    verdict = "within" if ratio <= RATIO_TARGET else "above"
    print(f"ratio app / boto3 (medians, wall clock): {ratio:.2f} as on Lambda, {verdict} the target of "
          f"{RATIO_TARGET}: the app adds {added:.2f} ms to the call ({_call_names(calls)}); "
          f"{gateway_ratio:.2f} through the local gateway (+{gateway_added:.2f} ms)"
          + (f"; {rechecks} consume(s) that checked the key again (every 60 s) left out" if rechecks else ""))
    if ratio > RATIO_TARGET or profile:
        print(f"{'above ' + str(RATIO_TARGET) if ratio > RATIO_TARGET else '--profile'}: where the "
              "time goes (cProfile of the app's consumes through the local gateway and of their "
              "replays; extra = the app's cost on top of the call):")
        for line in _profile(consumer):
            print(line)
    gc.unfreeze()
    print()


# 3. Under load on the dev server -----------------------------------------------------------------

@dataclass
class LoadResult:
    seconds: float
    latencies: list[float]
    answers: Counter[str]
    before: int
    after: int

    @property
    def ok(self) -> int:
        return self.answers["200"]


def _load_on(port: int) -> LoadResult:
    from bench.run import BILLING, PASSWORD, _call

    status, admin = _call("POST", port, "/api/v1/auth/login",
                          {"email": "admin@example.com", "password": "admin-password-bench"})
    assert status == 200, admin
    admin_token = admin["access_token"]
    status, signup = _call("POST", port, "/api/v1/auth/register", {
        "email": "consume@example.com", "password": PASSWORD, "name": "Load", "plan": "starter",
        "billing": BILLING, "payment_method": "bank_transfer"})
    assert status == 201, signup
    account_id = signup["account"]["id"]
    status, payment = _call("POST", port, "/api/v1/billing/admin/payments/confirm/", {
        "invoice_id": signup["invoice"]["id"], "payment_method": "bank_transfer", "amount": "89.00",
        "manual_reference": f"BT-{uuid.uuid4().hex[:12]}"}, token=signup["access_token"])
    assert status == 201, payment
    status, reply = _call("POST", port, f"/api/v1/billing/admin/payments/{payment['id']}/approve/",
                          {"admin_notes": "ok"}, token=admin_token)
    assert status == 200, reply
    status, reply = _call("POST", port, f"/api/v1/billing/admin/accounts/{account_id}/credits",
                          {"amount": LOAD_EXTRA_CREDITS, "bucket": "extra", "reason": "bench"},
                          token=admin_token)
    assert status == 200, reply
    status, reply = _call("POST", port, "/api/v1/billing/admin/service-keys", {"name": "load"},
                          token=admin_token)
    assert status == 201, reply
    key = reply["key"]

    def credits() -> int:
        status, view = _call("GET", port, f"/api/v1/billing/admin/accounts/{account_id}",
                             token=admin_token)
        assert status == 200, view
        return int(view["credits"]["credits"])

    # One consume first: the key's check and its last_used_at are not part of what is measured.
    assert _call("POST", port, CONSUME, {"account_id": account_id, "amount": 1, "reason": "warm"},
                 token=key, headers={"Idempotency-Key": "warm"})[0] == 200
    before = credits()
    assert before >= LOAD_THREADS * LOAD_PER_THREAD, before
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(LOAD_PER_THREAD):
            body = {"account_id": account_id, "amount": 1, "reason": "load"}
            started = time.perf_counter()
            try:
                status, reply = _call("POST", port, CONSUME, body, token=key,
                                      headers={"Idempotency-Key": f"load-{n}-{i}"})
                code = (reply or {}).get("error", {}).get("code") if status != 200 else None
                answer = f"{status} {code}" if code else str(status)
            except OSError as exc:
                answer = f"connection error ({type(exc).__name__})"
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                answers[answer] += 1

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(LOAD_THREADS)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    return LoadResult(seconds, latencies, answers, before, credits())


def under_load() -> None:
    from bench.run import devserver

    with devserver() as base:
        result = _load_on(int(base.rsplit(":", 1)[1]))
    requests = LOAD_THREADS * LOAD_PER_THREAD
    print(f"Credits consume under load (python -m devserver, real HTTP on loopback, a new connection "
          f"per request; one account, {LOAD_THREADS} threads each making {LOAD_PER_THREAD} consumes "
          "of 1 credit with its own Idempotency-Keys):")
    print(f"{'requests':>9}{'consumes/s':>12}{'p50 ms':>9}{'p99 ms':>9}  answers")
    answers = ", ".join(f"{name}: {n}" for name, n in result.answers.most_common())
    print(f"{requests:>9}{result.ok / result.seconds:>12.0f}{_percentile(result.latencies, 50) * 1000:>9.1f}"
          f"{_percentile(result.latencies, 99) * 1000:>9.1f}  {answers}")
    conflicts = result.answers["409 transaction_conflict"]
    used = result.before - result.after
    ok = used == result.ok
    print(f"{conflicts} answers were 409 transaction_conflict (retryable with the same key). "
          f"Check: {'OK' if ok else 'FAILED'}: the account's credits went from {result.before:,} "
          f"to {result.after:,}, down {used:,}, for {result.ok:,} answers 200\n")


# Report ------------------------------------------------------------------------------------------

def report(profile: bool = False) -> None:
    """The credits consume sections of the bench report (their own moto, then a dev server);
    `profile`: say where a consume's time goes whatever the ratio."""
    from bench import moto_transactions
    from bench.run import InProcess

    bench = InProcess()
    try:
        consumer = Consumer(bench)
        with moto_transactions.item_level_rollback():
            calls_per_consume(consumer)
            latency(consumer, profile)
    finally:
        bench.close()
    under_load()


def main() -> int:
    from bench.run import machine

    started = time.monotonic()
    print(f"Machine: {machine()}\n")
    report(profile="--profile" in sys.argv[1:])
    print(f"bench.consume took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
