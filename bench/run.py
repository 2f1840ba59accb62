"""`make bench`: a report of how fast and how lean the API is (not a test: it asserts nothing).

1. Per endpoint, in process against moto (Chalice's test client): the DynamoDB calls a request
   makes, its median latency, and the median time of exactly those calls made directly with
   boto3 against the same data (the store is rewound to just before the request, the recorded
   calls replayed) — the ratio is what our code costs on top of DynamoDB's own work.
   Passwords are hashed with the production argon2 profile, so signup and login show that cost.
2. The cold import of app.py next to its libraries (bench.coldstart).
3. The deployment zip (`make package` into a temp folder): size and what is in it.
4. `python -m devserver` (what `make dev` runs) on free ports under concurrent load: a fixed
   number of requests from a bounded thread pool on loopback; requests/s, p50, p99.
5. The billing jobs' sweep (bench.sweep; alone: `python -m bench.sweep`): DynamoDB calls per
   renewal issued, time per 1,000 due subscriptions against the same calls made with boto3, a
   10,000-subscription sweep and runs that continue one another under a time limit.
6. Credits consume (bench.consume; alone: `python -m bench.consume`): DynamoDB calls per consume
   warm and cold, a warm consume's latency against its TransactWriteItems made with boto3, and
   consumes/s of one account under 16 concurrent clients on the dev server.
7. Bank statement import (bench.statement_import; alone: `python -m bench.statement_import`): a
   5,000-line statement imported and matched against 3,000 open invoices: DynamoDB calls per
   line, time against the same calls made with boto3, and "apply all exact matches".
8. The monthly summary (bench.reports; alone: `python -m bench.reports`): its DynamoDB calls and
   latency for 12 months at 100 and at 10,000 payments, against the same calls made with boto3.
The invoice PDF's route is a row of 1.; its first render in a fresh process and a warm render
follow that table (bench.pdf; alone: `python -m bench.pdf`).
"""
from __future__ import annotations

import copy
import http.client
import itertools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
READS, WRITES = 30, 15  # samples per endpoint
LOAD_REQUESTS, LOAD_THREADS = 2000, 16
PASSWORD = "correct horse battery"
BILLING = {"billing_name": "Khan Media (Pvt) Ltd", "billing_email": "billing@khan.pk",
           "address_line1": "12 Mall Road", "city": "Lahore", "postal_code": "54000", "country": "PK"}


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{model}, {os.cpu_count()} cores (load average {load}); Python "
            f"{platform.python_version()} ({platform.python_implementation()}), {platform.system()}")


# 1. In process -----------------------------------------------------------------------------------

@dataclass
class Row:
    endpoint: str
    calls: list[str]
    app_ms: float
    boto3_ms: float

    @property
    def ratio(self) -> float:
        return self.app_ms / self.boto3_ms if self.boto3_ms else float("nan")


class Recorder:
    """Keeps the DynamoDB calls (operation, parameters) made while `on`; copies of the parameters
    unless `copies` is off (for a long run whose callers never reuse them). One spy per process:
    a later recorder takes it over."""

    _active: Recorder | None = None

    def __init__(self) -> None:
        import botocore.client

        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.on = False
        self.copies = True
        installed = Recorder._active is not None
        Recorder._active = self
        if installed:
            return
        original = botocore.client.BaseClient._make_api_call

        def spy(client: Any, operation: str, params: Any) -> Any:
            recorder = Recorder._active
            if recorder and recorder.on and client.meta.service_model.service_name == "dynamodb":
                recorder.calls.append((operation, copy.deepcopy(params) if recorder.copies else params))
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = spy


