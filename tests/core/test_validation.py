"""Request validation: 400 for malformed requests, 422 for well-formed but invalid ones."""
from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.accounts.signup import REGISTER
from chalicelib.billing.payments import CONFIRM
from chalicelib.core.errors import BadRequest, Invalid, PayloadTooLarge
from chalicelib.core.validation import (
    Obj,
    Text,
    country_code,
    email,
    query_limit,
    read_json_object,
    validate,
)

SPEC = {
    "name": Text(required=True, max_len=10),
    "email": email(),
    "notes": Text(max_len=50, multiline=True),
    "address": Obj({"city": Text(required=True, max_len=20), "country": country_code(required=True)}),
}
VALID = {"name": "Ayesha", "email": "a@b.co", "notes": "hi",
         "address": {"city": "Lahore", "country": "PK"}}


def body(**changes: Any) -> dict[str, Any]:
    """A valid body with some fields replaced (a value of ... removes the field)."""
    out = json.loads(json.dumps(VALID))
    for key, value in changes.items():
        if value is ...:
            out.pop(key)
        else:
            out[key] = value
    return out


def test_a_valid_body_comes_back_cleaned() -> None:
    assert validate(VALID, SPEC) == VALID


def test_absent_optional_fields_are_none() -> None:
    assert validate({"name": "Ayesha"}, SPEC) == {"name": "Ayesha", "email": None, "notes": None,
                                                  "address": None}


# Malformed: 400 invalid_request ------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": 42}, "name", "must be a string"),
    ({"name": True}, "name", "must be a string"),
    ({"name": ["Ayesha"]}, "name", "must be a string"),
    ({"email": {"a": 1}}, "email", "must be a string"),
    ({"extra": "x"}, "extra", "is not a known field"),
    ({"address": "Lahore"}, "address", "must be an object"),
    ({"address": ["Lahore"]}, "address", "must be an object"),
    ({"address": {"city": 7, "country": "PK"}}, "address.city", "must be a string"),
    ({"address": {"city": "Lahore", "country": "PK", "zip": "1"}}, "address.zip", "is not a known field"),
])
def test_malformed_fields_are_a_bad_request(changes: dict[str, Any], field: str, message: str) -> None:
    # Given a body with a field of the wrong type or an unknown field
    # When it is validated
    with pytest.raises(BadRequest) as caught:
        validate(body(**changes), SPEC)
    # Then it is a 400 invalid_request naming exactly that field
    error = caught.value
    assert (error.status, error.code) == (400, "invalid_request")
    assert error.details == {"fields": {field: message}}


def test_malformed_wins_over_invalid_and_lists_every_malformed_field() -> None:
    with pytest.raises(BadRequest) as caught:
        validate({"name": 1, "email": "not an email", "bogus": 1}, SPEC)
    assert set(caught.value.details["fields"]) == {"name", "bogus"}


# Invalid: 422 --------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field"), [
    ({"name": ...}, "name"),
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 11}, "name"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": "a b@c.co"}, "email"),
    ({"email": "a@-b.co"}, "email"),
    ({"email": "a@b.co" + "m" * 260}, "email"),
    ({"notes": "x" * 51}, "notes"),
    ({"address": {"city": "Lahore"}}, "address.country"),
    ({"address": {"city": "Lahore", "country": "XX"}}, "address.country"),
    ({"address": {"city": "Lahore", "country": "PAK"}}, "address.country"),
    ({"address": {"city": "Lahore", "country": "P"}}, "address.country"),
    ({"address": {"country": "PK"}}, "address.city"),
    ({"name": "Ay\x00sha"}, "name"),
    ({"name": "Ay\x1bsha"}, "name"),
    ({"name": "Ay\x7fsha"}, "name"),
    ({"name": "Ay\nsha"}, "name"),
    ({"name": "Ay\rsha"}, "name"),
    ({"notes": "bell\x07"}, "notes"),
])
def test_invalid_fields_are_unprocessable(changes: dict[str, Any], field: str) -> None:
    # Given a well-formed body with one invalid value
    # When it is validated
    with pytest.raises(Invalid) as caught:
        validate(body(**changes), SPEC)
    # Then it is a 422 naming exactly that field
    assert caught.value.status == 422
    assert list(caught.value.details["fields"]) == [field]


