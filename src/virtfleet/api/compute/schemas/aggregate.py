"""Schemas for ``/os-aggregates`` bodies: create and update (``name``,
``availability_zone``) and the one-key actions add_host, remove_host, set_metadata."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import (
    invalid,
    nullable,
    required_string,
    string,
    unknown_message,
    wrapped,
)

_FIELDS: dict[str, Any] = {
    "name": string("name"),
    "availability_zone": nullable(string("availability_zone")),
}


def _aggregate(required: tuple[str, ...]) -> Any:
    return wrapped(
        "aggregate",
        {
            "type": "object",
            "additionalProperties": False,
            "allOf": [required_string(name) for name in required],
            "minProperties": 1,
            "properties": _FIELDS,
            "x-messages": {
                "additionalProperties": unknown_message("aggregate"),
                "minProperties": "Invalid input for aggregate: give name or availability_zone.",
            },
        },
    )


def _host_action(name: str) -> Any:
    return {
        "type": "object",
        "additionalProperties": False,
        "allOf": [required_string("host")],
        "properties": {"host": string("host")},
        "x-messages": {
            "type": invalid(name, "Expected an object with a host."),
            "additionalProperties": unknown_message(name),
        },
    }


ACTION_V2_1 = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
    "properties": {
        "add_host": _host_action("add_host"),
        "remove_host": _host_action("remove_host"),
        "set_metadata": {
            "type": "object",
            "required": ["metadata"],
            "additionalProperties": False,
            "properties": {
                "metadata": {
                    "type": "object",
                    "additionalProperties": {
                        "type": ["string", "null"],
                        "maxLength": 255,
                        "x-messages": {
                            "type": invalid("metadata value", "Expected a string or null."),
                            "maxLength": invalid("metadata value", "Longer than 255."),
                        },
                    },
                    "x-messages": {
                        "type": invalid("metadata", "Expected an object."),
                    },
                }
            },
            "x-messages": {
                "type": invalid("set_metadata", "Expected an object with metadata."),
                "required": "Invalid input for set_metadata: 'metadata' is required.",
                "additionalProperties": unknown_message("set_metadata"),
            },
        },
    },
    "x-messages": {
        "type": "Invalid input: the body must be an object with one action.",
        "minProperties": "Invalid input: the body must name one action "
        "(add_host, remove_host or set_metadata).",
        "maxProperties": "Invalid input: the body must name one action "
        "(add_host, remove_host or set_metadata).",
        "additionalProperties": "Invalid input: unknown aggregate action ({names}); "
        "known: add_host, remove_host, set_metadata.",
    },
}

CREATE: Versioned = (("2.1", _aggregate(("name",))),)
UPDATE: Versioned = (("2.1", _aggregate(())),)
ACTION: Versioned = (("2.1", ACTION_V2_1),)

# POST /os-aggregates/{id}/images (2.81): {"cache": [{"id": <image>}, ...]}; checked so
# that a malformed body is named as such before the feature is refused.
_CACHE = 'Invalid input: the body must be {{"cache": [{{"id": <image id>}}, ...]}}.'
IMAGES_V2_81: dict[str, Any] = {
    "type": "object",
    "required": ["cache"],
    "properties": {
        "cache": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}},
                "additionalProperties": False,
            },
        }
    },
    "additionalProperties": False,
    "x-messages": {"type": _CACHE, "required": _CACHE, "additionalProperties": _CACHE},
}
IMAGES: Versioned = (("2.81", IMAGES_V2_81),)
