"""Schemas for changing a server in place: ``PUT /servers/{id}`` (name; 2.19
description), its metadata (``/servers/{id}/metadata[/{key}]``) and its tags (2.26,
``/servers/{id}/tags[/{tag}]``)."""

from __future__ import annotations

import copy
from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import nullable, string, unknown_message

_UPDATE = "Invalid input: the body must be an object with a 'server' object."
UPDATE_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["server"],
    "properties": {
        "server": {
            "type": "object",
            "properties": {"name": string("name", 255)},
            "additionalProperties": False,
            "x-messages": {"type": _UPDATE, "additionalProperties": unknown_message("server")},
        }
    },
    "additionalProperties": False,
    "x-messages": {
        "type": _UPDATE,
        "required": _UPDATE,
        "additionalProperties": unknown_message("the update"),
    },
}
UPDATE_V2_19 = copy.deepcopy(UPDATE_V2_1)
UPDATE_V2_19["properties"]["server"]["properties"]["description"] = nullable(
    string("description", 255, allow_empty=True)
)
UPDATE_V2_90 = copy.deepcopy(UPDATE_V2_19)
UPDATE_V2_90["properties"]["server"]["properties"]["hostname"] = {
    "type": "string",
    "x-messages": {"type": "Invalid input for field/attribute hostname: expected a string."},
}
UPDATE: Versioned = (("2.90", UPDATE_V2_90), ("2.19", UPDATE_V2_19), ("2.1", UPDATE_V2_1))

_VALUE = {
    "type": "string",
    "maxLength": 255,
    "x-messages": {
        "type": "Invalid input for metadata: values must be strings.",
        "maxLength": "Invalid input for metadata: a value is longer than 255 characters.",
    },
}


def _items(root: str) -> dict[str, Any]:
    message = f"Invalid input: the body must be an object with a '{root}' object."
    return {
        "type": "object",
        "required": [root],
        "properties": {
            root: {
                "type": "object",
                "additionalProperties": _VALUE,
                "x-messages": {"type": message},
            }
        },
        "additionalProperties": False,
        "x-messages": {
            "type": message,
            "required": message,
            "additionalProperties": unknown_message(root),
        },
    }


METADATA: Versioned = (("2.1", _items("metadata")),)
META_ITEM: Versioned = (("2.1", _items("meta")),)

_TAGS = "Invalid input: the body must be an object with a 'tags' list."
TAG_MESSAGE = (
    "Invalid input for tags: each tag is 1 to 60 characters without ',' or '/' (at most 50 tags)."
)
TAG_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 60,
    "pattern": "^[^,/]*\\Z",
    "x-messages": {
        "type": TAG_MESSAGE,
        "minLength": TAG_MESSAGE,
        "maxLength": TAG_MESSAGE,
        "pattern": TAG_MESSAGE,
    },
}
TAGS_V2_26: dict[str, Any] = {
    "type": "object",
    "required": ["tags"],
    "properties": {
        "tags": {
            "type": "array",
            "items": TAG_SCHEMA,
            "maxItems": 50,
            "x-messages": {"type": _TAGS, "maxItems": TAG_MESSAGE},
        }
    },
    "additionalProperties": False,
    "x-messages": {
        "type": _TAGS,
        "required": _TAGS,
        "additionalProperties": unknown_message("tags"),
    },
}
TAGS: Versioned = (("2.26", TAGS_V2_26),)
# PUT /servers/{id}/tags/{tag}: the tag is in the path; a body is not looked at.
TAG: Versioned = (("2.26", {}),)
