"""Shared fixtures: moto in-process for fast tests, a devserver subprocess for real HTTP."""
from __future__ import annotations

import ast
import copy
import inspect
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The environment must be set before the app reads its settings.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    "JWT_SECRET": "test-secret-" + "x" * 40, "PASSWORD_HASH_PROFILE": "cheapest",
    "TABLE_PREFIX": "billing-dev", "STAGE": "dev", "WEBHOOK_ALLOW_LOCAL": "1",
    # Many signups from one address (the tests' own): the signup throttle's test sets it low
    "SIGNUP_MAX_PER_CLIENT": "100000", "SIGNUP_MAX_PER_CONTACT": "100000",
})
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)

import botocore.client  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.core.base_backend import BackendDict  # noqa: E402
from moto.dynamodb.models import dynamodb_backends  # noqa: E402
from moto.s3.models import s3_backends  # noqa: E402

import app as app_module  # noqa: E402
from chalicelib.accounts.admins import create_admin  # noqa: E402
from chalicelib.billing import proofs
from chalicelib.catalog.reference_data import SeedReport, seed  # noqa: E402
from chalicelib.core.config import get_settings, reset_settings  # noqa: E402
from chalicelib.core.secrets import read_parameter  # noqa: E402
from chalicelib.storage import store  # noqa: E402
from chalicelib.storage import models
from devserver.gateway import Gateway, local_test_client  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-test"
PASSWORD = "correct horse battery"
BILLING_PK = {"billing_name": "Khan Media (Pvt) Ltd", "billing_email": "billing@khan.pk",
              "address_line1": "12 Mall Road", "city": "Lahore", "postal_code": "54000",
              "country": "PK", "tax_id": "1234567-8"}


# Marks: `-m "not live and not browser"` runs in-process only ----------------------------------

BROWSER_DIR = PROJECT_DIR / "tests" / "browser"
# every collected test (before -m selects): its marks and the fixtures it uses
COLLECTED = pytest.StashKey[dict[str, tuple[set[str], set[str]]]]()
_running: list[pytest.Item] = []  # the test being run
_starts: dict[Any, bool] = {}


def _starts_a_devserver(function: Any) -> bool:
    """Whether the function's code calls `devserver(...)` (comments and strings do not count)."""
    if function not in _starts:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError, SyntaxError):
            tree = None
        _starts[function] = tree is not None and any(
            isinstance(node, ast.Call) and "devserver" in (getattr(node.func, "id", None),
                                                           getattr(node.func, "attr", None))
            for node in ast.walk(tree))
    return _starts[function]


def _functions_of(item: pytest.Item) -> list[Any]:
    """The test function and every fixture function it uses (directly or through fixtures)."""
    info = getattr(item, "_fixtureinfo", None)
    fixtures = [d.func for defs in (info.name2fixturedefs.values() if info else []) for d in defs]
    return [getattr(item, "obj", None), *fixtures]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark by what a test starts, before `-m` selects: every test under tests/browser is `browser`
    (and, through `web`, `live`); a test that calls `devserver()` or uses a fixture that does
    (`live_stack` and the modules' own stacks) is `live`. `devserver()` and the `browser` fixture
    fail a test that lacks the mark, for the cases this cannot see (a helper that starts one)."""
    for item in items:
        if BROWSER_DIR in item.path.parents:
            item.add_marker(pytest.mark.browser)
        if any(_starts_a_devserver(function) for function in _functions_of(item)):
            item.add_marker(pytest.mark.live)
        if item.get_closest_marker("live") or item.get_closest_marker("browser"):
            # One xdist worker runs the tests on the local stack (one shared stack, one browser)
            # while the other runs the in-process tests.
            item.add_marker(pytest.mark.xdist_group("stack"))
    config.stash[COLLECTED] = {
        item.nodeid: ({mark.name for mark in item.iter_markers()},
                      set(getattr(item, "fixturenames", ())))
        for item in items}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


def require_mark(name: str, what: str) -> None:
    """Fail the running test unless it is marked `name` (it `what`: starts a devserver...)."""
    item = _running[-1] if _running else None
    if item is not None and item.get_closest_marker(name) is None:
        pytest.fail(f"{item.nodeid} {what} but is not marked {name!r}: mark it "
                    f"(`@pytest.mark.{name}`), so that `-m \"not live and not browser\"` leaves "
                    f"it out", pytrace=False)


# AWS in-process (moto) --------------------------------------------------------------------------
#
# moto's backends are global to the process. Each test module gets a moto of its own with the
# tables, the reference data, the admin and the proofs bucket (`moto_module`); each test that asks
# for `aws` (or `api`, `paid_signup`) gets it back in that state in a few milliseconds. A test that
# needs a moto with nothing in it (no table yet) uses `fresh_moto()`.


def _dynamodb() -> Any:
    """moto's DynamoDB of this account and region (a new one after moto resets its backends)."""
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][get_settings().region]


