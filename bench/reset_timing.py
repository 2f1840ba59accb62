"""`make bench`'s password-reset timing (also alone: `python -m bench.reset_timing`): a reset
request for an email that has an account and for one that has none must take the same time, so
that the answer's timing says nothing either. In process against moto: SAMPLES requests of each,
interleaved (an existing email, then a missing one), the throttles raised out of the way; the
medians of both, their ratio, and whether they are within 10% of each other.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

SAMPLES = 200
USERS = 20
TOLERANCE = 0.10


def measure(samples: int = SAMPLES) -> tuple[float, float]:
    """(median ms for existing emails, median ms for missing ones)."""
    from bench.run import InProcess

    os.environ.update({"RESET_MAX_PER_EMAIL": "1000000", "RESET_MAX_PER_CLIENT": "1000000"})
    bench = InProcess()
    try:
        existing = [bench.register()["user"]["email"] for _ in range(USERS)]
        times: dict[bool, list[float]] = {True: [], False: []}
        for n in range(samples * 2 + 20):  # the first 20 warm up
            known = n % 2 == 0
            address = existing[n // 2 % USERS] if known else f"nobody-{uuid.uuid4().hex[:10]}@example.com"
            started = time.perf_counter()
            status, _ = bench.request("POST", "/api/v1/auth/password-reset", {"email": address})
            elapsed = time.perf_counter() - started
            assert status == 202, status
            if n >= 20:
                times[known].append(elapsed * 1000)
        return statistics.median(times[True]), statistics.median(times[False])
    finally:
        bench.close()
        for name in ("RESET_MAX_PER_EMAIL", "RESET_MAX_PER_CLIENT"):
            os.environ.pop(name, None)


def report() -> None:
    known, missing = measure()
    ratio = known / missing
    verdict = "within" if abs(ratio - 1) <= TOLERANCE else "NOT within"
    print(f"Password reset request (in process, medians of {SAMPLES} each, interleaved): existing "
          f"email {known:.2f} ms, missing email {missing:.2f} ms; ratio {ratio:.3f}, {verdict} "
          f"{TOLERANCE:.0%}\n")


def main() -> int:
    from bench.run import machine

    print(f"Machine: {machine()}\n")
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
