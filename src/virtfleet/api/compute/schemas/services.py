"""Schemas for ``PUT /os-services/...``: by UUID (2.53) and by action (before)."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import string, unknown_message

_STATUS = (
    "Invalid input for field/attribute status. Value: {value!r}. Expected enabled or disabled."
)
_FORCED = "Invalid input for field/attribute forced_down. Value: {value!r}. Expected a boolean."
_BODY = "Invalid input: the body must be an object."

UPDATE_V2_53: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {
            "type": "string",
            "enum": ["enabled", "disabled"],
            "x-messages": {"type": _STATUS, "enum": _STATUS},
        },
        "disabled_reason": string("disabled_reason", 255),
        "forced_down": {"type": "boolean", "x-messages": {"type": _FORCED}},
    },
    "additionalProperties": False,
    "x-messages": {"type": _BODY, "additionalProperties": unknown_message("os-services")},
}
UPDATE: Versioned = (("2.53", UPDATE_V2_53),)

_NEEDS = "Invalid input for os-services: {names} is a required property."
LEGACY_UPDATE_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["host", "binary"],
    "properties": {
        "host": string("host", 255),
        "binary": string("binary", 255),
        "disabled_reason": string("disabled_reason", 255),
        "forced_down": {"type": "boolean", "x-messages": {"type": _FORCED}},
    },
    "additionalProperties": False,
    "x-messages": {
        "type": _BODY,
        "required": _NEEDS,
        "additionalProperties": unknown_message("os-services"),
    },
}
LEGACY_UPDATE: Versioned = (("2.1", LEGACY_UPDATE_V2_1),)
# The route's table: the handler picks UPDATE or LEGACY_UPDATE by microversion.
SERVICE_UPDATE: Versioned = (("2.53", UPDATE_V2_53), ("2.1", LEGACY_UPDATE_V2_1))
