"""Schema for ``POST /os-scheduler-explain``."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import nullable, required_string, string

MAX_LIMIT = 1000
_SHAPE = 'The body must be {{"explain": {{"flavorRef": ..., "imageRef": ...}}}}.'
_LIMIT = f"limit must be an integer from 1 to {MAX_LIMIT}, not {{value!r}}."
_UNKNOWN = "Unknown field(s) {bare_names}; allowed: flavorRef, host, imageRef, limit."


EXPLAIN_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["explain"],
    "properties": {
        "explain": {
            "type": "object",
            "additionalProperties": False,
            "allOf": [required_string("flavorRef"), required_string("imageRef")],
            "properties": {
                "flavorRef": string("flavorRef"),
                "imageRef": string("imageRef"),
                "host": nullable(string("host")),
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "x-messages": {"type": _LIMIT, "minimum": _LIMIT, "maximum": _LIMIT},
                },
            },
            "x-messages": {
                "type": _SHAPE,
                "additionalProperties": _UNKNOWN,
            },
        }
    },
    "x-messages": {"type": _SHAPE, "required": _SHAPE},
}
EXPLAIN: Versioned = (("2.1", EXPLAIN_V2_1),)
