"""Cold start: `import app` does little beyond importing its libraries, and AWS clients are made
on first use, once per container."""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import botocore.session
import pytest

from tests.conftest import PROJECT_DIR, Api

# What a cold start may load of ours: what every route needs to be registered and validated. The
# code of a capability's less common requests (statement parsing and matching, the admin team,
# approvals, holds, PDFs, emails, the jobs) loads on their first request. The CPU time this costs
# next to the libraries is measured in `make bench` (bench.coldstart), not asserted here.
MAX_OWN_MODULES = 96
LAZY = ("boto3", "jinja2", "pydyf", "mt940", "defusedxml",
        "chalicelib.core.pdf", "chalicelib.core.pdf_fonts", "chalicelib.core.country_names",
        "chalicelib.billing.documents", "chalicelib.billing.document_content",
        "chalicelib.billing.document_layout", "chalicelib.billing.jobs",
        "chalicelib.notifications.delivery",
        "chalicelib.statements.imports", "chalicelib.statements.matching",
        "chalicelib.statements.decisions", "chalicelib.statements.parse",
        "chalicelib.statements.csv_format", "chalicelib.statements.mt940_format",
        "chalicelib.statements.camt053_format",
        "chalicelib.accounts.admin_team", "chalicelib.admin.approve", "chalicelib.admin.holds",
        "chalicelib.credits.entitlements",
        "chalicelib.admin.accounts", "chalicelib.reports.aging", "chalicelib.reports.exports",
        "chalicelib.reports.csv_file")


def _import_app(report: str) -> str:
    script = (
        "import sys, botocore.session\n"
        "created = []\n"
        "original = botocore.session.Session.create_client\n"
        "def counting(self, name, *args, **kwargs):\n"
        "    created.append(name)\n"
        "    return original(self, name, *args, **kwargs)\n"
        "botocore.session.Session.create_client = counting\n"
        "import app\n"
        f"{report}\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, check=True,
                         capture_output=True, text=True, env={"JWT_SECRET": "x" * 40, "PATH": "/usr/bin",
                                                         "PYTHONDONTWRITEBYTECODE": "1"})
    return out.stdout.strip().splitlines()[-1]


def test_import_app_creates_no_client_and_loads_no_boto3_parser_pdf_or_rare_route_code() -> None:
    printed = _import_app(f"print(created, sorted(m for m in {LAZY!r} if m in sys.modules))")
    assert printed == "[] []"


def test_import_app_loads_a_bounded_number_of_its_own_modules() -> None:
    modules = json.loads(_import_app(
        "import json; print(json.dumps(sorted(m for m in sys.modules if m == 'app' or m.startswith('chalicelib'))))"))
    assert "chalicelib.storage.store" in modules and "chalicelib.api.routing" in modules
    assert len(modules) <= MAX_OWN_MODULES, modules


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
