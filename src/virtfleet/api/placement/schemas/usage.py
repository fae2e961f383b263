"""Schemas for GET /usages."""

from __future__ import annotations

import copy
from typing import Any

QUERY_V1_9: dict[str, Any] = {
    "type": "object",
    "properties": {
        "project_id": {"type": "string", "minLength": 1, "maxLength": 255},
        "user_id": {"type": "string", "minLength": 1, "maxLength": 255},
    },
    "required": ["project_id"],
    "additionalProperties": False,
}

# 1.38: filter by consumer type.
QUERY_V1_38 = copy.deepcopy(QUERY_V1_9)
QUERY_V1_38["properties"]["consumer_type"] = {"type": "string", "minLength": 1}
