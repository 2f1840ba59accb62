"""Request validation: 400 for a malformed request, 422 for a well-formed but invalid one.

A small declarative checker rather than a model library: it keeps `import app` light (cold start)
and lets the two classes of error map exactly onto the contract's status codes.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.countries import normalize_country
from chalicelib.core.errors import BadRequest, Invalid, PayloadTooLarge

EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
SLUG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# The characters a field refuses, as character classes that Python and JSON Schema read alike
# (single-line fields also refuse line breaks; tabs are allowed).
CONTROL_SCHEMA = r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]"
CONTROL_SCHEMA_MULTILINE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROL = re.compile(CONTROL_SCHEMA_MULTILINE)


@dataclass(frozen=True)
class Text:
    """A string field: trimmed, length-checked, optionally matched and normalized."""

    required: bool = False
    min_len: int = 1
    max_len: int = 200
    pattern: re.Pattern[str] | None = None
    pattern_message: str = "has an invalid format"
    lower: bool = False
    strip: bool = True
    check: Callable[[str], str | None] | None = None
    check_message: str = "is not valid"
    multiline: bool = False
    doc: str | None = None  # the field's description in the OpenAPI schema
    schema: Mapping[str, Any] | None = None  # JSON Schema keywords that say more than the above


@dataclass(frozen=True)
class Int:
    """A whole-number field: a JSON integer (not a string, float or boolean) within bounds."""

    required: bool = False
    minimum: int = 1
    maximum: int = 1_000_000_000
    nonzero: bool = False
    doc: str | None = None


@dataclass(frozen=True)
class Bool:
    """A JSON true or false (not a string or number)."""

    required: bool = False
    doc: str | None = None


@dataclass(frozen=True)
class TextList:
    """A JSON array of strings, each checked as `item`; at least one, at most `max_items`, no
    repeats (kept in the order given)."""

    item: Text
    required: bool = False
    max_items: int = 50
    doc: str | None = None


@dataclass(frozen=True)
class Obj:
    """A nested object with its own fields."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    required: bool = False
    name: str | None = None  # its OpenAPI component
    doc: str | None = None


class _Errors:
    def __init__(self) -> None:
        self.malformed: dict[str, str] = {}
        self.invalid: dict[str, str] = {}

    def raise_if_any(self) -> None:
        if self.malformed:
            raise BadRequest("The request is malformed.", code="invalid_request",
                             details={"fields": self.malformed})
        if self.invalid:
            raise Invalid("Some fields are invalid.", details={"fields": self.invalid})


def read_json_object(raw: bytes | None, max_bytes: int) -> dict[str, Any]:
    """Decode a request body that must be one JSON object."""
    if raw and len(raw) > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
    if not raw or not raw.strip():
        raise BadRequest("The request needs a JSON object body.", code="invalid_json")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest("The request body is not valid JSON.", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return body


def validate(body: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Check `body` against `spec`; return the cleaned values (absent optional fields are None)."""
    errors = _Errors()
    cleaned = _validate_object(body, spec, "", errors)
    errors.raise_if_any()
    return cleaned


def _validate_object(body: Mapping[str, Any], spec: Mapping[str, Any], prefix: str,
                     errors: _Errors) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name in body:
        if name not in spec:
            errors.malformed[prefix + name] = "is not a known field"
    for name, rule in spec.items():
        path = prefix + name
        value = body.get(name)
        if value is None:
            if rule.required:
                errors.invalid[path] = "is required"
            cleaned[name] = None
        elif isinstance(rule, Int):
            cleaned[name] = _validate_int(value, rule, path, errors)
        elif isinstance(rule, Bool):
            if not isinstance(value, bool):
                errors.invalid[path] = "must be true or false"
            cleaned[name] = value if isinstance(value, bool) else None
        elif isinstance(rule, TextList):
            cleaned[name] = _validate_list(value, rule, path, errors)
        elif isinstance(rule, Obj):
            if not isinstance(value, dict):
                errors.malformed[path] = "must be an object"
                cleaned[name] = None
            else:
                cleaned[name] = _validate_object(value, rule.fields, path + ".", errors)
        else:
            cleaned[name] = _validate_text(value, rule, path, errors)
    return cleaned


def _validate_list(value: Any, rule: TextList, path: str, errors: _Errors) -> list[str] | None:
    if not isinstance(value, list):
        errors.malformed[path] = "must be an array of strings"
        return None
    if not value or len(value) > rule.max_items:
        errors.invalid[path] = f"must have from 1 to {rule.max_items} items"
        return None
    items: list[str] = []
    for n, one in enumerate(value):
        checked = _validate_text(one, rule.item, f"{path}[{n}]", errors)
        if checked is not None and checked not in items:
            items.append(checked)
    return items


def _validate_int(value: Any, rule: Int, path: str, errors: _Errors) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.invalid[path] = "must be a whole number"  # 1.5, "10", true: a wrong value, not shape
        return None
    if not rule.minimum <= value <= rule.maximum:
        errors.invalid[path] = f"must be from {rule.minimum} to {rule.maximum}"
    elif rule.nonzero and value == 0:
        errors.invalid[path] = "must not be 0"
    else:
        return value
    return None


def _validate_text(value: Any, rule: Text, path: str, errors: _Errors) -> str | None:
    if not isinstance(value, str):
        errors.malformed[path] = "must be a string"
        return None
    text = value.strip() if rule.strip else value
    if rule.lower:
        text = text.lower()
    if not text:
        if rule.required or rule.min_len > 0:
            errors.invalid[path] = "is required" if rule.required else "must not be empty"
        return None
    if len(text) < rule.min_len:
        errors.invalid[path] = f"must be at least {rule.min_len} characters"
    elif len(text) > rule.max_len:
        errors.invalid[path] = f"must be at most {rule.max_len} characters"
    elif _CONTROL.search(text) or (not rule.multiline and ("\n" in text or "\r" in text)):
        errors.invalid[path] = "contains control characters"
    elif rule.pattern is not None and not rule.pattern.fullmatch(text):
        errors.invalid[path] = rule.pattern_message
    elif rule.check is not None:
        checked = rule.check(text)
        if checked is None:
            errors.invalid[path] = rule.check_message
        return checked
    return text


def country_code(required: bool = False) -> Text:
    """An ISO 3166-1 alpha-2 country code, normalized to upper case."""
    return Text(required=required, min_len=2, max_len=2, check=normalize_country,
                check_message="must be an ISO 3166-1 alpha-2 country code",
                schema={"pattern": "^[A-Za-z]{2}$"},
                doc="An assigned ISO 3166-1 alpha-2 code, any case (stored upper-case); an "
                    "unassigned one is 422.")


def email(required: bool = False, doc: str | None = None) -> Text:
    """An email address, lower-cased."""
    return Text(required=required, max_len=254, lower=True, pattern=EMAIL,
                pattern_message="must be an email address", doc=doc,
                schema={"format": "email", "not": {"pattern": CONTROL_SCHEMA}})


def query_limit(raw: str | None, default: int = 25, maximum: int = 100) -> int:
    """The `limit` query parameter: 1..maximum."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise BadRequest(f"limit must be a whole number from 1 to {maximum}.", code="invalid_query",
                         details={"fields": {"limit": f"must be 1 to {maximum}"}})
    return int(raw)
