"""Schemas for ``POST /os-server-groups``: ``policies`` (a list of one policy) before
2.64, ``policy`` and ``rules`` (``max_server_per_host``) from 2.64. Which policies a
microversion allows (the soft ones from 2.15) is the handler's check."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import (
    invalid,
    required_string,
    string,
    unknown_message,
    wrapped,
)


def _group(properties: dict[str, Any], required: tuple[str, ...]) -> Any:
    return wrapped(
        "server_group",
        {
            "type": "object",
            "additionalProperties": False,
            "required": list(required),
            "allOf": [required_string("name")],
            "properties": properties,
            "x-messages": {
                "additionalProperties": unknown_message("server_group"),
                "required": "Invalid input for server_group: 'name' and "
                + " and ".join(f"'{r}'" for r in required if r != "name")
                + " are required.",
            },
        },
    )


POLICIES_LIST = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {
        "type": "string",
        "x-messages": {"type": invalid("policies", "Expected a list of one policy name.")},
    },
    "x-messages": {
        "type": invalid("policies", "Expected a list of one policy name."),
        "minItems": invalid("policies", "Expected a list of one policy name."),
        "maxItems": invalid("policies", "Expected a list of one policy name."),
    },
}
RULES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "max_server_per_host": {
            "type": ["integer", "string"],
            "pattern": r"^[0-9]+\Z",
            "minimum": 1,
            "x-messages": {
                "type": invalid("max_server_per_host", "Expected a positive integer."),
                "pattern": invalid("max_server_per_host", "Expected a positive integer."),
                "minimum": invalid("max_server_per_host", "Expected a positive integer."),
            },
        }
    },
    "x-messages": {
        "type": invalid("rules", "Expected an object."),
        "additionalProperties": "Invalid input for rules: only max_server_per_host is "
        "known ({names} unexpected).",
    },
}

CREATE_V2_1 = _group(
    {"name": string("name"), "policies": POLICIES_LIST}, required=("name", "policies")
)
CREATE_V2_64 = _group(
    {
        "name": string("name"),
        "policy": {
            "type": "string",
            "x-messages": {"type": invalid("policy", "Expected a policy name.")},
        },
        "rules": RULES,
    },
    required=("name", "policy"),
)

CREATE: Versioned = (("2.64", CREATE_V2_64), ("2.1", CREATE_V2_1))
