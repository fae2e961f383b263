"""Schema of ``PUT /os-quota-sets/{project_id}`` (checked, then refused: the limits
are Keystone's unified limits)."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import wrapped

_QUOTA_SET: dict[str, Any] = {"type": "object", "x-messages": {}}

UPDATE_V2_1 = wrapped("quota_set", _QUOTA_SET)
UPDATE: Versioned = (("2.1", UPDATE_V2_1),)
