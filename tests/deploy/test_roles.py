"""The packaged stages' roles and the proofs bucket's policy: a role of its own for every function
with its own policy file's document, the ARNs still exact after the SAM transform, and a bucket that
refuses requests made without TLS."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploy import policy
from deploy.stage import Stage
from tests.deploy.conftest import STAGES, resources_of, template


def _functions(sam: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's functions by their Chalice name (`app.<name>`; the API's handler is `app.app`)."""
    found = {}
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            name = resource["Properties"]["Handler"].split(".", 1)[1]
            found[policy.API_FUNCTION if name == "app" else name] = resource
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_has_a_role_of_its_own_with_its_own_policy_file(
        built: dict[str, Path], stage: str) -> None:
    sam = template(built, stage)
    functions = _functions(sam)
    assert set(functions) == set(policy.FUNCTIONS)
    roles = {name: f["Properties"]["Role"]["Fn::GetAtt"][0] for name, f in functions.items()}
    assert len(set(roles.values())) == len(roles)  # no role is shared
    documents = {}
    for name, role in roles.items():
        policies = sam["Resources"][role]["Properties"]["Policies"]
        on_disk = json.loads(policy.policy_path(Stage(stage), name).read_text())
        assert [p["PolicyDocument"] for p in policies] == [on_disk], name
        documents[name] = json.dumps(on_disk, sort_keys=True)
    assert len(set(documents.values())) == len(documents)  # and no two grant the same


@pytest.mark.parametrize("stage", STAGES)
def test_after_the_sam_transform_no_role_grants_a_wildcard_account_or_resource(
        transformed: dict[str, dict[str, Any]], stage: str) -> None:
    roles = [r for r in transformed[stage]["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == len(policy.FUNCTIONS)
    for role in roles:
        for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
            resources = resources_of(statement)
            assert all(set(r) == {"Fn::Sub"} and "${AWS::AccountId}" in r["Fn::Sub"]
                       for r in resources), statement


@pytest.mark.parametrize("stage", STAGES)
def test_the_proofs_bucket_refuses_requests_without_tls_and_is_the_one_the_api_may_use(
        built: dict[str, Path], stage: str) -> None:
    resources = template(built, stage)["Resources"]
    bucket_policy = resources["ProofsBucketPolicy"]
    assert bucket_policy["Type"] == "AWS::S3::BucketPolicy"
    assert bucket_policy["Properties"]["Bucket"] == {"Ref": "ProofsBucket"}
    [deny] = bucket_policy["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Resource"] == [{"Fn::GetAtt": ["ProofsBucket", "Arn"]},
                                {"Fn::Sub": "${ProofsBucket.Arn}/*"}]  # the bucket and every key
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # the bucket the API's role may use is this one, by its exact name (account id and region)
    name = resources["ProofsBucket"]["Properties"]["BucketName"]
    assert name == {"Fn::Sub": Stage(stage).proof_bucket_name}
    api = json.loads(policy.policy_path(Stage(stage), policy.API_FUNCTION).read_text())
    objects = [s["Resource"]["Fn::Sub"] for s in api["Statement"] if s["Sid"] in ("Proofs", "Exports")]
    assert objects == [f"arn:${{AWS::Partition}}:s3:::{name['Fn::Sub']}/{prefix}/*"
                       for prefix in ("proofs", "exports")]