class InProcess:
    """The app on moto, a raw boto3 client beside it, and a way to rewind the store."""

    def __init__(self) -> None:
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                           "JWT_SECRET": "bench-secret-" + "x" * 40, "TABLE_PREFIX": "billing-dev",
                           "STAGE": "dev"})
        for name in ("DYNAMODB_ENDPOINT_URL", "OUTBOX_STREAM_ARN", "PASSWORD_HASH_PROFILE"):
            os.environ.pop(name, None)
        import boto3
        from moto import mock_aws
        from moto.dynamodb.models import dynamodb_backends

        sys.path.insert(0, str(PROJECT_DIR))
        import app as app_module
        from chalicelib.accounts.admins import create_admin
        from chalicelib.catalog.reference_data import seed
        from chalicelib.core.config import reset_settings
        from chalicelib.storage import models, store
        from devserver.gateway import Gateway, local_test_client

        self._mock = mock_aws()
        self._mock.start()
        self.devnull = open(os.devnull, "w")  # the app's JSON logs and metrics go here
        reset_settings()
        with redirect_stdout(self.devnull):
            store.init()
            models.create_missing_tables()
            seed()
            create_admin("admin@example.com", "admin-password-bench")
        self.backend = dynamodb_backends["123456789012"]["us-east-1"]
        self.client = local_test_client(app_module.app, str(PROJECT_DIR))
        self.client.http._local_gateway = Gateway(app_module.app, self.client.http._config)
        self.boto3 = boto3.client("dynamodb", region_name="us-east-1")
        self.boto3.list_tables()  # warm
        self.recorder = Recorder()
        self._emails = itertools.count()

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                accept: str = "application/json") -> Any:
        headers = {"content-type": "application/json", "accept": accept}
        if token:
            headers["authorization"] = f"Bearer {token}"
        data = b"" if body is None else json.dumps(body).encode()
        with redirect_stdout(self.devnull):
            response = self.client.http.request(method, path, headers=headers, body=data)
        if response.status_code == 200 and accept != "application/json":  # a file: its size
            return response.status_code, len(response.body)
        return response.status_code, json.loads(response.body) if response.body else None

    # Workflow steps (untimed preparation) ---------------------------------------------------

    def email(self) -> str:
        return f"bench{next(self._emails)}@example.com"

    def register(self, plan: str = "free") -> dict[str, Any]:
        """A signup made to prepare a measurement (hashed cheaply: it is not what is measured)."""
        from argon2 import PasswordHasher, profiles

        from chalicelib.accounts import auth

        body: dict[str, Any] = {"email": self.email(), "password": PASSWORD, "name": "Bench User",
                                "plan": plan}
        if plan != "free":
            body.update(billing=BILLING, payment_method="bank_transfer")
        production = auth._hasher
        auth._hasher = lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)  # type: ignore
        try:
            status, reply = self.request("POST", "/api/v1/auth/register", body)
        finally:
            auth._hasher = production  # type: ignore[assignment]
        assert status == 201, reply
        return reply

    def confirmed_payment(self) -> str:
        signup = self.register("starter")
        status, reply = self.request("POST", "/api/v1/billing/admin/payments/confirm/", {
            "invoice_id": signup["invoice"]["id"], "payment_method": "bank_transfer",
            "amount": "89.00", "manual_reference": f"BT-{uuid.uuid4().hex[:12]}"},
            token=signup["access_token"])
        assert status == 201, reply
        return str(reply["id"])

    def login(self, email: str, password: str) -> str:
        status, reply = self.request("POST", "/api/v1/auth/login", {"email": email, "password": password})
        assert status == 200, reply
        return str(reply["access_token"])

    # Measuring ------------------------------------------------------------------------------

    def measure(self, endpoint: str, samples: int, prepare: Callable[[], Callable[[], Any]],
                expect: int) -> Row:
        from botocore import xform_name

        app_times, boto3_times, first_calls = [], [], None
        for _ in range(samples):
            send = prepare()
            before = copy.deepcopy(self.backend.tables)
            self.recorder.calls.clear()
            self.recorder.on = True
            started = time.perf_counter()
            status, reply = send()
            app_times.append(time.perf_counter() - started)
            self.recorder.on = False
            assert status == expect, (endpoint, status, reply)
            calls = list(self.recorder.calls)
            first_calls = first_calls or [operation for operation, _ in calls]
            after = self.backend.tables
            self.backend.tables = before  # rewind, then make the same calls directly
            started = time.perf_counter()
            for operation, params in calls:
                getattr(self.boto3, xform_name(operation))(**params)
            boto3_times.append(time.perf_counter() - started)
            del after  # the replay wrote the same items again
        return Row(endpoint, first_calls or [], statistics.median(app_times) * 1000,
                   statistics.median(boto3_times) * 1000)

    def close(self) -> None:
        self._mock.stop()
        self.devnull.close()


