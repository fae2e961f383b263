"""How an image looks in the Image API: base attributes, links, and the properties
flattened into the same object (as Glance does)."""

from __future__ import annotations

import datetime
from typing import Any

from virtfleet.db.images import Image


def timestamp(value: datetime.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_view(image: Image) -> dict[str, Any]:
    body: dict[str, Any] = dict(image.properties)
    body.update(
        {
            "id": image.id,
            "name": image.name,
            "status": image.status,
            "visibility": image.visibility,
            "protected": image.protected,
            "os_hidden": image.os_hidden,
            "checksum": image.checksum,
            "os_hash_algo": image.os_hash_algo,
            "os_hash_value": image.os_hash_value,
            "owner": image.owner,
            "size": image.size,
            "virtual_size": None,
            "min_ram": image.min_ram,
            "min_disk": image.min_disk,
            "disk_format": image.disk_format,
            "container_format": image.container_format,
            "tags": list(image.tags),
            "created_at": timestamp(image.created_at),
            "updated_at": timestamp(image.updated_at),
            "self": f"/v2/images/{image.id}",
            "file": f"/v2/images/{image.id}/file",
            "schema": "/v2/schemas/image",
        }
    )
    return body


def image_schema() -> dict[str, Any]:
    """A JSON schema of the image document (what clients fetch from /v2/schemas/image)."""
    nullable_string = {"type": ["null", "string"]}
    return {
        "name": "image",
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "name": {"type": ["null", "string"], "maxLength": 255},
            "status": {"type": "string", "readOnly": True},
            "visibility": {"type": "string", "enum": ["public", "private", "shared", "community"]},
            "protected": {"type": "boolean"},
            "os_hidden": {"type": "boolean"},
            "checksum": {**nullable_string, "readOnly": True},
            "os_hash_algo": {**nullable_string, "readOnly": True},
            "os_hash_value": {**nullable_string, "readOnly": True},
            "owner": {**nullable_string, "readOnly": True},
            "size": {"type": ["null", "integer"], "readOnly": True},
            "virtual_size": {"type": ["null", "integer"], "readOnly": True},
            "min_ram": {"type": "integer"},
            "min_disk": {"type": "integer"},
            "disk_format": nullable_string,
            "container_format": nullable_string,
            "tags": {"type": "array", "items": {"type": "string"}},
            "created_at": {"type": "string", "readOnly": True},
            "updated_at": {"type": "string", "readOnly": True},
            "self": {"type": "string", "readOnly": True},
            "file": {"type": "string", "readOnly": True},
            "schema": {"type": "string", "readOnly": True},
        },
    }


def images_schema() -> dict[str, Any]:
    """The schema of an image list (/v2/schemas/images)."""
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }
