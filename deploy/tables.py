"""DynamoDB tables as CloudFormation resources, read off the PynamoDB models.

Every model in `chalicelib.models.ALL_MODELS` becomes one `AWS::DynamoDB::Table` with its keys,
global and local secondary indexes, stream and time-to-live exactly as the model declares them,
so a table added to the models is deployed (and granted, see `deploy.policy`) with no other edit.
"""
from __future__ import annotations

from typing import Any

from chalice.utils import to_cfn_resource_name
from pynamodb.models import Model

from chalicelib.core.config import stream_variable, table_variable
from chalicelib.storage import models
from deploy.stage import Stage

RETAIN = "Retain"


def table_models() -> tuple[type[Model], ...]:
    """The models that are tables, in the order the models module lists them."""
    return tuple(models.ALL_MODELS)


def entity(model: type[Model]) -> str:
    """The entity a model stores, e.g. `payment_methods` (the last part of its table name)."""
    return str(model.Meta.entity)  # type: ignore[attr-defined]


def logical_id(model: type[Model]) -> str:
    """The table's CloudFormation logical id, e.g. `PaymentMethodsTable`."""
    return to_cfn_resource_name(entity(model)) + "Table"


def stream_view_type(model: type[Model]) -> str | None:
    return getattr(model.Meta, "stream_view_type", None)


def _key_schema(schema: list[dict[str, str]]) -> list[dict[str, str]]:
    # DynamoDB wants the partition key first; PynamoDB lists index keys in attribute order.
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema),
                  key=lambda key: key["KeyType"] != "HASH")


def _projection(projection: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        result["NonKeyAttributes"] = list(projection["NonKeyAttributes"])
    return result


def _indexes(indexes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"IndexName": index["index_name"], "KeySchema": _key_schema(index["key_schema"]),
             "Projection": _projection(index["projection"])}
            for index in sorted(indexes, key=lambda index: index["index_name"])]


def table_resource(model: type[Model], stage: Stage) -> dict[str, Any]:
    """The `AWS::DynamoDB::Table` of a model: on-demand, retained, point-in-time recovery on."""
    schema = model._get_schema()  # what PynamoDB's create_table sends
    definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    properties: dict[str, Any] = {
        "TableName": stage.table_name(entity(model)),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": kind}
                                 for name, kind in sorted(definitions.items())],
        "KeySchema": _key_schema(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "Tags": [{"Key": "app", "Value": stage.app_name}, {"Key": "stage", "Value": stage.name}],
    }
    if schema.get("global_secondary_indexes"):
        properties["GlobalSecondaryIndexes"] = _indexes(schema["global_secondary_indexes"])
    if schema.get("local_secondary_indexes"):
        properties["LocalSecondaryIndexes"] = _indexes(schema["local_secondary_indexes"])
    if stream_view_type(model):
        properties["StreamSpecification"] = {"StreamViewType": stream_view_type(model)}
    ttl = model._ttl_attribute()
    if ttl is not None:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": RETAIN,
            "UpdateReplacePolicy": RETAIN, "Properties": properties}


def table_resources(stage: Stage) -> dict[str, dict[str, Any]]:
    """Every table of the stage, by logical id."""
    return {logical_id(model): table_resource(model, stage) for model in table_models()}


def function_variables() -> dict[str, Any]:
    """What every function is told about the tables: each name (`Ref`) and each stream ARN."""
    variables: dict[str, Any] = {}
    for model in table_models():
        variables[table_variable(entity(model))] = {"Ref": logical_id(model)}
        if stream_view_type(model):
            variables[stream_variable(entity(model))] = {"Fn::GetAtt": [logical_id(model), "StreamArn"]}
    return variables
