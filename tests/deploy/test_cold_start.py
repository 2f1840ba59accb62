"""Cold start: `import app` does little beyond importing its libraries, and AWS clients are made
on first use, once per container."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import botocore.session
import pytest

from bench import coldstart
from tests.conftest import PROJECT_DIR, Api

MAX_RATIO = 1.3


def test_import_app_costs_at_most_1_3_times_its_libraries() -> None:
    result = coldstart.measure(runs=9)
    assert result.ratio <= MAX_RATIO, (
        f"import app {result.app * 1000:.0f} ms vs libraries {result.libraries * 1000:.0f} ms "
        f"(CPU, medians of {result.runs}): paired ratio {result.ratio:.2f} > {MAX_RATIO}")


def test_import_app_creates_no_client_and_loads_no_boto3_jinja2_or_pdf_library() -> None:
    script = (
        "import sys, botocore.session\n"
        "created = []\n"
        "original = botocore.session.Session.create_client\n"
        "def counting(self, name, *args, **kwargs):\n"
        "    created.append(name)\n"
        "    return original(self, name, *args, **kwargs)\n"
        "botocore.session.Session.create_client = counting\n"
        "import app\n"
        "lazy = ('boto3', 'jinja2', 'pydyf', 'chalicelib.core.pdf', 'chalicelib.core.pdf_fonts',\n"
        "        'chalicelib.core.country_names',\n"
        "        'chalicelib.billing.documents', 'chalicelib.billing.document_content',\n"
        "        'chalicelib.billing.document_layout')\n"
        "print(created, sorted(m for m in lazy if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, check=True,
                         capture_output=True, text=True, env={"JWT_SECRET": "x" * 40, "PATH": "/usr/bin",
                                                         "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.stdout.strip().splitlines()[-1] == "[] []"


def test_requests_reuse_the_one_dynamodb_client(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a warm container (the first request made the shared client)
    api.get("/api/v1/billing/plans")
    created: list[str] = []
    original = botocore.session.Session.create_client

    def counting(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        created.append(name)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    # When more requests of every kind arrive
    signup = api.register("warm@example.com", plan="starter", payment_method="bank_transfer")
    token = signup.body["access_token"]
    replies = [signup, api.get("/api/v1/auth/me", token=token),
               api.confirm(token, signup.body["invoice"]["id"]),
               api.get("/api/v1/billing/plans"), api.get("/api/v1/billing/invoices", token=token)]
    # Then none makes a client
    assert all(reply.status < 300 for reply in replies)
    assert created == []
