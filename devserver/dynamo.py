"""An embedded DynamoDB (moto) on its own port, with requests served one at a time.

moto's backend is not safe under concurrent requests (it can lose writes), so a lock around the
WSGI app serializes them; the API server in front stays multi-threaded.

moto keeps its data in memory. With a journal file, every DynamoDB write that moto acknowledged
is appended to it and flushed to disk *before* the client gets the answer, and the journal is
replayed when the server starts again: what `make dev` acknowledged survives a restart, or a
crash. On start, once replayed, the journal is rewritten as a snapshot (tables and items) so it
does not grow forever.
"""
from __future__ import annotations

import base64
import io
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import EnvironBuilder

log = logging.getLogger(__name__)

TARGET_PREFIX = "DynamoDB_20120810."
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
          "CreateTable", "UpdateTable", "DeleteTable", "UpdateTimeToLive"}
_SNAPSHOT_BATCH = 25


class Journal:
    """An append-only file of the DynamoDB writes moto acknowledged, one JSON line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: io.BufferedWriter | None = None

    def entries(self) -> Iterator[dict[str, str]]:
        if not self.path.exists():
            return
        with self.path.open("rb") as file:
            for number, line in enumerate(file, 1):
                try:
                    yield json.loads(line)
                except ValueError:  # a line cut short by a crash mid-write was never acknowledged
                    log.warning("journal %s: skipping unreadable line %d", self.path, number)

    def append(self, region: str, operation: str, body: bytes) -> None:
        self.append_line(_line(region, operation, body))

    def append_line(self, line: bytes) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def rewrite(self, lines: Iterable[bytes]) -> None:
        """Replace the journal with `lines` atomically (write aside, fsync, rename)."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        aside = self.path.with_suffix(".tmp")
        with aside.open("wb") as file:
            for line in lines:
                file.write(line)
            file.flush()
            os.fsync(file.fileno())
        os.replace(aside, self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _line(region: str, operation: str, body: bytes) -> bytes:
    record = {"region": region, "op": operation, "body": base64.b64encode(body).decode()}
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


# The headers that make a PUT a copy (an attached proof is copied from its upload): replayed with
# it, or the copy would come back empty. Its preconditions held when it was acknowledged.
_S3_COPY_HEADERS = ("HTTP_X_AMZ_COPY_SOURCE", "HTTP_X_AMZ_METADATA_DIRECTIVE")


def _s3_line(environ: dict[str, Any], body: bytes) -> bytes:
    """A journal line for an S3 write (an uploaded proof of payment, its copy, a bucket's setting)."""
    record = {"s3": environ["REQUEST_METHOD"], "path": environ.get("PATH_INFO", "/"),
              "query": environ.get("QUERY_STRING", ""), "type": environ.get("CONTENT_TYPE", ""),
              "body": base64.b64encode(body).decode(),
              "headers": {name[5:].replace("_", "-"): environ[name]
                          for name in _S3_COPY_HEADERS if name in environ}}
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def _is_s3_write(environ: dict[str, Any]) -> bool:
    """moto serves S3 on paths /<bucket>[/<key>]; SES posts forms to /, DynamoDB has a target."""
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    if environ.get("HTTP_X_AMZ_TARGET") or path.startswith("/moto-api"):
        return False
    return method in ("PUT", "DELETE") or (method == "POST" and path != "/")


def _s3_request(entry: dict[str, Any]) -> dict[str, Any]:
    headers = dict(entry.get("headers") or {})
    if entry["type"]:
        headers["Content-Type"] = entry["type"]
    return EnvironBuilder(method=entry["s3"], path=entry["path"], query_string=entry["query"],
                          data=base64.b64decode(entry["body"]), headers=headers).get_environ()


def _region_of(environ: dict[str, Any]) -> str:
    try:  # Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request
        scope = environ.get("HTTP_AUTHORIZATION", "").split(",")[0].split()[1]
        return scope.split("/")[2]
    except IndexError:
        return "us-east-1"


def _request(region: str, operation: str, body: bytes) -> dict[str, Any]:
    """A WSGI environ for one DynamoDB call (moto routes by the credential scope and target)."""
    return EnvironBuilder(method="POST", path="/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": TARGET_PREFIX + operation,
        "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/"
                         "aws4_request, SignedHeaders=host, Signature=0"}).get_environ()


