"""What `import app` costs next to importing just the libraries it needs, in fresh processes.

A Lambda cold start imports app.py once; everything beyond the libraries themselves is ours.
Each sample is a fresh interpreter timing one import statement in CPU time (the process's own,
so other work on a busy machine moves it less); app and libraries alternate, each app sample is
divided by the libraries sample right after it (what noise remains hits both alike), and the
median of those ratios is the result.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# What app.py needs from outside the standard library at import time (chalice, pynamodb with
# botocore, PyJWT, argon2-cffi); boto3 itself is imported only on first use.
LIBRARIES = "import chalice, pynamodb.models, pynamodb.connection, pynamodb.transactions, jwt, argon2"
APP = "import app"
_TIMER = "import time; t = time.process_time(); {statement}; print(time.process_time() - t)"
_ENV_FOR_IMPORT = {"JWT_SECRET": "x" * 40, "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class ColdStart:
    """Median import CPU times (seconds) and the median of the paired ratios."""

    app: float
    libraries: float
    ratio: float
    runs: int


def import_seconds(statement: str, bytecode_cache: str) -> float:
    """CPU seconds one fresh interpreter spends on `statement` (an import), with compiled
    bytecode kept in `bytecode_cache` (for the libraries and the app alike)."""
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in ("OUTBOX_STREAM_ARN", "PYTHONDONTWRITEBYTECODE")}
    env.update(_ENV_FOR_IMPORT, PYTHONPYCACHEPREFIX=bytecode_cache)
    out = subprocess.run([sys.executable, "-c", _TIMER.format(statement=statement)], cwd=PROJECT_DIR,
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def measure(runs: int = 9) -> ColdStart:
    """Median of `runs` alternating samples of each (after one unmeasured warm-up of each, which
    compiles the bytecode of both: a deployed zip carries it, see deploy.package)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pycache-") as cache:
        import_seconds(APP, cache), import_seconds(LIBRARIES, cache)
        app, libraries = [], []
        for _ in range(runs):
            app.append(import_seconds(APP, cache))
            libraries.append(import_seconds(LIBRARIES, cache))
    ratios = [a / b for a, b in zip(app, libraries)]
    return ColdStart(statistics.median(app), statistics.median(libraries), statistics.median(ratios),
                     runs)


if __name__ == "__main__":
    result = measure()
    print(f"import app {result.app * 1000:.0f} ms, libraries {result.libraries * 1000:.0f} ms, "
          f"ratio {result.ratio:.2f}")
