"""The webhook tests' receiver: a fresh one per test, closed after it."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()