def stored_items(model: type) -> list[dict[str, Any]]:
    """A model's items as stored (DynamoDB JSON), read from moto's backend: what a Scan returns,
    without the Scan's cost (moto spends most of a Scan serializing the response)."""
    table = _dynamodb().get_table(model.Meta.table_name)
    return [item.to_json()["Attributes"] for item in table.all_items()]


def _s3() -> Any:
    """moto's S3 of this account (one for the partition)."""
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


def _reset_other_services() -> None:
    """Every moto service but DynamoDB back to empty: SES (its verified senders and sent
    messages), S3 (buckets and objects), SSM (parameters), ..."""
    for backends in list(BackendDict._instances):
        if backends.service_name != "dynamodb":
            for account_backends in list(backends.values()):
                account_backends.reset()


@dataclass
class _SetUp:
    """What setting a moto up through the API made, kept to put into each module's moto."""

    seed_report: SeedReport
    tables: Any
    buckets: Any
    connection: Any
    bindings: dict[type, tuple[Any, ...]]


class MotoStore:
    """A moto set up as the app expects a stage, that `restore()` puts back to that state.

    Set up: the tables, the reference data, the proofs bucket and the admin, made through the API
    in the first module's moto (creating the tables is the slow part) and copied into each later
    module's. Restored: the DynamoDB tables as set up (items, indexes, streams: deep copies, as moto
    restores a backup), the bucket as set up (no object), every other service empty, the models
    bound to the one shared connection again, the settings and the SSM cache dropped.
    """

    _set_up: _SetUp | None = None  # once per run

    def __init__(self) -> None:
        reset_settings()
        read_parameter.cache_clear()
        if MotoStore._set_up is None:
            store.init()
            models.create_missing_tables()
            report = seed()
            proofs.ensure_bucket(get_settings().web_origin)
            create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
            MotoStore._set_up = _SetUp(
                report, self.checkpoint(), copy.deepcopy(_s3().buckets), store._connection,
                {model: (model.Meta.table_name, model.Meta.region, model.Meta.host,
                         model._connection) for model in models.ALL_MODELS})
        self._set_up = MotoStore._set_up
        self.seed_report = self._set_up.seed_report  # seeding empty tables: 19 created
        self.restore()

    def checkpoint(self) -> Any:
        """DynamoDB's tables as they are now, for `restore(checkpoint)`: a module that builds a
        world once restores it for each test (S3 and the other services are not kept)."""
        return copy.deepcopy(_dynamodb().tables)

    def restore(self, checkpoint: Any = None) -> None:
        """Back to the state set up, or with DynamoDB as it was at `checkpoint`."""
        reset_settings()
        read_parameter.cache_clear()
        _reset_other_services()
        _s3().buckets = copy.deepcopy(self._set_up.buckets)
        tables = self._set_up.tables if checkpoint is None else checkpoint
        _dynamodb().tables = copy.deepcopy(tables)
        store._connection = self._set_up.connection
        for model, (table_name, region, host, connection) in self._set_up.bindings.items():
            model.Meta.table_name, model.Meta.region, model.Meta.host = table_name, region, host
            model._connection = connection


@pytest.fixture(scope="module")
def moto_module() -> Iterator[MotoStore]:
    """One moto for the test module, set up once (see `MotoStore`)."""
    with mock_aws():
        yield MotoStore()
    reset_settings()


@pytest.fixture
def aws(moto_module: MotoStore) -> Iterator[None]:
    """The module's moto as set up: the tables with the reference data and the admin, the empty
    proofs bucket, nothing else in any service (what a fresh moto set up for the test would hold).
    No admin role is remembered from another test's store."""
    from chalicelib.accounts import admin_roles

    moto_module.restore()
    admin_roles.forget()
    yield


@contextmanager
def fresh_moto() -> Iterator[None]:
    """A moto with nothing in it (no table, no bucket) for the block, and nothing left behind;
    inside a module's moto too (its next `aws` restores it)."""
    with mock_aws():
        BackendDict.reset()
        reset_settings()
        read_parameter.cache_clear()
        try:
            yield
        finally:
            BackendDict.reset()
            reset_settings()


@dataclass
class Reply:
    """An HTTP response: status, decoded JSON body, headers."""

    status: int
    body: Any
    headers: dict[str, str]


