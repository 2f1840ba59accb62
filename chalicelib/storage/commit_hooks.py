"""What a transaction collects as it is built, for a hook that runs once as it commits: the
webhook events and the reports' figures of its changes are made so (from its audit events)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.storage.store import Tx


def collected(tx: Tx, name: str, hook: Callable[[Tx], None]) -> list[Any]:
    """What `tx` collects under `name` for `hook` (registered with the first call)."""
    found: dict[str, list[Any]] = tx.__dict__.setdefault("_collected", {})
    if name not in found:
        found[name] = []
        tx.before_commit.append(hook)
    return found[name]
