"""The packaged stages, shared by the deploy tests: `make package` of each stage once per run, and
its template through the SAM transform."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_DIR

STAGES = ("dev", "prod")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`make package` of each stage, into a temp folder (what `make package STAGE=...` runs); the
    stages are packaged at the same time."""
    out, running = {}, {}
    for stage in STAGES:
        folder = tmp_path_factory.mktemp(f"package-{stage}")
        running[stage] = subprocess.Popen(
            [sys.executable, "-m", "deploy.package", "--stage", stage, "--out", str(folder),
             "--check-policies"], cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out[stage] = folder
    for stage, process in running.items():
        output, _ = process.communicate()
        assert process.returncode == 0, f"make package STAGE={stage}:\n{output.decode()}"
    return out


def template(built: dict[str, Path], stage: str) -> dict[str, Any]:
    return json.loads((built[stage] / "sam.json").read_text())


def cfn_lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "cfn-lint"), "--", *map(str, paths)], capture_output=True,
                          text=True)


def sam_transform(sam: dict[str, Any], path: Path) -> dict[str, Any]:
    """The plain CloudFormation that the SAM transform makes of a template (as after
    `aws cloudformation package`, which uploads the zip and points CodeUri at it)."""
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/deployment.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result = transform(sam, {}, NoManagedPolicies())
    path.write_text(json.dumps(result))
    return result


@pytest.fixture(scope="session")
def transformed(built: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Each stage's template through the SAM transform, written next to it as cfn.json."""
    return {stage: sam_transform(template(built, stage), built[stage] / "cfn.json")
            for stage in STAGES}


def resources_of(statement: dict[str, Any]) -> list[Any]:
    """A policy statement's resources as a list (IAM allows one without the list)."""
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]
