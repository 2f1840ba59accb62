"""Time and identifiers: one place, so tests can freeze the clock."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(timezone.utc)


def stamp(moment: datetime | None = None) -> str:
    """A sortable ISO 8601 UTC timestamp with microseconds, as stored."""
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def public_time(stored: str | None) -> str | None:
    """A stored timestamp as the API shows it: ISO 8601 UTC to the second."""
    if not stored:
        return None
    return stored[:19] + "Z" if len(stored) > 19 else stored


def new_id(prefix: str) -> str:
    """An opaque, unguessable id such as `pay_3f9c2a...`."""
    return f"{prefix}_{secrets.token_hex(12)}"
