"""Schemas for POST /reshaper (1.30): inventories by provider, allocations by consumer
(the POST /allocations form of the request's microversion)."""

from __future__ import annotations

import copy
from typing import Any

from virtfleet.api.placement.schemas import allocation
from virtfleet.api.placement.schemas.common import GENERATION, UUID_PATTERN
from virtfleet.api.placement.schemas.inventory import PUT_ALL

# One provider: its whole inventory and the generation the caller last saw.
_PROVIDER = copy.deepcopy(PUT_ALL)
_PROVIDER["properties"]["resource_provider_generation"] = GENERATION

_INVENTORIES: dict[str, Any] = {
    "type": "object",
    "patternProperties": {UUID_PATTERN: _PROVIDER},
    "additionalProperties": False,
}


def _reshaper(allocations: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"inventories": _INVENTORIES, "allocations": allocations},
        "required": ["inventories", "allocations"],
        "additionalProperties": False,
    }


def _may_be_empty(many: dict[str, Any]) -> dict[str, Any]:
    found = copy.deepcopy(many)
    found.pop("minProperties", None)
    return found


POST_V1_30 = _reshaper(_may_be_empty(allocation.POST_V1_28))
POST_V1_34 = _reshaper(_may_be_empty(allocation.POST_V1_34))
POST_V1_38 = _reshaper(_may_be_empty(allocation.POST_V1_38))
