"""Schemas for the query string of GET /allocation_candidates: which keys exist at
each version (each key with the list of its values). The values themselves are parsed
by :func:`virtfleet.placement.query.parse_candidate_query`."""

from __future__ import annotations

import copy
from typing import Any

_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

GET_V1_10: dict[str, Any] = {
    "type": "object",
    "properties": {"resources": _STRINGS},
    "additionalProperties": False,
}

# 1.16: limit.
GET_V1_16 = copy.deepcopy(GET_V1_10)
GET_V1_16["properties"]["limit"] = _STRINGS

# 1.17: required.
GET_V1_17 = copy.deepcopy(GET_V1_16)
GET_V1_17["properties"]["required"] = _STRINGS

# 1.21: member_of.
GET_V1_21 = copy.deepcopy(GET_V1_17)
GET_V1_21["properties"]["member_of"] = _STRINGS

# 1.25: numbered request groups and group_policy.
GET_V1_25 = copy.deepcopy(GET_V1_21)
GET_V1_25["properties"]["group_policy"] = _STRINGS
GET_V1_25["patternProperties"] = {"^(resources|required|member_of)[1-9][0-9]*$": _STRINGS}

# 1.31: in_tree, also per group.
GET_V1_31 = copy.deepcopy(GET_V1_25)
GET_V1_31["properties"]["in_tree"] = _STRINGS
GET_V1_31["patternProperties"] = {"^(resources|required|member_of|in_tree)[1-9][0-9]*$": _STRINGS}

# 1.33: group suffixes may be strings.
GET_V1_33 = copy.deepcopy(GET_V1_31)
GET_V1_33["patternProperties"] = {
    "^(resources|required|member_of|in_tree)[A-Za-z0-9_-]{1,64}$": _STRINGS
}

# 1.35: root_required.
GET_V1_35 = copy.deepcopy(GET_V1_33)
GET_V1_35["properties"]["root_required"] = _STRINGS

# 1.36: same_subtree.
GET_V1_36 = copy.deepcopy(GET_V1_35)
GET_V1_36["properties"]["same_subtree"] = _STRINGS