def local_client(app: Any) -> Client:
    """Chalice's test client with the dev stage's variables as `make dev` runs the app (without the
    deployed stage's token secret parameter: the tests keep a local JWT_SECRET, and name a
    parameter themselves where they test SSM)."""
    return local_test_client(app, str(PROJECT_DIR))  # type: ignore[no-any-return]


class Api:
    """The app through Chalice's test client (with the dev gateway's 404 for unknown routes)."""

    def __init__(self, second_approvals: bool = False) -> None:
        """`second_approvals`: a first of two approvals (202) is followed at once by a second
        admin's (for the state machines, whose admin approves in one step)."""
        self.second_approvals = second_approvals
        self._client = local_client(app_module.app)
        self._references: dict[str, str] = {}
        self._client.http._local_gateway = Gateway(app_module.app, self._client.http._config)

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        sent = {"content-type": "application/json", **(headers or {})}
        if token:
            sent["authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        response = self._client.http.request(method, path, headers=sent, body=data)
        headers = {k.lower(): v for k, v in response.headers.items()}
        if headers.get("content-type") in ("application/pdf", "text/csv; charset=utf-8"):
            return Reply(response.status_code, response.body, headers)  # a file: its bytes
        text = response.body.decode() if response.body else ""
        reply = Reply(response.status_code, json.loads(text) if text else None, headers)
        if (self.second_approvals and reply.status == 202 and method == "POST"
                and path.rstrip("/").endswith("/approve")):
            assert (reply.body["approvals_required"], len(reply.body["approvals"])) == (2, 1)
            return self.request(method, path, body=body, raw=raw, headers=headers,
                                token=self.second_approver_token())
        return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, body=body, **kw)

    # Workflow helpers -------------------------------------------------------------------------

    def register(self, email: str, plan: str = "free", **extra: Any) -> Reply:
        body = {"email": email, "password": PASSWORD, "name": "Ayesha Khan",
                "account_name": "Khan Media", "plan": plan, **extra}
        if plan != "free":
            body.setdefault("billing", BILLING_PK)
        return self.post("/api/v1/auth/register", body)

    def login(self, email: str, password: str = PASSWORD) -> str:
        reply = self.post("/api/v1/auth/login", {"email": email, "password": password})
        assert reply.status == 200, reply.body
        return reply.body["access_token"]

    def admin_token(self) -> str:
        return self.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    def confirm(self, token: str, invoice_id: str, amount: str = "89.00",
                method: str = "bank_transfer", reference: Any = ..., **extra: Any) -> Reply:
        """Confirm a payment; the reference defaults to the seed's BT-2025-001 for the first
        account that confirms, and is made unique for others (a bank reference is used once)."""
        if reference is ...:
            reference = "BT-2025-001"
            self._references.setdefault(reference, invoice_id)
            if self._references[reference] != invoice_id:
                reference = f"BT-2025-{len(self._references) + 1:03d}"
                self._references[reference] = invoice_id
        return self.post("/api/v1/billing/admin/payments/confirm/", {
            "invoice_id": invoice_id, "payment_method": method, "amount": amount,
            "manual_reference": reference, **extra}, token=token)

    def approve(self, token: str, payment_id: str, notes: str = "Verified in bank statement") -> Reply:
        """Approve; a payment that needs two approvers (202 after the first) is approved by a
        second admin too (made the first time one is needed)."""
        reply = self.post(f"/api/v1/billing/admin/payments/{payment_id}/approve/",
                          {"admin_notes": notes}, token=token)
        if reply.status == 202:
            reply = self.post(f"/api/v1/billing/admin/payments/{payment_id}/approve/",
                              {"admin_notes": notes}, token=self.second_approver_token())
        return reply

    def second_approver_token(self) -> str:
        """An approver other than the seeded owner (for payments that need two admins)."""
        from chalicelib.accounts.auth import hash_password
        from chalicelib.core.clock import new_id, stamp
        from chalicelib.storage.models.accounts import UserModel

        email = "second-approver@example.com"
        if store.get(UserModel, email) is None:
            UserModel(email, user_id=new_id("usr"), account_id=new_id("acc"), name="Second",
                      password_hash=hash_password(ADMIN_PASSWORD), role="admin",
                      created_at=stamp(), staff="admin", admin_role="approver").save()
        return self.login(email, ADMIN_PASSWORD)

    def reject(self, token: str, payment_id: str, notes: str = "Reference not found") -> Reply:
        return self.post(f"/api/v1/billing/admin/payments/{payment_id}/reject/",
                         {"admin_notes": notes}, token=token)


@pytest.fixture
def api(aws: None) -> Api:
    """The app with a fresh store."""
    return Api()


@dataclass
class PaidSignup:
    """A paid signup's token and ids."""

    token: str
    account_id: str
    invoice_id: str
    subscription_id: str
    email: str


