"""Structured logs and metrics, as JSON lines on stdout (which Lambda sends to CloudWatch Logs).

Logs: one JSON object per line — `timestamp`, `level`, `logger`, `message`, the request's
`request_id` (and `actor` once the token is verified), plus the record's own fields — queryable
by field in CloudWatch Logs Insights. Every committed state change is one `state_change` line
(`records.add_audit` registers it on the transaction). Keys that name a secret (password, token,
authorization, ...) are masked wherever they appear, as a second line of defence.

Metrics: CloudWatch embedded metric format — a line with an `_aws` member becomes a metric with no
API call and no client: PaymentsSubmitted, PaymentsApproved, PaymentsRejected (on commit) and
Errors (5xx responses), in the `Billing` namespace with the stage as dimension.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TextIO

from chalicelib.core.config import get_settings

NAMESPACE = "Billing"
LOGGER = "chalicelib"
_MASK = "[redacted]"
_SECRET_WORDS = ("password", "token", "secret", "authorization", "cookie", "credential")
# (entity type, audit action) -> metric counted when the change commits
STATE_METRICS = {
    ("payment", "submitted"): "PaymentsSubmitted",
    ("payment", "approved"): "PaymentsApproved",
    ("payment", "rejected"): "PaymentsRejected",
}
ERRORS = "Errors"

_context: ContextVar[Mapping[str, str]] = ContextVar("telemetry_context", default={})
log = logging.getLogger(f"{LOGGER}.telemetry")


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """A copy with the value of every key that names a secret masked, at any depth."""
    if isinstance(value, Mapping):
        return {k: _MASK if isinstance(k, str) and _is_secret(k) else redact(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line with the request's context and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            **_context.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(redact(entry), default=str, separators=(",", ":"))


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time (so captures and redirects see it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


_handler = StdoutHandler()


def configure(*loggers: logging.Logger) -> None:
    """Send the app's loggers (chalicelib's and the given ones, e.g. Chalice's `app.log`) to
    stdout as JSON lines at LOG_LEVEL (default INFO), and nowhere else."""
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    for logger in (logging.getLogger(LOGGER), *loggers):
        logger.handlers[:] = [_handler]
        logger.setLevel(level)
        logger.propagate = False


@contextmanager
def scope(**values: str) -> Iterator[None]:
    """Add these fields (e.g. request_id) to every log line and metric written in the block."""
    token = _context.set({**_context.get(), **values})
    try:
        yield
    finally:
        _context.reset(token)


def annotate(**values: str) -> None:
    """Add fields to the current scope (e.g. the actor, once the token is verified)."""
    _context.set({**_context.get(), **values})


def state_change(*, entity_type: str, entity_id: str, action: str, from_status: str | None,
                 to_status: str, actor: str, at: str) -> None:
    """Log a committed state change, and count it if it is a metric's."""
    log.info("state_change", extra={"fields": {
        "entity_type": entity_type, "entity_id": entity_id, "action": action,
        "from_status": from_status, "to_status": to_status, "actor": actor, "at": at}})
    metric = STATE_METRICS.get((entity_type, action))
    if metric:
        put_metric(metric, entity_id=entity_id)


def put_metric(name: str, value: float = 1, unit: str = "Count", **properties: str) -> None:
    """Write one metric in CloudWatch embedded metric format (one JSON line on stdout)."""
    stage = get_settings().stage
    document = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [["Stage"]],
            "Metrics": [{"Name": name, "Unit": unit}]}]},
        "Stage": stage, name: value, **_context.get(), **properties,
    }
    sys.stdout.write(json.dumps(redact(document), default=str, separators=(",", ":")) + "\n")


def request_done(*, method: str, route: str, path: str, status: int, duration_ms: float) -> None:
    """One line per HTTP request; a 5xx also counts an error."""
    level = logging.ERROR if status >= 500 else logging.INFO
    log.log(level, "request", extra={"fields": {
        "method": method, "route": route, "path": path, "status": status,
        "duration_ms": round(duration_ms, 1)}})
    if status >= 500:
        put_metric(ERRORS, status=str(status), route=route)
