"""Schemas for PUT /resource_providers/{uuid}/aggregates."""

from __future__ import annotations

from typing import Any

from virtfleet.api.placement.schemas.common import GENERATION, STRICT_UUID

# 1.1: a bare list of aggregate uuids.
PUT_V1_1: dict[str, Any] = {"type": "array", "items": STRICT_UUID, "uniqueItems": True}

# 1.19: an object with the provider generation.
PUT_V1_19: dict[str, Any] = {
    "type": "object",
    "properties": {"aggregates": PUT_V1_1, "resource_provider_generation": GENERATION},
    "required": ["aggregates", "resource_provider_generation"],
    "additionalProperties": False,
}