def in_process() -> list[Row]:
    bench = InProcess()
    try:
        user = bench.register("starter")
        token, invoice_id = user["access_token"], user["invoice"]["id"]
        login_email = bench.email()  # hashed with the production profile, as login will verify
        assert bench.request("POST", "/api/v1/auth/register", {
            "email": login_email, "password": PASSWORD, "name": "Bench User"})[0] == 201
        admin = bench.login("admin@example.com", "admin-password-bench")
        get = bench.request
        rows = [
            bench.measure("plans", READS, lambda: lambda: get("GET", "/api/v1/billing/plans"), 200),
            bench.measure("payment methods ?country=PK", READS, lambda: lambda: get(
                "GET", "/api/v1/billing/admin/payment-methods/?country=PK"), 200),
            bench.measure("free signup", WRITES, lambda: (lambda e: lambda: get(
                "POST", "/api/v1/auth/register", {"email": e, "password": PASSWORD,
                                                  "name": "Bench User"}))(bench.email()), 201),
            bench.measure("paid signup", WRITES, lambda: (lambda e: lambda: get(
                "POST", "/api/v1/auth/register", {
                    "email": e, "password": PASSWORD, "name": "Bench User", "plan": "starter",
                    "billing": BILLING, "payment_method": "bank_transfer"}))(bench.email()), 201),
            bench.measure("login", WRITES, lambda: lambda: get(
                "POST", "/api/v1/auth/login", {"email": login_email, "password": PASSWORD}),
                200),
            bench.measure("me (pending invoice)", READS, lambda: lambda: get(
                "GET", "/api/v1/auth/me", token=token), 200),
            bench.measure("own invoices", READS, lambda: lambda: get(
                "GET", "/api/v1/billing/invoices", token=token), 200),
            bench.measure("confirm", WRITES, lambda: (lambda s: lambda: get(
                "POST", "/api/v1/billing/admin/payments/confirm/", {
                    "invoice_id": s["invoice"]["id"], "payment_method": "bank_transfer",
                    "amount": "89.00", "manual_reference": f"BT-{uuid.uuid4().hex[:12]}"},
                    token=s["access_token"]))(
                bench.register("starter")), 201),
            bench.measure("admin queue", READS, lambda: lambda: get(
                "GET", "/api/v1/billing/admin/payments?status=pending_approval", token=admin), 200),
            bench.measure("approve", WRITES, lambda: (lambda p: lambda: get(
                "POST", f"/api/v1/billing/admin/payments/{p}/approve/", {"admin_notes": "ok"},
                token=admin))(bench.confirmed_payment()), 200),
            bench.measure("reject", WRITES, lambda: (lambda p: lambda: get(
                "POST", f"/api/v1/billing/admin/payments/{p}/reject/", {"admin_notes": "no"},
                token=admin))(bench.confirmed_payment()), 200),
        ]
        from bench import pdf

        rows += pdf.rows(bench, token, invoice_id, admin)
        return rows
    finally:
        bench.close()


# 3. The zip ----------------------------------------------------------------------------------

def deployment_zip() -> tuple[int, int, list[tuple[str, int]]]:
    """(zip bytes, .pyc files, [(top-level entry, compressed bytes)] largest first)."""
    from deploy.package import package

    with tempfile.TemporaryDirectory() as out:
        with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
            result = package("dev", Path(out), write_policies=False, quiet=True)
        size = result.zip.stat().st_size
        by_top: dict[str, int] = {}
        with zipfile.ZipFile(result.zip) as archive:
            for info in archive.infolist():
                top = info.filename.split("/")[0]
                top = top.split("-")[0] if top.endswith(".dist-info") else top
                by_top[top] = by_top.get(top, 0) + info.compress_size
        return size, result.bytecode_files, sorted(by_top.items(), key=lambda kv: -kv[1])


