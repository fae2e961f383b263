"""Schemas for ``POST /flavors``, ``PUT /flavors/{id}`` and a flavor's extra specs."""

from __future__ import annotations

import copy
from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import (
    MAX_INT,
    SPEC_KEY_PATTERN,
    boolean,
    integer,
    invalid,
    nullable,
    string,
    unknown_message,
    wrapped,
)

_ID_TYPE = invalid("id", "Expected a string or integer.")
FLAVOR_ID: dict[str, Any] = {
    "type": ["string", "integer", "null"],
    "x-messages": {"type": _ID_TYPE},
    "allOf": [
        string("id"),
        {
            "pattern": SPEC_KEY_PATTERN,
            "x-messages": {
                "pattern": "Invalid flavor id {value!r}: use letters, digits, "
                "'_', '-', '.', ':' and spaces."
            },
        },
    ],
}
# The id may be an integer (shown as a string); the string checks apply to strings only.
FLAVOR_ID["allOf"][0] = {k: v for k, v in FLAVOR_ID["allOf"][0].items() if k != "type"}

RXTX_FACTOR: dict[str, Any] = {
    "type": ["number", "string"],
    "x-messages": {"type": "Invalid input for field/attribute rxtx_factor. Value: {value!r}."},
}

# A falsy swap (Nova's old "", null, false, ...) means none; else an integer.
SWAP: dict[str, Any] = {
    "anyOf": [{"enum": [False, 0, "", [], {}, None]}, integer("swap", 0, MAX_INT)],
    "x-messages": {"anyOf": invalid("swap", "Expected an integer.")},
}

_FLAVOR_V2_1: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "ram", "vcpus"],
    "properties": {
        "id": FLAVOR_ID,
        "name": string("name"),
        "ram": integer("ram", 1, MAX_INT),
        "vcpus": integer("vcpus", 1, MAX_INT),
        "disk": integer("disk", 0, MAX_INT),
        "OS-FLV-EXT-DATA:ephemeral": integer("OS-FLV-EXT-DATA:ephemeral", 0, MAX_INT),
        "swap": SWAP,
        "rxtx_factor": RXTX_FACTOR,
        "os-flavor-access:is_public": boolean("os-flavor-access:is_public"),
    },
    "x-messages": {
        "additionalProperties": unknown_message("flavor"),
        "required": "Invalid input for flavor: 'name', 'ram' and 'vcpus' are required.",
    },
}
CREATE_V2_1 = wrapped("flavor", _FLAVOR_V2_1)

DESCRIPTION = nullable(string("description", 65535, allow_empty=True))

# 2.55: a description.
_FLAVOR_V2_55 = copy.deepcopy(_FLAVOR_V2_1)
_FLAVOR_V2_55["properties"]["description"] = DESCRIPTION
CREATE_V2_55 = wrapped("flavor", _FLAVOR_V2_55)

CREATE: Versioned = (("2.55", CREATE_V2_55), ("2.1", CREATE_V2_1))

# 2.55: PUT /flavors/{id} changes the description (the route answers 405 before).
UPDATE_V2_55 = wrapped(
    "flavor",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["description"],
        "properties": {"description": DESCRIPTION},
        "x-messages": {
            "additionalProperties": unknown_message("flavor"),
            "required": "Invalid input for flavor: 'description' is required.",
        },
    },
)
UPDATE: Versioned = (("2.55", UPDATE_V2_55),)

SPEC_VALUE: dict[str, Any] = {
    "type": ["string", "number"],
    "maxLength": 255,
    "x-messages": {
        "type": "Invalid extra spec {key}={value!r}: values must be strings or numbers.",
        "maxLength": "Invalid extra spec {key}: the value is longer than 255 characters.",
    },
}
_SPECS: dict[str, Any] = {
    "type": "object",
    "patternProperties": {SPEC_KEY_PATTERN: SPEC_VALUE},
    "additionalProperties": False,
    "x-messages": {
        "additionalProperties": "Invalid extra spec key {names}: use 1-255 letters, digits, "
        "'_', '-', '.', ':' and spaces."
    },
}

# POST /flavors/{id}/os-extra_specs: {"extra_specs": {key: value, ...}}.
SPECS_CREATE_V2_1 = wrapped("extra_specs", _SPECS)
SPECS_CREATE: Versioned = (("2.1", SPECS_CREATE_V2_1),)

# PUT /flavors/{id}/os-extra_specs/{key}: {key: value}, exactly one.
_ONE_KEY = (
    "Invalid input: the body must be an object with exactly one key, the extra spec being set."
)
SPECS_UPDATE_V2_1 = copy.deepcopy(_SPECS)
SPECS_UPDATE_V2_1.update(minProperties=1, maxProperties=1)
for _keyword in ("type", "minProperties", "maxProperties"):
    SPECS_UPDATE_V2_1["x-messages"][_keyword] = _ONE_KEY
SPECS_UPDATE: Versioned = (("2.1", SPECS_UPDATE_V2_1),)
