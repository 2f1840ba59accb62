"""Webhooks on a local stack over real HTTP: two delivery runs at once (two processes against the
stack's DynamoDB) send each event once per endpoint; `make listen` (`python -m devserver.listen`)
end to end; `make dev WEBHOOK_FORWARD_URL=...` sends every event, signed with the secret its
banner prints.

A stack of its own, started with WEBHOOK_WORKER=0: its every-second worker would otherwise deliver
the events before the runs under test start, so only the runs the tests start deliver (each
claim is tested in-process in tests/webhooks/test_delivery.py).
"""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from clients.billing_client import verify_webhook
from tests.conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, PROJECT_DIR, LiveStack,
                            devserver, free_port, http)
from tests.helpers import live_paid_signup, live_token

pytestmark = pytest.mark.live
WEBHOOKS = "/api/v1/billing/admin/webhooks"
SLOW = 0.5  # seconds the slow endpoint takes to answer, so that the two runs overlap
# One delivery run, as the schedule makes it (app.deliver_webhooks); it says "ready" once loaded
# and starts when a line arrives on stdin, with that line's time as its clock's (so that two runs
# start at the same moment, and each sees as due what the other hands over).
RUN = """import json, sys
from chalicelib.core.clock import parse_stamp
from chalicelib.storage import store
from chalicelib.webhooks import delivery
store.ready()
print("ready", flush=True)
print(json.dumps(delivery.run(parse_stamp(sys.stdin.readline().strip())).counts()), flush=True)
"""


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every request by path and answers 200 (after
    `delays[path]` seconds)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.delays: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delays.get(self.path, 0))
                receiver.received.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, path: str, secret: str) -> list[dict[str, Any]]:
        """The events received at `path`, each checked against its signature."""
        found = []
        for one in [r for r in self.received if r["path"] == path]:
            assert verify_webhook(secret, one["headers"]["Billing-Signature"], one["body"]), one
            found.append(json.loads(one["body"]))
        return found


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[LiveStack]:
    # The token secret (and so the webhook secrets derived from it) is the test process's, which
    # the delivery runs started here inherit.
    with devserver(tmp_path_factory.mktemp("webhooks-stack"), WEBHOOK_WORKER="0",
                   WEBHOOK_FORWARD_URL=f"{receiver.base}/forward",
                   JWT_SECRET=os.environ["JWT_SECRET"], PASSWORD_HASH_PROFILE="cheapest") as own:
        yield own


