"""Schema fragments used by several resources."""

from __future__ import annotations

from typing import Any

MAX_INT = 2147483647

UUID: dict[str, Any] = {"type": "string", "format": "uuid"}
UUID_PATTERN = "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
STRICT_UUID: dict[str, Any] = {"type": "string", "pattern": UUID_PATTERN}
RESOURCE_CLASS_NAME: dict[str, Any] = {
    "type": "string",
    "pattern": "^[A-Z0-9_]+$",
    "maxLength": 255,
}
CUSTOM_RESOURCE_CLASS: dict[str, Any] = {
    "type": "string",
    "pattern": "^CUSTOM_[A-Z0-9_]+$",
    "maxLength": 255,
}
TRAIT_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}
CUSTOM_TRAIT: dict[str, Any] = {
    "type": "string",
    "pattern": "^CUSTOM_[A-Z0-9_]+$",
    "maxLength": 255,
}
GENERATION: dict[str, Any] = {"type": "integer"}
