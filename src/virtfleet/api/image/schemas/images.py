"""Schemas of ``POST /v2/images`` and ``PATCH /v2/images/{id}`` bodies (Image API v2;
no later version changes them)."""

from __future__ import annotations

from typing import Any

UUID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z"
BAD_ID = "Invalid id {value!r}: expected a UUID (8-4-4-4-12 hex digits)."

# The image attributes and properties themselves are the image service's to check.
CREATE_V2: dict[str, Any] = {
    "type": "object",
    "x-messages": {"type": "Image create body must be a JSON object."},
    "properties": {
        "id": {
            "type": ["string", "null"],
            "pattern": UUID_PATTERN,
            "x-messages": {"type": BAD_ID, "pattern": BAD_ID},
        },
    },
}

# A JSON patch (application/openstack-images-v2.1-json-patch); operations are checked
# by the image service.
UPDATE_V2: dict[str, Any] = {
    "type": "array",
    "x-messages": {"type": "A JSON patch must be a list of operations."},
}
