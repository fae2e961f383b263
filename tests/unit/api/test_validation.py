"""Schema validation of request bodies: messages name the field, per-keyword
overrides, and the Nova-style default."""

from __future__ import annotations

from typing import Any

import pytest

from virtfleet.api.validation import validate
from virtfleet.api.wsgi import HTTPError

SCHEMA: dict[str, Any] = {
    "type": "object",
    "x-name": "thing",
    "x-messages": {
        "type": "The body must be an object.",
        "additionalProperties": "Invalid input for {field}: {names} unexpected.",
        "required": "Invalid input for {field}: {names} required.",
    },
    "properties": {
        "size": {"type": "integer", "minimum": 1},
        "id": {
            "type": "string",
            "pattern": "^a+\\Z",
            "x-messages": {"pattern": "Bad id {value!r}."},
        },
    },
    "required": ["size"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "The body must be an object."),
        (
            {"size": 1, "colour": "red", "b": 1},
            "Invalid input for thing: 'b', 'colour' unexpected.",
        ),
        ({}, "Invalid input for thing: 'size' required."),
        ({"size": 1, "id": "ab"}, "Bad id 'ab'."),
        ({"size": 1, "id": "a\n"}, "Bad id 'a\\n'."),
        (
            {"size": 0},
            "Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1.",
        ),
    ],
)
def test_refusals_name_what_is_wrong(body: Any, message: str) -> None:
    with pytest.raises(HTTPError) as caught:
        validate(body, SCHEMA)
    assert caught.value.status == 400
    assert caught.value.message == message


def test_a_valid_body_passes() -> None:
    validate({"size": 2, "id": "aaa"}, SCHEMA)