@pytest.fixture
def paid_signup(api: Api) -> PaidSignup:
    """A user who signed up for the starter plan (89.00 USD, 1000 credits) from Pakistan."""
    reply = api.register("ayesha@khan.pk", plan="starter", payment_method="bank_transfer")
    assert reply.status == 201, reply.body
    body = reply.body
    return PaidSignup(body["access_token"], body["account"]["id"], body["invoice"]["id"],
                      body["subscription"]["id"], "ayesha@khan.pk")


@contextmanager
def aws_spy(record: Callable[[str, str, dict[str, Any]], None]) -> Iterator[None]:
    """Call `record(service, operation, params)` for every AWS call any client makes in the block
    (spies nest: each wraps the one before)."""
    inner = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation_name: str, api_params: Any) -> Any:
        record(self.meta.service_model.service_name, operation_name, api_params)
        return inner(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = spy
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = inner


def operations_of(service: str, calls: list[str]) -> Callable[[str, str, dict[str, Any]], None]:
    """A recorder for `aws_spy` keeping the operation names of one service."""
    return lambda name, operation, _: calls.append(operation) if name == service else None


@pytest.fixture
def ddb_calls() -> Iterator[list[str]]:
    """Every DynamoDB operation the code makes while the fixture is active, in order."""
    calls: list[str] = []
    with aws_spy(operations_of("dynamodb", calls)):
        yield calls


# Real HTTP against the local stack ------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveStack:
    """`python -m devserver` (what `make dev` runs) on free ports, with its mailbox folder."""

    base_url: str
    dynamodb_endpoint: str
    output: Path
    mailbox: Path
    process: subprocess.Popen | None = None
    web_url: str = ""


@contextmanager
def devserver(folder: Path, **env_overrides: str) -> Iterator[LiveStack]:
    """Run `python -m devserver` on free ports until the block ends; its files go in `folder`.
    Only for tests marked `live` (the test fails otherwise). A start costs seconds: use the shared
    `live_stack` unless the test must stop or kill the server, or needs a store of its own."""
    require_mark("live", "starts a devserver")
    DEVSERVER_STARTS.append(_running[-1].nodeid if _running else "?")
    port, dynamodb_port, web_port = free_port(), free_port(), free_port()
    output, mailbox = folder / "output.log", folder / "mailbox"
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("JWT_SECRET", "PASSWORD_HASH_PROFILE", "DYNAMODB_ENDPOINT_URL",
                        "SES_ENDPOINT_URL", "WEB_APP_URL")}
    env.update({"PORT": str(port), "DYNAMODB_PORT": str(dynamodb_port), "WEB_PORT": str(web_port),
                "MAILBOX_DIR": str(mailbox), "DATA_DIR": str(folder / "data"),
                "ADMIN_EMAIL": ADMIN_EMAIL, "ADMIN_PASSWORD": ADMIN_PASSWORD, **env_overrides})
    with output.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "devserver"], cwd=PROJECT_DIR, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/api/v1/billing/plans", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"devserver did not start:\n{output.read_text()}")
                time.sleep(0.2)
        endpoint = env_overrides.get("DYNAMODB_ENDPOINT_URL", f"http://127.0.0.1:{dynamodb_port}")
        yield LiveStack(base_url, endpoint, output, mailbox, process,
                        web_url=f"http://127.0.0.1:{web_port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


DEVSERVER_STARTS: list[str] = []  # the test that started each devserver of this run
REPORT: list[str] = []  # lines for the run's summary (what the fuzzers drew and checked)


def report(line: str) -> None:
    """Say `line` in the run's summary (also from an xdist worker)."""
    REPORT.append(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the lines to the controller
        workeroutput["report"] = list(REPORT)
        workeroutput["devserver_starts"] = list(DEVSERVER_STARTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {})
    REPORT.extend(output.get("report", []))
    DEVSERVER_STARTS.extend(output.get("devserver_starts", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in REPORT:
        terminalreporter.write_line(line)
    if DEVSERVER_STARTS:
        terminalreporter.write_line(f"devserver started {len(DEVSERVER_STARTS)} time(s): "
                                    + ", ".join(sorted(set(DEVSERVER_STARTS))))


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """One local stack shared by the live tests of a run (the browser tests' too)."""
    with devserver(tmp_path_factory.mktemp("devserver")) as stack:
        yield stack


def http(method: str, url: str, body: Any = None, token: str | None = None,
         headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:
    """One real HTTP request; returns status, JSON body and headers, 4xx/5xx included."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), dict(error.headers)
    return Reply(status, json.loads(raw) if raw else None, {k.lower(): v for k, v in got.items()})
