"""Schemas for /resource_providers/{uuid}/inventories."""

from __future__ import annotations

import copy
from typing import Any

from virtfleet.api.placement.schemas.common import GENERATION, MAX_INT, RESOURCE_CLASS_NAME

# The fields of one inventory record (all but total optional).
INVENTORY_FIELDS: dict[str, Any] = {
    "total": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
    "reserved": {"type": "integer", "maximum": MAX_INT, "minimum": 0},
    "min_unit": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
    "max_unit": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
    "step_size": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
    "allocation_ratio": {"type": "number", "maximum": 3.40282e38, "minimum": 0},
}

# PUT .../inventories/{rc}
PUT_ONE: dict[str, Any] = {
    "type": "object",
    "properties": {"resource_provider_generation": GENERATION, **INVENTORY_FIELDS},
    "required": ["total", "resource_provider_generation"],
    "additionalProperties": False,
}

# POST .../inventories: the generation is optional (checked when given), as upstream.
POST_ONE = copy.deepcopy(PUT_ONE)
POST_ONE["properties"]["resource_class"] = RESOURCE_CLASS_NAME
POST_ONE["required"] = ["total", "resource_class"]

# PUT .../inventories
PUT_ALL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "resource_provider_generation": GENERATION,
        "inventories": {
            "type": "object",
            "patternProperties": {
                RESOURCE_CLASS_NAME["pattern"]: {
                    "type": "object",
                    "properties": INVENTORY_FIELDS,
                    "required": ["total"],
                    "additionalProperties": False,
                }
            },
            "additionalProperties": False,
        },
    },
    "required": ["inventories", "resource_provider_generation"],
    "additionalProperties": False,
}