class SerializedApp:
    """A WSGI wrapper that runs one request at a time, reading the whole response in the lock,
    and journals each acknowledged DynamoDB write before answering."""

    def __init__(self, app: Any, journal: Journal | None = None) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.journal = journal

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else ""
        s3_write = self.journal is not None and not operation and _is_s3_write(environ)
        journaled = self.journal is not None and operation in WRITES
        if journaled or s3_write:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            request_body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(request_body)
        status: list[str] = []

        def remember(code: str, headers: Any, *args: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *args)

        with self._lock:
            result = self._app(environ, remember)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
            if journaled and status and status[0].startswith("200"):
                assert self.journal is not None
                self.journal.append(_region_of(environ), operation, request_body)
            elif s3_write and status and status[0][:1] == "2":
                assert self.journal is not None
                self.journal.append_line(_s3_line(environ, request_body))
        return [body]

    def call(self, region: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """One DynamoDB call straight into moto (not journaled); its decoded JSON answer."""
        status: list[str] = []
        with self._lock:
            result = self._app(_request(region, operation, json.dumps(body).encode()),
                               lambda code, headers, *args: status.append(code))
            answer = b"".join(result)
        if not status[0].startswith("200"):
            raise RuntimeError(f"{operation} failed: {status[0]} {answer[:300]!r}")
        return json.loads(answer or b"{}")

    def replay(self) -> int:
        """Apply the journal to the (empty) store; the number of writes applied."""
        assert self.journal is not None
        applied = 0
        for entry in self.journal.entries():
            status: list[str] = []
            if "s3" in entry:
                request, what = _s3_request(entry), f"S3 {entry['s3']} {entry['path']}"
            else:
                request = _request(entry["region"], entry["op"], base64.b64decode(entry["body"]))
                what = entry["op"]
            with self._lock:
                b"".join(self._app(request, lambda code, headers, *args: status.append(code)))
            if status and status[0][:1] == "2":
                applied += 1
            else:
                log.warning("journal: %s no longer applies (%s)", what, status[:1])
        return applied

    def snapshot(self) -> Iterator[bytes]:
        """The journal lines that recreate the current tables and items, then the S3 writes as
        they were (a few uploaded files in development, kept in order)."""
        yield from self._dynamodb_snapshot()
        for entry in self.journal.entries() if self.journal else []:
            if "s3" in entry:
                yield json.dumps(entry, separators=(",", ":")).encode() + b"\n"

    def _dynamodb_snapshot(self) -> Iterator[bytes]:
        entries = list(self.journal.entries()) if self.journal else []
        regions = sorted({entry["region"] for entry in entries if "region" in entry})
        for region in regions or ["us-east-1"]:
            names: list[str] = []
            start: dict[str, Any] = {}
            while True:
                page = self.call(region, "ListTables", start)
                names += page.get("TableNames", [])
                if not page.get("LastEvaluatedTableName"):
                    break
                start = {"ExclusiveStartTableName": page["LastEvaluatedTableName"]}
            for name in names:
                yield from self._table_snapshot(region, name)

    def _table_snapshot(self, region: str, name: str) -> Iterator[bytes]:
        table = self.call(region, "DescribeTable", {"TableName": name})["Table"]
        create: dict[str, Any] = {
            "TableName": name, "KeySchema": table["KeySchema"],
            "AttributeDefinitions": table["AttributeDefinitions"],
            "BillingMode": table.get("BillingModeSummary", {}).get("BillingMode", "PAY_PER_REQUEST")}
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if table.get(kind):
                create[kind] = [{"IndexName": index["IndexName"], "KeySchema": index["KeySchema"],
                                 "Projection": index["Projection"]} for index in table[kind]]
        if table.get("StreamSpecification", {}).get("StreamEnabled"):
            create["StreamSpecification"] = table["StreamSpecification"]
        yield _line(region, "CreateTable", json.dumps(create).encode())
        ttl = self.call(region, "DescribeTimeToLive", {"TableName": name}).get(
            "TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            spec = {"Enabled": True, "AttributeName": ttl["AttributeName"]}
            yield _line(region, "UpdateTimeToLive",
                        json.dumps({"TableName": name, "TimeToLiveSpecification": spec}).encode())
        start: dict[str, Any] = {}
        while True:
            page = self.call(region, "Scan", {"TableName": name, **start})
            items = page.get("Items", [])
            for offset in range(0, len(items), _SNAPSHOT_BATCH):
                batch = [{"PutRequest": {"Item": item}}
                         for item in items[offset:offset + _SNAPSHOT_BATCH]]
                yield _line(region, "BatchWriteItem",
                            json.dumps({"RequestItems": {name: batch}}).encode())
            if not page.get("LastEvaluatedKey"):
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


class EmbeddedDynamo:
    """moto's DynamoDB served on host:port in a background thread; with `journal`, durable."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, journal: Path | None = None) -> None:
        self._app = SerializedApp(DomainDispatcherApplication(create_backend_app),
                                  Journal(journal) if journal else None)
        self.restored = 0
        if self._app.journal is not None:
            self.restored = self._app.replay()
            self._app.journal.rewrite(self._app.snapshot())
        app = self._app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="embedded-dynamodb")

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmbeddedDynamo":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        if self._app.journal is not None:
            self._app.journal.close()
