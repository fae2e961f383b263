"""Schemas for /resource_classes."""

from __future__ import annotations

from typing import Any

from virtfleet.api.placement.schemas.common import CUSTOM_RESOURCE_CLASS

# POST /resource_classes, and PUT /resource_classes/{name} (rename) before 1.7.
NAMED: dict[str, Any] = {
    "type": "object",
    "properties": {"name": CUSTOM_RESOURCE_CLASS},
    "required": ["name"],
    "additionalProperties": False,
}
