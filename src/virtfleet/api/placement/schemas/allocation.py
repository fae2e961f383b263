"""Schemas for PUT /allocations/{consumer_uuid} and POST /allocations."""

from __future__ import annotations

import copy
from typing import Any

from virtfleet.api.placement.schemas.common import (
    MAX_INT,
    RESOURCE_CLASS_NAME,
    STRICT_UUID,
    UUID_PATTERN,
)

RESOURCES: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "patternProperties": {
        RESOURCE_CLASS_NAME["pattern"]: {"type": "integer", "minimum": 1, "maximum": MAX_INT}
    },
    "additionalProperties": False,
}
ID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}

# 1.0: a list of {"resource_provider": {"uuid": ...}, "resources": {...}}.
PUT_V1_0: dict[str, Any] = {
    "type": "object",
    "properties": {
        "allocations": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "resource_provider": {
                        "type": "object",
                        "properties": {"uuid": STRICT_UUID},
                        "required": ["uuid"],
                        "additionalProperties": False,
                    },
                    "resources": RESOURCES,
                },
                "required": ["resource_provider", "resources"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["allocations"],
    "additionalProperties": False,
}

# 1.8: project_id and user_id are required.
PUT_V1_8 = copy.deepcopy(PUT_V1_0)
PUT_V1_8["properties"]["project_id"] = ID
PUT_V1_8["properties"]["user_id"] = ID
PUT_V1_8["required"].extend(["project_id", "user_id"])

# 1.12: allocations keyed by provider uuid, as GET shows them.
PUT_V1_12 = copy.deepcopy(PUT_V1_8)
PUT_V1_12["properties"]["allocations"] = {
    "type": "object",
    "minProperties": 1,
    "patternProperties": {
        UUID_PATTERN: {
            "type": "object",
            "properties": {"generation": {"type": "integer"}, "resources": RESOURCES},
            "required": ["resources"],
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}

# The 1.12 form with empty allocations allowed (they delete the consumer's).
DELETABLE_V1_12 = copy.deepcopy(PUT_V1_12)
DELETABLE_V1_12["properties"]["allocations"]["minProperties"] = 0

# 1.28: consumer_generation (null for a new consumer) is required; empty allowed.
PUT_V1_28 = copy.deepcopy(DELETABLE_V1_12)
PUT_V1_28["properties"]["consumer_generation"] = {"type": ["integer", "null"]}
PUT_V1_28["required"].append("consumer_generation")

# 1.38: consumer_type is required.
PUT_V1_38 = copy.deepcopy(PUT_V1_28)
PUT_V1_38["properties"]["consumer_type"] = {
    "type": "string",
    "pattern": "^[A-Z0-9_]+$",
    "minLength": 1,
    "maxLength": 255,
}
PUT_V1_38["required"].append("consumer_type")


def _many(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "minProperties": 1,
        "patternProperties": {UUID_PATTERN: item},
        "additionalProperties": False,
    }


MAPPINGS: dict[str, Any] = {
    "type": "object",
    "patternProperties": {
        "^[A-Za-z0-9_-]{0,64}$": {"type": "array", "items": STRICT_UUID, "minItems": 1}
    },
    "additionalProperties": False,
}

# 1.34: the candidates' ``mappings`` may be sent back (accepted, not stored).
PUT_V1_34 = copy.deepcopy(PUT_V1_28)
PUT_V1_34["properties"]["mappings"] = MAPPINGS
PUT_V1_38_MAPPED = copy.deepcopy(PUT_V1_38)
PUT_V1_38_MAPPED["properties"]["mappings"] = MAPPINGS

# POST /allocations: consumer uuid -> a PUT body (empty allocations delete).
POST_V1_13 = _many(DELETABLE_V1_12)
POST_V1_28 = _many(PUT_V1_28)
_ITEM_V1_34 = copy.deepcopy(PUT_V1_28)
_ITEM_V1_34["properties"]["mappings"] = MAPPINGS
POST_V1_34 = _many(_ITEM_V1_34)
_ITEM_V1_38 = copy.deepcopy(PUT_V1_38)
_ITEM_V1_38["properties"]["mappings"] = MAPPINGS
POST_V1_38 = _many(_ITEM_V1_38)
