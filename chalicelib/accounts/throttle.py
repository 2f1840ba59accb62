"""Sliding-window throttles kept in DynamoDB: fixed windows counted per key (an HMAC of an email or
a client address, never the value), and a sliding estimate over the current and previous window.
Failed logins and password-reset requests use them."""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Any

from chalicelib.core.secrets import keyed_hash
from chalicelib.storage import store
from chalicelib.storage.models.accounts import LoginFailureModel


def client_address() -> str:
    """The caller's IP address as API Gateway saw it (never a header the client sets)."""
    from chalicelib.api.routing import current_request

    request = current_request()
    identity = ((request.context or {}).get("identity") or {}) if request is not None else {}
    return str(identity.get("sourceIp") or "unknown")


class Window:
    """The counters of one key: the current fixed window and the one before."""

    def __init__(self, label: bytes, value: str, limit: int, length: int) -> None:
        self.limit, self.length = limit, length
        moment = time.time()
        index = int(moment // self.length)
        self.elapsed = moment - index * self.length
        self.ends_at = (index + 1) * self.length
        who = keyed_hash(label + value.encode())[:32]
        self.current_id, self.previous_id = f"{who}#{index}", f"{who}#{index - 1}"

    def keys(self) -> list[tuple[Any, ...]]:
        """The two counters' keys, for one `store.transact_get` with the rest of a request."""
        return [(LoginFailureModel, self.current_id), (LoginFailureModel, self.previous_id)]

    def wait(self, current: LoginFailureModel | None, previous: LoginFailureModel | None) -> int:
        """`wait_seconds` of the counters as read (None: none counted)."""
        return self.wait_seconds(current.failures if current else 0,
                                 previous.failures if previous else 0)

    def wait_seconds(self, current: int, previous: int) -> int:
        """0 when another attempt may be made; else how long until the estimate is under the limit."""
        weight = 1 - self.elapsed / self.length
        if current + previous * weight < self.limit:
            return 0
        if current < self.limit:  # the previous window's share must fade
            wait = self.length * (1 - (self.limit - current) / previous) - self.elapsed
        else:  # this window's count must fade in the next one
            wait = (self.length - self.elapsed) + self.length * (1 - self.limit / current)
        return max(1, math.ceil(wait))

    def counter(self) -> LoginFailureModel:
        return LoginFailureModel(self.current_id)

    def count_actions(self) -> list[Any]:
        """Count one more in the current window (kept until the next window ends)."""
        return [LoginFailureModel.failures.add(1), LoginFailureModel.expires_at.set(
            datetime.fromtimestamp(self.ends_at + self.length, tz=timezone.utc))]

    def record(self) -> None:
        """Count one more now, on its own."""
        with store.guard():
            self.counter().update(actions=self.count_actions())
