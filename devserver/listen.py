"""`make listen` (`python -m devserver.listen`): the events of a running `make dev`, one line each
as they arrive, like `stripe listen`.

It listens on 127.0.0.1:LISTEN_PORT (8013), logs in to API_URL (http://127.0.0.1:8011) as the dev
admin (ADMIN_EMAIL / ADMIN_PASSWORD, else make dev's own) and adds an endpoint for its own URL
through the API, for EVENTS (a comma list; every event by default). Each request is checked as a
receiver must check it (clients.billing_client.verify_webhook, the README's code): a verified event
is printed and answered 200, anything else is printed as refused and answered 400. FORWARD_TO=<url>
also POSTs each verified event there, the same bytes with the same headers (so that server checks
the same signature, with the secret printed at start), and prints its status. Ctrl+C (or SIGTERM)
deletes the endpoint.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from clients.billing_client import verify_webhook
from devserver import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD

WEBHOOKS = "/api/v1/billing/admin/webhooks"
PATH = "/webhooks"
DESCRIPTION = "make listen"
SIGNATURE = "Billing-Signature"
# Not passed on to FORWARD_TO: they describe this hop, not the event.
_HOP_HEADERS = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te",
                "upgrade", "proxy-connection"}
_print_lock = threading.Lock()


class Problem(Exception):
    """Why the listener cannot run, said as what to do."""


def say(*lines: str) -> None:
    with _print_lock:
        for line in lines:
            print(line, flush=True)


# The API ---------------------------------------------------------------------------------------

class Api:
    """The calls the listener makes, as the dev admin (logged in again when the token expired)."""

    def __init__(self, base_url: str, email: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.email, self.password = email, password
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True,
             again: bool = True) -> tuple[int, Any]:
        if auth and self.token is None:
            self.login()
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise Problem(f"Could not reach the billing API at {self.base_url} "
                          f"({getattr(error, 'reason', error)}). Start it first: `make dev` (in "
                          "another terminal), or set API_URL to where it runs.") from None
        if status == 401 and auth and again:  # an access token lasts 15 minutes: log in again
            self.token = None
            return self.call(method, path, body, again=False)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, {"error": {"message": raw[:200].decode(errors="replace")}}

    def login(self) -> None:
        status, body = self.call("POST", "/api/v1/auth/login",
                                 {"email": self.email, "password": self.password}, auth=False)
        if status != 200:
            raise Problem(f"Could not log in to {self.base_url} as {self.email}: {_message(body)} "
                          "Set ADMIN_EMAIL / ADMIN_PASSWORD to an owner's (`make dev` prints its "
                          "admin's).")
        self.token = body["access_token"]

    def create(self, url: str, events: list[str]) -> dict[str, Any]:
        # An endpoint left by a listener on this URL that was killed (not stopped) goes first.
        status, listed = self.call("GET", WEBHOOKS)
        for stale in (listed or {}).get("items", []) if status == 200 else []:
            if stale["url"] == url and stale.get("description") == DESCRIPTION:
                self.delete(stale["id"])
                say(f"Deleted {stale['id']}, left for {url} by an earlier make listen.")
        status, made = self.call("POST", WEBHOOKS, {"url": url, "events": events,
                                                    "description": DESCRIPTION})
        if status != 201:
            local = (made or {}).get("error", {}).get("code") == "webhook_url_not_allowed"
            raise Problem(f"The API refused an endpoint for {url}: {_message(made)}" + (
                " make listen needs `make dev`'s API, which takes http://127.0.0.1 "
                "(WEBHOOK_ALLOW_LOCAL=1)." if local else ""))
        return made

    def delete(self, endpoint_id: str) -> bool:
        status, _ = self.call("DELETE", f"{WEBHOOKS}/{endpoint_id}")
        return status in (204, 404)


def _message(body: Any) -> str:
    error = (body or {}).get("error") if isinstance(body, dict) else None
    return (error or {}).get("message") or "no answer."


# The receiver ----------------------------------------------------------------------------------

class Listener(ThreadingHTTPServer):
    daemon_threads = True
    secret = ""
    show_json = False
    forward_to: str | None = None


class Handler(BaseHTTPRequestHandler):
    server: Listener

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        at = time.strftime("%H:%M:%S")
        event = _event(body) if verify_webhook(self.server.secret, self.headers.get(SIGNATURE, ""),
                                               body) else None
        if event is None:
            say(f"{at}  refused  {self.command} {self.path}: {SIGNATURE} does not verify with this "
                "endpoint's secret (answered 400)")
            self._answer(400, b"bad signature")
            return
        lines = [f"{at}  {event.get('type', '?'):<25}  {event.get('id')}  {event.get('account_id')}"
                 f"  #{event.get('sequence')}"]
        if self.server.show_json:
            lines.append(json.dumps(event, indent=2, sort_keys=True))
        if self.server.forward_to:
            lines.append(f"          -> {self.server.forward_to}: {self._forward(body)}")
        say(*lines)
        self._answer(200, b"ok")

    def _forward(self, body: bytes) -> str:
        """POST the same bytes with the same headers to FORWARD_TO; its status, or what failed."""
        target = urlsplit(self.server.forward_to or "")
        https = target.scheme == "https"
        kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
        connection = kind(target.hostname or "", target.port, timeout=8)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in _HOP_HEADERS}
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read(1024)
            return f"{response.status} {response.reason}"
        except OSError as error:
            return f"not delivered ({error})"
        finally:
            connection.close()

    def _answer(self, status: int, text: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args: Any) -> None:
        pass  # one line per event is printed instead


def _event(body: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(body)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


# The command -----------------------------------------------------------------------------------

def _options(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="make listen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(env.get("LISTEN_PORT") or 8013),
                        help="where to listen on 127.0.0.1 (LISTEN_PORT; 0: any free port)")
    parser.add_argument("--api", default=env.get("API_URL") or "http://127.0.0.1:8011",
                        help="the running make dev's API (API_URL)")
    parser.add_argument("--events", default=env.get("EVENTS") or "*",
                        help="event types, comma separated (EVENTS; default *: every event)")
    parser.add_argument("--forward-to", default=env.get("FORWARD_TO") or None,
                        help="also POST each verified event here, unchanged (FORWARD_TO)")
    parser.add_argument("--json", action="store_true", default=env.get("LISTEN_JSON") == "1",
                        help="print each event's payload too (LISTEN_JSON=1)")
    return parser.parse_args(argv)


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    options = _options(argv)
    events = [e.strip() for e in options.events.split(",") if e.strip()] or ["*"]
    forward = urlsplit(options.forward_to or "http://127.0.0.1/")
    if forward.scheme not in ("http", "https") or not forward.hostname:
        print(f"FORWARD_TO={options.forward_to} is not a URL: give your server's, e.g. "
              "http://127.0.0.1:3000/webhooks.", file=sys.stderr)
        return 1
    try:
        listener = Listener(("127.0.0.1", options.port), Handler)
    except OSError as error:
        print(f"Could not listen on 127.0.0.1:{options.port} ({error}). Set LISTEN_PORT to a free "
              "port.", file=sys.stderr)
        return 1
    listener.show_json, listener.forward_to = options.json, options.forward_to
    url = f"http://127.0.0.1:{listener.server_address[1]}{PATH}"
    api = Api(options.api, os.environ.get("ADMIN_EMAIL") or DEV_ADMIN_EMAIL,
              os.environ.get("ADMIN_PASSWORD") or DEV_ADMIN_PASSWORD)
    signal.signal(signal.SIGTERM, _stop)
    made: dict[str, Any] | None = None
    code = 0
    try:
        made = api.create(url, events)
        listener.secret = made["secret"]
        which = "every event" if made["events"] == ["*"] else ", ".join(made["events"])
        say(f"Listening on {url} for {which} of {api.base_url} (endpoint {made['id']})",
            f"Signing secret: {made['secret']}",
            *([f"Forwarding to {options.forward_to} (it verifies with that secret)"]
              if options.forward_to else []),
            "Ctrl+C stops and deletes the endpoint.")
        listener.serve_forever()
    except KeyboardInterrupt:
        pass
    except Problem as problem:
        print(problem, file=sys.stderr)
        code = 1
    finally:
        listener.server_close()
        if made is not None:
            code = _delete(api, made["id"]) or code
    return code


def _delete(api: Api, endpoint_id: str) -> int:
    try:
        if api.delete(endpoint_id):
            say(f"Deleted endpoint {endpoint_id}.")
            return 0
        problem = "the API did not delete it"
    except Problem as error:
        problem = str(error)
    print(f"Could not delete endpoint {endpoint_id}: {problem} The next make listen on this port "
          f"deletes it, or: DELETE {WEBHOOKS}/{endpoint_id}.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