def test_every_invalid_field_is_reported_at_once() -> None:
    with pytest.raises(Invalid) as caught:
        validate({"name": "", "email": "nope", "address": {"country": "ZZ"}}, SPEC)
    assert set(caught.value.details["fields"]) == {"name", "email", "address.city", "address.country"}


def test_a_multiline_field_accepts_newlines_but_a_single_line_one_does_not() -> None:
    assert validate(body(notes="line one\nline two"), SPEC)["notes"] == "line one\nline two"
    with pytest.raises(Invalid):
        validate(body(name="one\ntwo"), SPEC)


@pytest.mark.parametrize("char", ["\x85", "\x9b", "\u2028", "\u2029"])
def test_unicode_control_and_line_break_characters_are_rejected_in_single_line_fields(char: str) -> None:
    with pytest.raises(Invalid):
        validate(body(name=f"Ay{char}sha"), SPEC)


@pytest.mark.parametrize("amount", ["08.00", "00.00", "12345678901.00"])
def test_confirm_spec_rejects_amounts_that_parse_amount_cannot_read(amount: str) -> None:
    confirm = {"invoice_id": "inv_1", "payment_method": "bank_transfer", "amount": amount,
               "manual_reference": "BT-1"}
    with pytest.raises(Invalid) as caught:
        validate(confirm, CONFIRM)
    assert list(caught.value.details["fields"]) == ["amount"]


# Cleaning ------------------------------------------------------------------------------------

def test_values_are_stripped_email_lower_cased_and_country_upper_cased() -> None:
    # Given padded, mixed-case input
    raw = {"name": "  Ayesha  ", "email": "  Ayesha@Khan.PK ",
           "address": {"city": "\tLahore ", "country": " pk "}}
    # When it is validated
    cleaned = validate(raw, SPEC)
    # Then values are trimmed and normalized
    assert cleaned["name"] == "Ayesha"
    assert cleaned["email"] == "ayesha@khan.pk"
    assert cleaned["address"] == {"city": "Lahore", "country": "PK"}


def test_password_is_not_stripped() -> None:
    data = {"email": "a@b.co", "password": "  ten chars ok  ", "name": "A"}
    assert validate(data, REGISTER)["password"] == "  ten chars ok  "


def test_length_is_checked_after_stripping() -> None:
    assert validate(body(name="  " + "x" * 10 + "  "), SPEC)["name"] == "x" * 10


# read_json_object ----------------------------------------------------------------------------

def test_read_json_object_decodes_an_object() -> None:
    assert read_json_object(b'{"a": "b"}', 100) == {"a": "b"}


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_too_large() -> None:
    raw = json.dumps({"a": "x" * 90}).encode()
    assert read_json_object(raw, len(raw)) == {"a": "x" * 90}
    with pytest.raises(PayloadTooLarge) as caught:
        read_json_object(raw, len(raw) - 1)
    assert caught.value.status == 413


@pytest.mark.parametrize("raw", [None, b"", b"   \n", b"{", b"{'a': 1}", b"\xff\xfe", b"[]",
                                 b'[{"a": 1}]', b'"text"', b"null", b"42", b"true"])
def test_read_json_object_rejects_what_is_not_one_json_object(raw: bytes | None) -> None:
    with pytest.raises(BadRequest) as caught:
        read_json_object(raw, 1000)
    assert (caught.value.status, caught.value.code) == (400, "invalid_json")


def test_deeply_nested_json_within_the_size_limit_is_a_bad_request() -> None:
    raw = b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert len(raw) < 16384
    with pytest.raises(BadRequest) as caught:
        read_json_object(raw, 16384)
    assert caught.value.code == "invalid_json"


# query_limit ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [(None, 25), ("1", 1), ("25", 25), ("100", 100)])
def test_query_limit_accepts_1_to_100_and_defaults_to_25(raw: str | None, expected: int) -> None:
    assert query_limit(raw) == expected


@pytest.mark.parametrize("raw", ["0", "101", "-1", "1.5", "", " 5", "ten", "1e2", "+5"])
def test_query_limit_rejects_values_out_of_range_or_not_whole(raw: str) -> None:
    with pytest.raises(BadRequest) as caught:
        query_limit(raw)
    assert (caught.value.status, caught.value.code) == (400, "invalid_query")
    assert "limit" in caught.value.details["fields"]


@pytest.mark.parametrize("raw", ["²", "1²"])
def test_query_limit_rejects_unicode_digit_like_characters(raw: str) -> None:
    with pytest.raises(BadRequest):
        query_limit(raw)
