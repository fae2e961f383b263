"""Schema for ``POST /servers``: the fields virtfleet reads or accepts when trivial.

What a schema cannot say stays with the handler: the fields virtfleet accepts only
in their trivial form, ``networks`` (the network service reads it), a block device
mapping that must name the image, metadata keys and the metadata quota (a 403).
"""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import (
    integer,
    invalid,
    required_string,
    string,
    unknown_message,
    wrapped,
)

#: What the fields the handler does not read may hold (it checks their values).
_ANY: dict[str, Any] = {}


METADATA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {
        "type": "string",
        "maxLength": 255,
        "x-messages": {
            "type": invalid("metadata[{key!r}]", "Expected a non-empty string."),
            "maxLength": (
                "Invalid input for field/attribute metadata[{key!r}]: longer than 255 characters."
            ),
        },
    },
    "x-messages": {"type": invalid("metadata", "Expected an object of strings.")},
}

#: A boolean, a boolean string, or '' (no config drive), as the clients send it.
CONFIG_DRIVE: dict[str, Any] = {
    "type": ["boolean", "string"],
    "pattern": r"(?i)^(true|false|1|0|yes|no|)\Z",
    "x-messages": {
        "type": invalid("config_drive", "Expected a boolean."),
        "pattern": invalid("config_drive", "Expected a boolean."),
    },
}

CREATE_V2_1 = wrapped(
    "server",
    {
        "type": "object",
        "additionalProperties": False,
        "allOf": [required_string("name"), required_string("flavorRef")],
        "properties": {
            "name": string("name"),
            "flavorRef": string("flavorRef"),
            "imageRef": _ANY,
            "metadata": METADATA,
            "networks": _ANY,
            "min_count": integer("min_count", 1),
            "max_count": integer("max_count", 1),
            "return_reservation_id": _ANY,
            "key_name": string("key_name"),
            "security_groups": _ANY,
            "availability_zone": _ANY,
            "user_data": {
                "type": "string",
                "x-messages": {"type": invalid("user_data", "Expected a base64 string.")},
            },
            "config_drive": CONFIG_DRIVE,
            "description": _ANY,
            "OS-DCF:diskConfig": _ANY,
            "block_device_mapping_v2": _ANY,
            "accessIPv4": _ANY,
            "accessIPv6": _ANY,
            "adminPass": string("adminPass"),
            "tags": _ANY,
            "hostname": {
                "type": "string",
                "x-messages": {"type": invalid("hostname", "Expected a string.")},
            },
        },
        "x-messages": {"additionalProperties": unknown_message("server")},
    },
)
CREATE: Versioned = (("2.1", CREATE_V2_1),)
