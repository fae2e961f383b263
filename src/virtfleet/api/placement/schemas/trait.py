"""Schemas for /traits and /resource_providers/{uuid}/traits."""

from __future__ import annotations

from typing import Any

from virtfleet.api.placement.schemas.common import GENERATION, TRAIT_NAME

PUT_PROVIDER_TRAITS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "traits": {"type": "array", "items": TRAIT_NAME, "uniqueItems": True},
        "resource_provider_generation": GENERATION,
    },
    "required": ["traits", "resource_provider_generation"],
    "additionalProperties": False,
}

LIST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": r"^(startswith:.+|in:.+)$"},
        "associated": {"type": "string", "enum": ["true", "false"]},
    },
    "additionalProperties": False,
}