@pytest.fixture(scope="module")
def admin(stack: LiveStack) -> str:
    return live_token(stack.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def forward_secret(stack: LiveStack, receiver: Receiver) -> str:
    """The secret the banner prints for WEBHOOK_FORWARD_URL."""
    banner = re.search(r"^Webhooks: forwarding every event to (\S+), signed with (whsec_\S+) "
                       r'\(README: "Verify a signature"\)$', stack.output.read_text(), re.M)
    assert banner, stack.output.read_text()
    assert banner.group(1) == f"{receiver.base}/forward"
    return banner.group(2)


def _delivery_runs(stack: LiveStack, count: int) -> list[dict[str, int]]:
    """`count` delivery runs against the stack's DynamoDB, released at the same moment; their
    reports."""
    env = {**os.environ, "DYNAMODB_ENDPOINT_URL": stack.dynamodb_endpoint,
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    runs = [subprocess.Popen([sys.executable, "-c", RUN], cwd=PROJECT_DIR, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(count)]
    try:
        for run in runs:
            assert run.stdout.readline() == "ready\n", run.communicate(timeout=10)[1]
        now = datetime.now(timezone.utc).isoformat()
        for run in runs:  # each is waiting on its stdin: go
            run.stdin.write(now + "\n")
            run.stdin.flush()
        outputs = [run.communicate(timeout=120) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
    assert [run.returncode for run in runs] == [0] * count, outputs
    return [json.loads(out) for out, _ in outputs]


def _items(stack: LiveStack, table: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", endpoint_url=stack.dynamodb_endpoint, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    pages = client.get_paginator("scan").paginate(TableName=f"billing-dev-{table}",
                                                  ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def _endpoints(base: str, admin: str) -> list[dict[str, Any]]:
    return http("GET", base + WEBHOOKS, token=admin).body["items"]


def _free_signup(base: str) -> str:
    email = f"{uuid.uuid4().hex[:10]}@example.pk"
    reply = http("POST", f"{base}/api/v1/auth/register",
                 {"email": email, "password": PASSWORD, "name": "Hook", "plan": "free"})
    assert reply.status == 201, reply.body
    return reply.body["account"]["id"]


def test_two_delivery_runs_at_once_send_each_event_once_per_endpoint(
        stack: LiveStack, receiver: Receiver, admin: str, forward_secret: str) -> None:
    base = stack.base_url
    # Given a second endpoint, slow to answer, beside WEBHOOK_FORWARD_URL's
    receiver.delays["/slow"] = SLOW
    slow = http("POST", base + WEBHOOKS, {"url": f"{receiver.base}/slow", "events": ["*"]},
                token=admin)
    assert slow.status == 201, slow.body
    try:
        # And a few signups with their payments confirmed (three events each)
        accounts = {live_paid_signup(base)[1] for _ in range(2)}
        made = {e["event_id"]["S"] for e in _items(stack, "webhook_events")
                if e["account_id"]["S"] in accounts}
        assert len(made) >= 3 * len(accounts)
        # When two delivery runs start at the same moment
        reports = _delivery_runs(stack, 2)
    finally:
        assert http("DELETE", f"{base}{WEBHOOKS}/{slow.body['id']}", token=admin).status == 204
    # Then both made attempts (they overlapped), and each event reached each endpoint once
    assert all(report["attempted"] > 0 for report in reports), reports
    for path, secret in (("/forward", forward_secret), ("/slow", slow.body["secret"])):
        got = Counter(e["id"] for e in receiver.events(path, secret) if e["account_id"] in accounts)
        assert got == Counter(made), (path, got)
    # And every one of those deliveries is delivered, at its first attempt
    deliveries = [d for d in _items(stack, "webhook_deliveries") if d["event_id"]["S"] in made]
    assert len(deliveries) == 2 * len(made)
    assert {(d["status"]["S"], d["attempts"]["N"]) for d in deliveries} == {("delivered", "1")}


class _Lines:
    """The lines a process prints, read in a thread; `until` waits for one."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._queue.put(line) for line in process.stdout],
                         daemon=True).start()

    def until(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in:\n" + "".join(self.seen)) from None
            self.seen.append(line)
            if text in line:
                return line


def test_make_listen_prints_verified_events_refuses_forged_ones_and_deletes_its_endpoint(
        stack: LiveStack, receiver: Receiver, admin: str) -> None:
    base, port = stack.base_url, free_port()
    # Given make listen against the stack, forwarding to the SaaS's own server
    listen = subprocess.Popen(
        [sys.executable, "-m", "devserver.listen"], cwd=PROJECT_DIR, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "API_URL": base, "LISTEN_PORT": str(port), "ADMIN_EMAIL": ADMIN_EMAIL,
             "ADMIN_PASSWORD": ADMIN_PASSWORD, "FORWARD_TO": f"{receiver.base}/own"})
    try:
        lines = _Lines(listen)
        endpoint_id = re.search(r"\(endpoint (whe_\w+)\)", lines.until("Listening on")).group(1)
        secret = lines.until("Signing secret: ").split()[-1]
        lines.until("Ctrl+C stops")
        [mine] = [e for e in _endpoints(base, admin) if e["id"] == endpoint_id]
        assert (mine["url"], mine["events"]) == (f"http://127.0.0.1:{port}/webhooks", ["*"])
        # When an event is made and delivered
        account_id = _free_signup(base)
        _delivery_runs(stack, 1)
        # Then its line is printed, and the same bytes and headers went on to FORWARD_TO
        line = lines.until(account_id)
        assert re.fullmatch(rf"\d\d:\d\d:\d\d  account\.created +evt_\w+  {account_id}  #\d+\n",
                            line), line
        assert f"-> {receiver.base}/own: 200 OK" in lines.until("->")
        [own] = [e for e in receiver.events("/own", secret) if e["account_id"] == account_id]
        assert (own["type"], own["id"]) == ("account.created", line.split()[2])
        # When a request with a forged signature arrives
        forged = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks", data=b'{"id": "evt_forged"}', method="POST",
            headers={"Billing-Signature": f"t={int(time.time())},v1={'0' * 64}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=10)
        # Then it is refused, said so, and not forwarded
        assert refused.value.code == 400
        assert "refused" in lines.until("refused")
        assert not [r for r in receiver.received if b"evt_forged" in r["body"]]
        # When it is stopped (SIGTERM), it deletes its endpoint
        listen.send_signal(signal.SIGTERM)
        assert listen.wait(timeout=20) == 0
        lines.until(f"Deleted endpoint {endpoint_id}.")
    finally:
        if listen.poll() is None:
            listen.kill()
    assert endpoint_id not in [e["id"] for e in _endpoints(base, admin)]


def test_make_listen_without_make_dev_says_to_start_it() -> None:
    done = subprocess.run([sys.executable, "-m", "devserver.listen", "--port", "0"],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30,
                          env={**os.environ, "API_URL": f"http://127.0.0.1:{free_port()}"})
    assert done.returncode == 1
    assert "Could not reach the billing API" in done.stderr and "make dev" in done.stderr


def test_make_devs_forward_url_gets_every_event_signed_with_the_banners_secret(
        stack: LiveStack, receiver: Receiver, forward_secret: str) -> None:
    account_id = _free_signup(stack.base_url)
    _delivery_runs(stack, 1)
    events = receiver.events("/forward", forward_secret)  # each one's signature checked
    assert "account.created" in [e["type"] for e in events if e["account_id"] == account_id]
