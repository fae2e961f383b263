"""Schemas for ``POST /os-keypairs``, per microversion: ``type`` (2.2), ``user_id``
(2.10), ``public_key`` required (2.92: the API no longer generates keys).

The name's characters depend on the microversion too; the handler checks them, with a
message naming the characters allowed.
"""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import (
    invalid,
    required_string,
    string,
    unknown_message,
    wrapped,
)


def _keypair(properties: dict[str, Any], required: tuple[str, ...] = ("name",)) -> Any:
    return wrapped(
        "keypair",
        {
            "type": "object",
            "additionalProperties": False,
            "allOf": [required_string(name) for name in required],
            "properties": properties,
            "x-messages": {"additionalProperties": unknown_message("keypair")},
        },
    )


_V2_1: dict[str, Any] = {
    "name": string("name"),
    "public_key": string("public_key", 16384),
}
_V2_2 = {
    **_V2_1,
    "type": {
        "type": "string",
        "enum": ["ssh", "x509"],
        "x-messages": {
            "type": invalid("type", "Expected 'ssh' or 'x509'."),
            "enum": invalid("type", "Expected 'ssh' or 'x509'."),
        },
    },
}
_V2_10 = {**_V2_2, "user_id": string("user_id")}

CREATE_V2_1 = _keypair(_V2_1)
CREATE_V2_2 = _keypair(_V2_2)
CREATE_V2_10 = _keypair(_V2_10)
CREATE_V2_92 = _keypair(_V2_10, required=("name", "public_key"))

CREATE: Versioned = (
    ("2.92", CREATE_V2_92),
    ("2.10", CREATE_V2_10),
    ("2.2", CREATE_V2_2),
    ("2.1", CREATE_V2_1),
)
