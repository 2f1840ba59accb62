"""The least-privilege IAM policy of each function of each stage, written to
.chalice/policy-<stage>-<function>.json (the function's `iam_policy_file` in .chalice/config.json;
Chalice gives every function a role of its own, `<Function>Role`, with that file's document).

What each function may do is `FUNCTIONS`: the tables it reaches and the DynamoDB actions it makes on
each, whether it reads the token secret, sends email, reads the outbox stream, or keeps proofs and
exports in the bucket. tests/deploy/test_policy.py records every AWS call of a run through every
route and every event function, each as in a container of its own, and checks that each function's
grants are exactly what its calls need. The API serves every capability: it gets every table (read
off the models, like the template), so a table added to the models is the API's with no other edit.

Every ARN is this stage's exact resource in the deploying account and region: the documents carry
`Fn::Sub` with `${AWS::Partition}`, `${AWS::Region}` and `${AWS::AccountId}`, which CloudFormation
resolves when it creates the roles (so the files are for `make package`, not `chalice deploy`).

    python -m deploy.policy           # write the files (make package does it too)
    python -m deploy.policy --check   # exit 1 if a file is not what the code says
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy import tables
from deploy.stage import CONFIG_FILE, PROJECT_DIR, Stage, stage_names

# What the API calls. TransactWriteItems and TransactGetItems are authorized per item as
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
# What Lambda does with the function's role: read the stream for its event source, write logs
# (the template creates each function's log group).
STREAM_ACTIONS = ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams")
LOG_ACTIONS = ("CreateLogStream", "PutLogEvents")

INDEX_QUERY = "Query:index"  # in a function's grants: Query on the table's indexes
API_FUNCTION = "api_handler"
EVERY_TABLE = None


@dataclass(frozen=True)
class Grants:
    """What one function may do. `tables`: entity -> the DynamoDB actions on it, INDEX_QUERY for
    Query on its indexes (EVERY_TABLE: every table with DYNAMODB_ACTIONS and INDEX_QUERY)."""

    tables: Mapping[str, tuple[str, ...]] | None
    token_secret: bool = False  # the keyed hashes (link tokens, address keys, webhook signing keys)
    email: bool = False
    stream: str | None = None  # the table whose stream is the function's event source
    objects: bool = False  # proofs and exports in the bucket


# Email delivery mints the links' tokens (stored hashed, under a key derived from the token secret)
# and looks addresses up by their keyed hash: it reads the secret, and writes no user.
_LINKS = {"email_addresses": ("GetItem",), "link_tokens": ("PutItem",)}
_CHANGES = ("PutItem", "UpdateItem")  # what a change's commit hooks add: audit, counters, events
_CHANGED = ("GetItem", "PutItem", "UpdateItem", INDEX_QUERY)
FUNCTIONS: dict[str, Grants] = {
    API_FUNCTION: Grants(EVERY_TABLE, token_secret=True, objects=True),
    "deliver_new_emails": Grants({**_LINKS, "outbox": ("GetItem", "UpdateItem")},
                                 token_secret=True, email=True, stream="outbox"),
    # What the stream missed or a failure put off: the due index of the outbox.
    "drain_outbox": Grants({**_LINKS, "outbox": ("GetItem", "UpdateItem", INDEX_QUERY),
                            "email_addresses": ("GetItem", "UpdateItem"),
                            "payment_methods": (INDEX_QUERY,)},
                           token_secret=True, email=True),
    "billing_jobs": Grants({
        "accounts": _CHANGED, "subscriptions": _CHANGED, "invoices": _CHANGED,
        "payments": ("PutItem", "UpdateItem", INDEX_QUERY), "plans": (INDEX_QUERY,),
        "fx_rates": ("Query",), "credit_ledger": _CHANGES, "outbox": _CHANGES,
        "audit_events": _CHANGES, "counters": _CHANGES, "report_aggregates": _CHANGES,
        "webhook_events": _CHANGES}),
    # Signs with keys derived from the token secret; a failing endpoint is disabled and its owners
    # (the users' staff index) are told by email.
    "deliver_webhooks": Grants({
        "webhook_events": _CHANGED, "webhook_deliveries": ("PutItem", "UpdateItem", INDEX_QUERY),
        "webhook_endpoints": ("PutItem", "UpdateItem", INDEX_QUERY), "users": (INDEX_QUERY,),
        "counters": ("UpdateItem",), "outbox": _CHANGES, "audit_events": _CHANGES},
        token_secret=True),
}


def sub(service: str, resource: str) -> dict[str, str]:
    """An ARN of this account and region, as CloudFormation resolves it."""
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:"
                       f"{resource}"}


def _table_grants(grants: Grants) -> dict[str, tuple[str, ...]]:
    """entity -> actions, in the models' order (every table for EVERY_TABLE)."""
    if grants.tables is EVERY_TABLE:
        return {tables.entity(model): (*DYNAMODB_ACTIONS, INDEX_QUERY)
                for model in tables.table_models()}
    known = {tables.entity(model) for model in tables.table_models()}
    unknown = set(grants.tables) - known
    if unknown:
        raise SystemExit(f"deploy.policy grants tables the models do not have: {sorted(unknown)}")
    return {tables.entity(model): tuple(sorted(grants.tables[tables.entity(model)]))
            for model in tables.table_models() if tables.entity(model) in grants.tables}


