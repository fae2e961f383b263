"""Schemas for ``unshelve`` (``shelve`` and ``shelveOffload`` take no argument)."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import nullable, string, unknown_message

_UNSHELVE = "Invalid input for unshelve: expected null or an object."
# 2.77: an offloaded server may be unshelved into another availability zone.
UNSHELVE_V2_77: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {"availability_zone": string("availability_zone", 255)},
    "additionalProperties": False,
    "x-messages": {"type": _UNSHELVE, "additionalProperties": unknown_message("unshelve")},
}
# 2.91: a host (administrators), and availability_zone null to unpin the server.
UNSHELVE_V2_91: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {
        "availability_zone": nullable(string("availability_zone", 255)),
        "host": string("host", 255),
    },
    "additionalProperties": False,
    "x-messages": {"type": _UNSHELVE, "additionalProperties": unknown_message("unshelve")},
}
UNSHELVE: Versioned = (("2.91", UNSHELVE_V2_91), ("2.77", UNSHELVE_V2_77), ("2.1", {}))
