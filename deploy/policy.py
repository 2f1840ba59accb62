"""The least-privilege IAM policy of each stage's functions, written to .chalice/policy-<stage>.json.

The actions are the ones the code makes (tests/test_policy.py records every AWS call of a run
through every route, email delivery and the stream handler, and compares them with these); the
resources are this stage's own tables and their indexes (read off the models, like the template),
the outbox stream, the token secret's parameter and the functions' log groups.

    python -m deploy.policy           # write the files (make package does it too)
    python -m deploy.policy --check   # exit 1 if a file is not what the code says
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from deploy import tables
from deploy.stage import CONFIG_FILE, PROJECT_DIR, Stage, stage_names

# What the code calls. TransactWriteItems and TransactGetItems are authorized per item as
# PutItem / UpdateItem / DeleteItem / ConditionCheckItem and GetItem: they have no action of their own.
DYNAMODB_ACTIONS = ("BatchGetItem", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query",
                    "UpdateItem")
SES_ACTIONS = ("SendEmail",)
SSM_ACTIONS = ("GetParameter",)
# Proofs of payment: PutObject is what the presigned POST the API signs lets the browser do;
# GetObject covers HeadObject, the first bytes' check and the admin's presigned link.
S3_ACTIONS = ("DeleteObject", "GetObject", "PutObject")
# The admin's large CSV exports (`exports/` in the same bucket): the API writes the file, and the
# presigned link it signs lets its holder GET it with the API's role.
EXPORT_ACTIONS = ("GetObject", "PutObject")
# What Lambda does with the function's role: read the stream for its event source, write logs.
STREAM_ACTIONS = ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams")
LOG_ACTIONS = ("CreateLogGroup", "CreateLogStream", "PutLogEvents")


def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:*:*:table/{name}"


def policy_document(stage: Stage) -> dict[str, Any]:
    """The stage's policy document."""
    table_arns: list[str] = []
    stream_arns: list[str] = []
    for model in tables.table_models():
        arn = _table_arn(stage.table_name(tables.entity(model)))
        schema = model._get_schema()
        table_arns.append(arn)
        if schema.get("global_secondary_indexes") or schema.get("local_secondary_indexes"):
            table_arns.append(f"{arn}/index/*")
        if tables.stream_view_type(model):
            stream_arns.append(f"{arn}/stream/*")
    statements: list[dict[str, Any]] = [
        {"Sid": "Tables", "Effect": "Allow", "Action": [f"dynamodb:{a}" for a in DYNAMODB_ACTIONS],
         "Resource": table_arns},
    ]
    if stream_arns:
        statements.append({"Sid": "Streams", "Effect": "Allow",
                           "Action": [f"dynamodb:{a}" for a in STREAM_ACTIONS],
                           "Resource": stream_arns})
    statements.append({"Sid": "Email", "Effect": "Allow", "Action": [f"ses:{a}" for a in SES_ACTIONS],
                       "Resource": "*",
                       "Condition": {"StringEquals": {"ses:FromAddress": stage.mail_from}}})
    statements.append({"Sid": "Proofs", "Effect": "Allow", "Action": [f"s3:{a}" for a in S3_ACTIONS],
                       "Resource": f"arn:aws:s3:::{stage.proof_bucket_prefix}-*/proofs/*"})
    statements.append({"Sid": "Exports", "Effect": "Allow",
                       "Action": [f"s3:{a}" for a in EXPORT_ACTIONS],
                       "Resource": f"arn:aws:s3:::{stage.proof_bucket_prefix}-*/exports/*"})
    if stage.jwt_secret_parameter:
        name = stage.jwt_secret_parameter.lstrip("/")
        statements.append({"Sid": "TokenSecret", "Effect": "Allow",
                           "Action": [f"ssm:{a}" for a in SSM_ACTIONS],
                           "Resource": f"arn:aws:ssm:*:*:parameter/{name}"})
    groups = f"arn:aws:logs:*:*:log-group:/aws/lambda/{stage.function_prefix}"
    statements.append({"Sid": "Logs", "Effect": "Allow", "Action": [f"logs:{a}" for a in LOG_ACTIONS],
                       "Resource": [groups, f"{groups}:*", f"{groups}-*"]})
    return {"Version": "2012-10-17", "Statement": statements}


def policy_path(stage: Stage) -> Path:
    """Where Chalice reads the stage's policy (`iam_policy_file` in .chalice/config.json)."""
    configured = stage.config.iam_policy_file or f"policy-{stage.name}.json"
    return CONFIG_FILE.parent / configured


def render(stage: Stage) -> str:
    return json.dumps(policy_document(stage), indent=2) + "\n"


def stale_policies() -> list[Path]:
    """The policy files that differ from what the code says."""
    stale = []
    for name in stage_names():
        stage = Stage(name)
        path = policy_path(stage)
        if not path.exists() or path.read_text() != render(stage):
            stale.append(path)
    return stale


def write_policies() -> list[Path]:
    """Write every stage's policy file that is out of date; the paths written."""
    written = stale_policies()
    by_path = {policy_path(Stage(name)): Stage(name) for name in stage_names()}
    for path in written:
        path.write_text(render(by_path[path]))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.policy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_policies()
        for path in stale:
            print(f"{path.relative_to(PROJECT_DIR)} is out of date: run python -m deploy.policy")
        return 1 if stale else 0
    for path in write_policies():
        print(f"wrote {path.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
