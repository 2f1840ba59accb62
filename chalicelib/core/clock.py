"""Time and identifiers: one place, so tests can freeze the clock."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone


_travelled: datetime | None = None


def now() -> datetime:
    """The current UTC time (or the time `travel` set)."""
    return _travelled or datetime.now(timezone.utc)


@contextmanager
def travel(moment: datetime) -> Iterator[None]:
    """Let `now()` be `moment` inside the block: the tests that walk a subscription through months
    approve, change and cancel as of the days they pretend it is. Never used by the app itself."""
    global _travelled
    before, _travelled = _travelled, moment
    try:
        yield
    finally:
        _travelled = before


def stamp(moment: datetime | None = None) -> str:
    """A sortable ISO 8601 UTC timestamp with microseconds, as stored."""
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(stored: str) -> datetime:
    """A stored timestamp (or any ISO 8601 time with a zone) as an aware UTC datetime."""
    return datetime.fromisoformat(stored.replace("Z", "+00:00")).astimezone(timezone.utc)


def public_time(stored: str | None) -> str | None:
    """A stored timestamp as the API shows it: ISO 8601 UTC to the second."""
    if not stored:
        return None
    return stored[:19] + "Z" if len(stored) > 19 else stored


def new_id(prefix: str) -> str:
    """An opaque, unguessable id such as `pay_3f9c2a...`."""
    return f"{prefix}_{secrets.token_hex(12)}"
