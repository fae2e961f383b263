"""Schema validation of request bodies: messages name the field, per-keyword
overrides, and the Nova-style default."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest

from virtfleet.api.compute import schemas as compute_schemas
from virtfleet.api.image import schemas as image_schemas
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


def _schemas() -> Iterator[tuple[str, Any]]:
    """Every module-level schema of the API packages, as (name, schema)."""
    for package in (compute_schemas, image_schemas):
        for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, dict):
                    yield f"{info.name}.{name}", value


def _templates(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        yield from (str(t) for t in schema.get("x-messages", {}).values())
        for value in schema.values():
            yield from _templates(value)
    elif isinstance(schema, list | tuple):
        for value in schema:
            yield from _templates(value)


def test_every_message_template_formats() -> None:
    """A literal brace in a template must be doubled, or the refusal itself is a 500."""
    found = 0
    for name, schema in _schemas():
        for template in _templates(schema):
            found += 1
            try:
                template.format(value=1, field="f", key="k", names="'n'", bare_names="n")
            except (KeyError, IndexError, ValueError) as exc:
                pytest.fail(f"{name}: template {template!r} does not format: {exc!r}")
    assert found > 50
