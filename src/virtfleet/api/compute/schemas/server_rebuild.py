"""Bodies of the ``evacuate`` and ``rebuild`` server actions, per microversion.

evacuate: ``host`` and ``adminPass`` always; ``onSharedStorage`` required before 2.14
and gone from it; ``force`` from 2.29 to 2.67. rebuild: ``imageRef`` required, with
the server's new ``name``, ``adminPass``, ``metadata``, ``OS-DCF:diskConfig``,
``accessIPv4``/``accessIPv6``, ``preserve_ephemeral``; ``personality`` before 2.57,
``description`` from 2.19, ``key_name`` from 2.54, ``user_data`` from 2.57,
``hostname`` from 2.90.
"""

from __future__ import annotations

import copy
from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import boolean, nullable, string, unknown_message

_EVACUATE = "Invalid input for evacuate: expected an object."
EVACUATE_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["onSharedStorage"],
    "properties": {
        "host": string("host", 255),
        "onSharedStorage": boolean("onSharedStorage"),
        "adminPass": string("adminPass", 255),
    },
    "additionalProperties": False,
    "x-messages": {
        "type": _EVACUATE,
        "required": "Invalid input for evacuate: onSharedStorage is a required property.",
        "additionalProperties": unknown_message("evacuate"),
    },
}
EVACUATE_V2_14 = copy.deepcopy(EVACUATE_V2_1)
del EVACUATE_V2_14["required"]
del EVACUATE_V2_14["properties"]["onSharedStorage"]
EVACUATE_V2_29 = copy.deepcopy(EVACUATE_V2_14)
EVACUATE_V2_29["properties"]["force"] = boolean("force")
EVACUATE_V2_68 = copy.deepcopy(EVACUATE_V2_14)
EVACUATE: Versioned = (
    ("2.68", EVACUATE_V2_68),
    ("2.29", EVACUATE_V2_29),
    ("2.14", EVACUATE_V2_14),
    ("2.1", EVACUATE_V2_1),
)

_REBUILD = "Invalid input for rebuild: expected an object with an 'imageRef'."
REBUILD_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["imageRef"],
    "properties": {
        "imageRef": {
            "type": "string",
            "minLength": 1,
            "x-messages": {
                "type": "Invalid input for field/attribute imageRef: expected a string.",
                "minLength": "Invalid input for field/attribute imageRef: empty.",
            },
        },
        "name": string("name", 255),
        "adminPass": string("adminPass", 255),
        "metadata": {
            "type": "object",
            "maxProperties": 128,
            "additionalProperties": string("metadata", 255, allow_empty=True),
            "x-messages": {
                "type": "Invalid input for field/attribute metadata: expected an object.",
                "maxProperties": "Invalid input for metadata: at most 128 items.",
            },
        },
        "OS-DCF:diskConfig": {
            "type": "string",
            "enum": ["AUTO", "MANUAL"],
            "x-messages": {
                "type": "Invalid input for OS-DCF:diskConfig: AUTO or MANUAL.",
                "enum": "Invalid input for OS-DCF:diskConfig: AUTO or MANUAL.",
            },
        },
        "accessIPv4": string("accessIPv4", 64, allow_empty=True),
        "accessIPv6": string("accessIPv6", 64, allow_empty=True),
        "preserve_ephemeral": boolean("preserve_ephemeral"),
        "personality": {
            "type": "array",
            "maxItems": 0,
            "x-messages": {
                "type": "Invalid input for personality: expected a list.",
                "maxItems": "Personality files are not supported; use user_data.",
            },
        },
    },
    "additionalProperties": False,
    "x-messages": {
        "type": _REBUILD,
        "required": _REBUILD,
        "additionalProperties": unknown_message("rebuild"),
    },
}
REBUILD_V2_19 = copy.deepcopy(REBUILD_V2_1)
REBUILD_V2_19["properties"]["description"] = nullable(string("description", 255, allow_empty=True))
REBUILD_V2_54 = copy.deepcopy(REBUILD_V2_19)
REBUILD_V2_54["properties"]["key_name"] = nullable(string("key_name", 255))
REBUILD_V2_57 = copy.deepcopy(REBUILD_V2_54)
del REBUILD_V2_57["properties"]["personality"]
REBUILD_V2_57["properties"]["user_data"] = nullable(
    {
        "type": "string",
        "maxLength": 65535,
        "x-messages": {
            "type": "Invalid input for field/attribute user_data: expected a string.",
            "maxLength": "Invalid input for field/attribute user_data: longer than 65535.",
        },
    }
)
REBUILD_V2_90 = copy.deepcopy(REBUILD_V2_57)
REBUILD_V2_90["properties"]["hostname"] = {
    "type": "string",
    "x-messages": {"type": "Invalid input for field/attribute hostname: expected a string."},
}
REBUILD: Versioned = (
    ("2.90", REBUILD_V2_90),
    ("2.57", REBUILD_V2_57),
    ("2.54", REBUILD_V2_54),
    ("2.19", REBUILD_V2_19),
    ("2.1", REBUILD_V2_1),
)
