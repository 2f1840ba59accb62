"""Request schemas derived from the field specs the routes validate with (`core.validation`)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.validation import (
    CONTROL_SCHEMA,
    CONTROL_SCHEMA_MULTILINE,
    Bool,
    Int,
    Obj,
    Text,
    TextList,
)

_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]"  # a character that is neither space nor control


def object_schema(fields: Mapping[str, Any], description: str | None, nullable: bool,
                  components: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of an object field spec; nested `Obj` specs become components of their own."""
    schema: dict[str, Any] = {"type": ["object", "null"] if nullable else "object",
                              "additionalProperties": False}
    required = [name for name, rule in fields.items() if rule.required]
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    properties: dict[str, Any] = {}
    for name, rule in fields.items():
        if isinstance(rule, Obj):
            assert rule.name, f"{name}: a nested object needs a component name"
            components[rule.name] = object_schema(rule.fields, rule.doc, not rule.required,
                                                  components)
            properties[name] = {"$ref": f"#/components/schemas/{rule.name}"}
        elif isinstance(rule, Int):
            properties[name] = int_schema(rule)
        elif isinstance(rule, Bool):
            properties[name] = {"type": "boolean" if rule.required else ["boolean", "null"],
                                **({"description": rule.doc} if rule.doc else {})}
        elif isinstance(rule, TextList):
            item = text_schema(rule.item)
            item["type"] = "string"
            properties[name] = {"type": "array" if rule.required else ["array", "null"],
                                "minItems": 1, "maxItems": rule.max_items, "items": item,
                                **({"description": rule.doc} if rule.doc else {})}
        else:
            properties[name] = text_schema(rule)
    schema["properties"] = properties
    return schema


def int_schema(rule: Int) -> dict[str, Any]:
    """What a whole-number field accepts."""
    schema: dict[str, Any] = {"type": "integer" if rule.required else ["integer", "null"],
                              "minimum": rule.minimum, "maximum": rule.maximum}
    if rule.nonzero:
        schema["not"] = {"const": 0}
    if rule.doc:
        schema["description"] = rule.doc
    return schema


def text_schema(rule: Text) -> dict[str, Any]:
    """What a text field accepts: its type, length, characters (or pattern) and description."""
    extra = dict(rule.schema or {})
    if "enum" in extra:  # a closed set of values says everything
        schema: dict[str, Any] = {"enum": extra.pop("enum")}
    else:
        schema = {"type": "string" if rule.required else ["string", "null"],
                  "minLength": rule.min_len, "maxLength": rule.max_len,
                  "pattern": extra.pop("pattern", None) or _pattern(rule)}
    schema.update(extra)
    if rule.doc:
        schema["description"] = rule.doc
    return schema


def _pattern(rule: Text) -> str:
    if rule.pattern is not None:
        return rule.pattern.pattern
    control = (CONTROL_SCHEMA_MULTILINE if rule.multiline else CONTROL_SCHEMA)
    allowed = "[^" + control[1:]  # any character but these
    if not rule.strip:
        return f"^{allowed}*$"
    return f"^{allowed}*{_VISIBLE}{allowed}*$"  # trimmed, so at least one visible character
