"""How the two state machines (test_stateful_billing.py, test_stateful_lifecycle.py) are run:
CI's settings (derandomized: the same examples every run), `make fuzz`'s FUZZ_SEED and
FUZZ_EXAMPLES, what the examples of one run share and count (`Run`), and `play`, which runs a
machine's examples one way or the other.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from tests.conftest import Api, MotoStore

SETTINGS = settings(max_examples=30, stateful_step_count=20, deadline=None, derandomize=True,
                    database=None, suppress_health_check=[HealthCheck.too_slow],
                    print_blob=False)
FUZZ_SEED = int(os.environ["FUZZ_SEED"]) if os.environ.get("FUZZ_SEED") else None  # None: CI's
FUZZ_EXAMPLES = max(SETTINGS.max_examples, int(os.environ.get("FUZZ_EXAMPLES") or 0))


@dataclass
class Run:
    """What the examples of one test run share: the app, the module's moto (as seeded by
    `restore()`), counts."""

    api: Api | None = None
    store: MotoStore | None = None
    dirty: bool = True  # a request or a job may have written since the store was restored
    admin_token: str | None = None
    examples: int = 0
    examples_with_requests: int = 0
    invariant_checks: int = 0  # one after each step, the initialization included
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    money: Counter = field(default_factory=Counter)  # what payments and the balance did
    job_steps: Counter = field(default_factory=Counter)  # what the jobs did, by step
    transitions: set = field(default_factory=set)  # audited (entity type, from, to)

    def summary(self) -> str:
        drawn = "derandomized" if FUZZ_SEED is None else f"FUZZ_SEED={FUZZ_SEED}"
        return (f"({drawn}, FUZZ_EXAMPLES={FUZZ_EXAMPLES}): {self.examples} examples "
                f"({self.examples_with_requests} with requests), "
                f"{self.invariant_checks - self.examples} steps, {self.requests} requests, "
                f"responses {dict(sorted(self.statuses.items()))}, "
                f"money {dict(sorted(self.money.items()))}")


def play(machine: type[RuleBasedStateMachine], run: Run, store: MotoStore,
         fuzz_seed: int | None, examples: int) -> None:
    """Run the machine's examples: derandomized (CI's case set) without a seed, else drawn from
    the seed; `run` starts afresh."""
    run.__init__(api=Api(second_approvals=True), store=store)  # type: ignore[misc]
    factory = machine if fuzz_seed is None else seed(fuzz_seed)(lambda: machine())
    run_state_machine_as_test(factory, settings=settings(SETTINGS, max_examples=examples))