# 4. The dev server under load ------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def devserver() -> Iterator[str]:
    """`python -m devserver` on free ports until the block ends (this process stops it)."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items()
               if k not in ("JWT_SECRET", "PASSWORD_HASH_PROFILE", "DYNAMODB_ENDPOINT_URL",
                            "SES_ENDPOINT_URL", "TABLE_PREFIX", "STAGE")}
        # Its own data folder and web port: never the developer's `.data` or `make dev`'s ports.
        env.update(PORT=str(port), DYNAMODB_PORT=str(_free_port()), WEB_PORT=str(_free_port()),
                   DATA_DIR=f"{folder}/data", MAILBOX_DIR=f"{folder}/mail",
                   ADMIN_EMAIL="admin@example.com", ADMIN_PASSWORD="admin-password-bench")
        with open(f"{folder}/output.log", "w") as log:
            process = subprocess.Popen([sys.executable, "-m", "devserver"], cwd=PROJECT_DIR, env=env,
                                       stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    _call("GET", port, "/api/v1/billing/plans")
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(Path(f"{folder}/output.log").read_text())
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _call(method: str, port: int, path: str, body: Any = None, token: str | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


@dataclass
class Load:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def load(name: str, port: int, path: str, token: str | None = None,
         requests: int = LOAD_REQUESTS, threads: int = LOAD_THREADS) -> Load:
    """`requests` GETs of `path` from `threads` threads, each taking the next until none is left."""
    tickets = itertools.count()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        while next(tickets) < requests:
            started = time.perf_counter()
            try:
                status, _ = _call("GET", port, path, token=token)
            except OSError:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors[0] += 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return Load(name, requests, time.perf_counter() - started, latencies, errors[0])


def under_load() -> list[Load]:
    with devserver() as base:
        port = int(base.rsplit(":", 1)[1])
        status, reply = _call("POST", port, "/api/v1/auth/register", {
            "email": "load@example.com", "password": PASSWORD, "name": "Load", "plan": "starter",
            "billing": BILLING, "payment_method": "bank_transfer"})
        assert status == 201, reply
        token = reply["access_token"]
        return [load("GET /billing/plans", port, "/api/v1/billing/plans"),
                load("GET /auth/me", port, "/api/v1/auth/me", token=token,
                     requests=LOAD_REQUESTS // 2)]


# Report ----------------------------------------------------------------------------------------

def main() -> int:
    started = time.monotonic()
    print(f"Machine: {machine()}\n")
    rows = in_process()
    print(f"In process (Chalice test client, moto DynamoDB; medians of {READS} reads / {WRITES} "
          "writes; boto3 = the same DynamoDB calls made directly):")
    print(f"{'endpoint':<30}{'DynamoDB calls':<52}{'app ms':>8}{'boto3 ms':>10}{'ratio':>7}")
    for row in rows:
        calls = f"{len(row.calls)}: {' '.join(row.calls)}"
        print(f"{row.endpoint:<30}{calls:<52}{row.app_ms:>8.1f}{row.boto3_ms:>10.1f}{row.ratio:>7.1f}")
    print("(signup and login hash with argon2id rfc_9106_low_memory, as in production)\n")

    from bench import pdf

    pdf.report()

    from bench import coldstart

    cold = coldstart.measure(runs=9)
    print(f"Cold import (CPU, medians of {cold.runs} fresh processes each): import app "
          f"{cold.app * 1000:.0f} ms, its libraries alone {cold.libraries * 1000:.0f} ms; "
          f"ratio {cold.ratio:.2f} (median of paired samples; the target is at most 1.3)\n")

    size, pyc, parts = deployment_zip()
    top = ", ".join(f"{name} {bytes_ / 1e3:.0f} kB" for name, bytes_ in parts[:8])
    print(f"Deployment zip: {size / 1e6:.2f} MB ({pyc} modules precompiled; boto3/botocore left to "
          f"the Lambda runtime). Largest: {top}\n")

    print(f"python -m devserver under load ({LOAD_THREADS} threads on loopback, a new connection "
          "per request):")
    print(f"{'request':<24}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for result in under_load():
        print(f"{result.name:<24}{result.requests:>9}{result.rps:>8.0f}{result.percentile(50):>9.1f}"
              f"{result.percentile(99):>9.1f}{result.errors:>8}")
    print()

    from bench import sweep

    sweep.report()

    from bench import consume

    consume.report()

    from bench import statement_import

    statement_import.report()

    from bench import reports

    reports.report()

    from bench import reset_timing

    reset_timing.report()
    print(f"bench took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