def _table_statements(stage: Stage, grants: Grants) -> list[dict[str, Any]]:
    """One statement per set of actions on the tables given it; Query on the indexes of those
    whose actions have INDEX_QUERY."""
    indexed = {tables.entity(m) for m in tables.table_models()
               if m._get_schema().get("global_secondary_indexes")
               or m._get_schema().get("local_secondary_indexes")}
    by_actions: dict[tuple[str, ...], list[dict[str, str]]] = {}
    index_arns = []
    for entity, actions in _table_grants(grants).items():
        arn = f"table/{stage.table_name(entity)}"
        on_table = tuple(a for a in actions if a != INDEX_QUERY)
        if on_table:
            by_actions.setdefault(on_table, []).append(sub("dynamodb", arn))
        if INDEX_QUERY in actions and entity in indexed:
            index_arns.append(sub("dynamodb", f"{arn}/index/*"))
    statements = [{"Sid": f"Tables{n}" if len(by_actions) > 1 else "Tables", "Effect": "Allow",
                   "Action": [f"dynamodb:{a}" for a in actions], "Resource": resources}
                  for n, (actions, resources) in enumerate(sorted(by_actions.items()), start=1)]
    if index_arns:
        statements.append({"Sid": "Indexes", "Effect": "Allow", "Action": ["dynamodb:Query"],
                           "Resource": index_arns})
    return statements


def function_name(stage: Stage, function: str) -> str:
    """What Chalice names the function: `<app>-<stage>` (the API), `<app>-<stage>-<name>`."""
    return stage.function_prefix if function == API_FUNCTION else f"{stage.function_prefix}-{function}"


def policy_document(stage: Stage, function: str) -> dict[str, Any]:
    """The policy document of one function of the stage."""
    grants = FUNCTIONS[function]
    statements = _table_statements(stage, grants)
    if grants.stream:
        statements.append({"Sid": "Stream", "Effect": "Allow",
                           "Action": [f"dynamodb:{a}" for a in STREAM_ACTIONS],
                           "Resource": [sub("dynamodb",
                                            f"table/{stage.table_name(grants.stream)}/stream/*")]})
    if grants.email:  # the sender's identity: the address, or its domain when that is verified
        domain = stage.mail_from.rsplit("@", 1)[-1]
        statements.append({"Sid": "Email", "Effect": "Allow", "Action": [f"ses:{a}" for a in SES_ACTIONS],
                           "Resource": [sub("ses", f"identity/{stage.mail_from}"),
                                        sub("ses", f"identity/{domain}")],
                           "Condition": {"StringEquals": {"ses:FromAddress": stage.mail_from}}})
    if grants.objects:
        bucket = f"arn:${{AWS::Partition}}:s3:::{stage.proof_bucket_name}"
        statements.append({"Sid": "Proofs", "Effect": "Allow", "Action": [f"s3:{a}" for a in S3_ACTIONS],
                           "Resource": {"Fn::Sub": f"{bucket}/proofs/*"}})
        statements.append({"Sid": "Exports", "Effect": "Allow",
                           "Action": [f"s3:{a}" for a in EXPORT_ACTIONS],
                           "Resource": {"Fn::Sub": f"{bucket}/exports/*"}})
    if grants.token_secret and stage.jwt_secret_parameter:
        statements.append({"Sid": "TokenSecret", "Effect": "Allow",
                           "Action": [f"ssm:{a}" for a in SSM_ACTIONS],
                           "Resource": sub("ssm", f"parameter/{stage.jwt_secret_parameter.lstrip('/')}")})
    group = f"log-group:/aws/lambda/{function_name(stage, function)}"
    statements.append({"Sid": "Logs", "Effect": "Allow", "Action": [f"logs:{a}" for a in LOG_ACTIONS],
                       "Resource": [sub("logs", group), sub("logs", f"{group}:*")]})
    return {"Version": "2012-10-17", "Statement": statements}


def policy_path(stage: Stage, function: str) -> Path:
    """Where Chalice reads the function's policy (its `iam_policy_file` in .chalice/config.json)."""
    configured = stage.config.scope(stage.name, function).iam_policy_file
    return CONFIG_FILE.parent / (configured or f"policy-{stage.name}.json")


def render(stage: Stage, function: str) -> str:
    return json.dumps(policy_document(stage, function), indent=2) + "\n"


def _expected() -> dict[Path, str]:
    return {policy_path(Stage(name), function): render(Stage(name), function)
            for name in stage_names() for function in FUNCTIONS}


def _stale() -> dict[Path, str]:
    """The policy files that differ from what the code says, with what they should say."""
    return {path: text for path, text in _expected().items()
            if not path.exists() or path.read_text() != text}


def stale_policies() -> list[Path]:
    """The policy files that differ from what the code says."""
    return list(_stale())


def write_policies() -> list[Path]:
    """Write every function's policy file that is out of date; the paths written."""
    stale = _stale()
    for path, text in stale.items():
        path.write_text(text)
    return list(stale)


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
