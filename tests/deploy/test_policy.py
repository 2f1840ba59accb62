"""Least privilege: each function's IAM policy grants exactly what that function's code calls, on
this stage's resources in the deploying account only.

One test runs every route (happy and error paths) and every event function (tests/deploy/
policy_run.py) against moto with the stage's token secret in SSM, recording every AWS call with
the function that made it; each event function's grants must be exactly its calls' (table by table,
action by action), and the API's actions exactly its calls' on any table. The others read the
policy files: one per function, no wildcard account, region or sender, and the email and event
functions never write the users table.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.notifications import delivery
from chalicelib.storage import models
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.webhooks import WebhookEndpointModel
from deploy import policy, tables
from deploy.stage import CONFIG_FILE, Stage, stage_names
from tests.conftest import Api, aws_spy
from tests.deploy.conftest import resources_of
from tests.deploy.policy_run import API, Call, Calls, every_route, run_functions
from tests.helpers import environment
from tests.webhooks.receiver import Receiver

EVENT_FUNCTIONS = sorted(set(policy.FUNCTIONS) - {API})
WRITES = {f"dynamodb:{a}" for a in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")}
Grant = tuple[str, str, str]  # (action, kind of resource, resource)
ARN = re.compile(r"arn:\$\{AWS::Partition\}:(?P<service>[a-z0-9]+)"
                 r"(?P<where>:(?:\$\{AWS::Region\})?:(?:\$\{AWS::AccountId\})?:)"
                 r"(?P<resource>.+)")


@pytest.fixture
def aws_calls() -> Iterator[Calls]:
    """Every AWS call the code makes while the fixture is active, with its parameters."""
    calls = Calls()
    with aws_spy(calls.record):
        yield calls


def _deployed(stage: Stage, local_name: str) -> str:
    local_prefix = models.UserModel.Meta.table_name[:-len("users")]  # the tests' table prefix
    return stage.table_name(local_name[len(local_prefix):])


def needed(stage: Stage, call: Call) -> set[Grant]:
    """What the call needs granted: each action on each table or index, the parameter, the sender,
    the bucket's prefix."""
    if call.service == "dynamodb":
        return {(action, "index" if "IndexName" in call.params else "table", _deployed(stage, name))
                for action in call.actions() for name in call.tables()}
    if call.service == "ses":
        return {("ses:SendEmail", "sender", call.params["Source"])}
    if call.service == "ssm":  # the run's parameter, named as the dev stage names it
        assert call.params["Name"] == Stage("dev").jwt_secret_parameter, call
        return {("ssm:GetParameter", "parameter", str(stage.jwt_secret_parameter))}
    prefix = call.params["Key"].split("/", 1)[0] + "/"
    return {(action, "object", prefix) for action in call.actions()}


def _arn(resource: Any) -> str:
    """An ARN as written (`{"Fn::Sub": ...}`, or a plain string)."""
    return str(resource["Fn::Sub"] if isinstance(resource, dict) else resource)


def granted(document: dict[str, Any]) -> set[Grant]:
    """The document's grants as `needed` names them (Lambda's own, stream and logs, left out)."""
    found: set[Grant] = set()
    for statement in document["Statement"]:
        if statement["Sid"] in ("Stream", "Logs"):
            continue
        resources = resources_of(statement)
        for action in statement["Action"]:
            service = action.split(":")[0]
            for arn in map(_arn, resources):
                table = re.fullmatch(r".*:table/([^/]+)(/index/\*)?", arn)
                if service == "dynamodb" and table:
                    found.add((action, "index" if table[2] else "table", table[1]))
                elif service == "ses":
                    found.add((action, "sender", statement["Condition"]["StringEquals"][
                        "ses:FromAddress"]))
                elif service == "ssm" and ":parameter/" in arn:
                    found.add((action, "parameter", "/" + arn.split(":parameter/", 1)[1]))
                elif service == "s3" and arn.count("/") >= 2:
                    found.add((action, "object", arn.rsplit("/", 2)[-2] + "/"))
                else:
                    found.add((action, "unknown", arn))
    return found


def _run_everything(api: Api, calls: Calls, stage: Stage) -> None:
    """Every route and event function with the stage's sender verified and its token secret in SSM
    (the functions see only the parameter's name)."""
    delivery.ses_client().verify_email_identity(EmailAddress=stage.mail_from)
    local = str(Stage("dev").jwt_secret_parameter)  # what the event functions' client sets
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=local, Value="p" * 48, Type="SecureString", Overwrite=True)
    receiver, failing = Receiver(), Receiver()
    calls.clear()
    try:
        with environment(JWT_SECRET_PARAMETER=local, JWT_SECRET=None,
                         MAIL_FROM=stage.mail_from):
            statuses = every_route(api, calls, receiver, failing)
            run_functions(calls)
    finally:
        receiver.close()
        failing.close()
    # the run did what it should, so the calls it recorded are the real ones
    assert set(statuses) == {200, 201, 202, 204, 401, 409, 422}, statuses
    with calls.paused():
        assert {m.status for m in OutboxModel.scan()} <= {"sent", "held"}
        assert {e.status for e in WebhookEndpointModel.scan()} == {"enabled", "disabled"}
    assert receiver.received and "Scan" not in {call.operation for call in calls}


