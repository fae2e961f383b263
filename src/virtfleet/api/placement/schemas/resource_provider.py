"""Schemas for /resource_providers."""

from __future__ import annotations

import copy
from typing import Any

from virtfleet.api.placement.schemas.common import STRICT_UUID

POST_V1_0: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "uuid": STRICT_UUID,
    },
    "required": ["name"],
    "additionalProperties": False,
}

# 1.14: a provider may be created under a parent.
POST_V1_14 = copy.deepcopy(POST_V1_0)
POST_V1_14["properties"]["parent_provider_uuid"] = {"anyOf": [STRICT_UUID, {"type": "null"}]}

PUT_V1_0: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}},
    "required": ["name"],
    "additionalProperties": False,
}

# 1.14: the parent may be set.
PUT_V1_14 = copy.deepcopy(PUT_V1_0)
PUT_V1_14["properties"]["parent_provider_uuid"] = {"anyOf": [STRICT_UUID, {"type": "null"}]}

LIST_V1_0: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "uuid": STRICT_UUID},
    "additionalProperties": False,
}

# 1.3: member_of.
LIST_V1_3 = copy.deepcopy(LIST_V1_0)
LIST_V1_3["properties"]["member_of"] = {"type": "string"}

# 1.4: resources.
LIST_V1_4 = copy.deepcopy(LIST_V1_3)
LIST_V1_4["properties"]["resources"] = {"type": "string"}

# 1.14: in_tree.
LIST_V1_14 = copy.deepcopy(LIST_V1_4)
LIST_V1_14["properties"]["in_tree"] = STRICT_UUID

# 1.18: required traits.
LIST_V1_18 = copy.deepcopy(LIST_V1_14)
LIST_V1_18["properties"]["required"] = {"type": "string"}

# 1.24: member_of may repeat (checked as a list by the handler, not here).
LIST_V1_24 = copy.deepcopy(LIST_V1_18)
LIST_V1_24["properties"]["member_of"] = {"type": "array", "items": {"type": "string"}}

# 1.39: required may repeat.
LIST_V1_39 = copy.deepcopy(LIST_V1_24)
LIST_V1_39["properties"]["required"] = {"type": "array", "items": {"type": "string"}}