@pytest.mark.parametrize("stage_name", stage_names())
def test_each_function_is_granted_exactly_what_its_code_calls(
        api: Api, aws_calls: Calls, stage_name: str) -> None:
    # Given the stage's policies; when every route and every event function runs
    stage = Stage(stage_name)
    _run_everything(api, aws_calls, stage)
    used: dict[str, set[Grant]] = {function: set() for function in policy.FUNCTIONS}
    for call in aws_calls:
        used[call.function] |= needed(stage, call)
    for function in EVENT_FUNCTIONS:
        # Then each event function's grants are its calls', action by action, table by table
        assert granted(policy.policy_document(stage, function)) == used[function], function
    # And the API's calls are all granted, and its actions are exactly those the calls need
    api_grants = granted(policy.policy_document(stage, API))
    assert used[API] <= api_grants, used[API] - api_grants
    assert {g[0] for g in used[API]} == {g[0] for g in api_grants}
    assert {g[2] for g in api_grants if g[1] == "table"} == {
        stage.table_name(tables.entity(m)) for m in models.ALL_MODELS}  # every capability's tables


def test_the_policy_files_are_what_the_code_generates() -> None:
    stale = policy.stale_policies()
    assert not stale, f"out of date (run make policies): {[p.name for p in stale]}"


def _documents(stage: Stage) -> dict[str, dict[str, Any]]:
    return {function: json.loads(policy.policy_path(stage, function).read_text())
            for function in policy.FUNCTIONS}


@pytest.mark.parametrize("stage_name", stage_names())
def test_each_function_has_a_policy_file_of_its_own(stage_name: str) -> None:
    stage = Stage(stage_name)
    assert stage.config.autogen_policy is False
    paths = {function: policy.policy_path(stage, function) for function in policy.FUNCTIONS}
    assert {f: p.name for f, p in paths.items()} == {
        f: f"policy-{stage_name}-{f}.json" for f in policy.FUNCTIONS}
    assert all(path.exists() for path in paths.values())
    on_disk = json.loads(CONFIG_FILE.read_text())["stages"][stage_name]
    assert "iam_policy_file" not in on_disk  # no shared file a new function would fall back to


@pytest.mark.parametrize("stage_name", stage_names())
def test_the_email_and_event_functions_cannot_write_users_nor_reach_what_they_do_not_use(
        stage_name: str) -> None:
    stage = Stage(stage_name)
    documents = _documents(stage)
    users = stage.table_name("users")
    for function in EVENT_FUNCTIONS:
        grants = granted(documents[function])
        assert not {g for g in grants if g[2] == users and g[0] in WRITES}, function
        assert not {g for g in grants if g[1] == "object"}, function  # only the API's bucket
    for function in ("deliver_new_emails", "drain_outbox"):  # the email handlers: the outbox's
        tables_reached = {g[2] for g in granted(documents[function])}
        assert users not in tables_reached and stage.table_name("sessions") not in tables_reached
    # only the functions that send email may, and only one function reads the stream
    assert {f for f, d in documents.items() if any(s["Sid"] == "Email" for s in d["Statement"])} == {
        "deliver_new_emails", "drain_outbox"}
    assert {f for f, d in documents.items() if any(s["Sid"] == "Stream" for s in d["Statement"])} == {
        "deliver_new_emails"}
    # the jobs never read the token secret
    assert not [s for s in documents["billing_jobs"]["Statement"] if s["Sid"] == "TokenSecret"]


@pytest.mark.parametrize("stage_name", stage_names())
def test_every_arn_is_this_stages_resource_in_the_deploying_account_and_region(
        stage_name: str) -> None:
    stage = Stage(stage_name)
    others = [f"billing-{other}" for other in stage_names() if other != stage_name]
    for function, document in _documents(stage).items():
        text = json.dumps(document)
        assert not any(other in text for other in others), function
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow" and "NotResource" not in statement
            resources = resources_of(statement)
            assert all(isinstance(r, dict) and set(r) == {"Fn::Sub"} for r in resources)
            for arn in map(_arn, resources):  # no "*" resource, no wildcard account or region
                parts = ARN.fullmatch(arn)
                assert parts, arn
                if parts["service"] == "s3":
                    assert parts["resource"].startswith(f"{stage.proof_bucket_name}/"), arn
                else:
                    assert parts["where"] == ":${AWS::Region}:${AWS::AccountId}:", arn
                # a wildcard only for what is under an exact name: streams, indexes, keys, log streams
                assert "*" not in re.sub(r"(/index/\*|/stream/\*|/\*|:\*)$", "", parts["resource"])
        logs = next(s for s in document["Statement"] if s["Sid"] == "Logs")
        assert {_arn(r).split("log-group:")[1] for r in logs["Resource"]} == {
            f"/aws/lambda/{policy.function_name(stage, function)}{end}" for end in ("", ":*")}


@pytest.mark.parametrize("stage_name", stage_names())
def test_email_is_granted_on_the_senders_identities_only(stage_name: str) -> None:
    stage = Stage(stage_name)
    for function in ("deliver_new_emails", "drain_outbox"):
        email = next(s for s in _documents(stage)[function]["Statement"] if s["Sid"] == "Email")
        assert [_arn(r).split(":identity/")[-1] for r in resources_of(email)] == [
            stage.mail_from, stage.mail_from.split("@")[1]]  # not "*"
        assert email["Condition"] == {"StringEquals": {"ses:FromAddress": stage.mail_from}}


@pytest.mark.parametrize("stage_name", stage_names())
def test_the_token_secret_is_the_stages_parameter_and_no_variable(stage_name: str) -> None:
    stage = Stage(stage_name)
    assert stage.jwt_secret_parameter == f"/billing/{stage_name}/jwt-secret"
    assert "JWT_SECRET" not in stage.environment
    secrets = [s for s in _documents(stage)[API]["Statement"] if s["Sid"] == "TokenSecret"]
    assert [_arn(s["Resource"]).rsplit(":parameter", 1)[-1] for s in secrets] == [
        stage.jwt_secret_parameter]
