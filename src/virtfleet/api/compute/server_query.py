"""The query string of ``GET /servers`` and ``GET /servers/detail``, as the Compute
API reference defines it per microversion.

- Nova's list takes a fixed set of parameters (:data:`REFERENCE_PARAMS`); from 2.75
  any other one is a 400, before that it is ignored.
- A non-administrator's filters outside :func:`user_filters` are dropped silently (as
  in Nova); 2.83 opens more of them to everyone.
- ``status`` must be a known status from 2.38 (a 400, not an empty list).
- ``changes-since`` / ``changes-before`` (2.66) select by last change and bring
  deleted servers back in, ``deleted`` (administrators) selects them alone.
- A reference parameter virtfleet does not filter on is a 400 naming it
  (:data:`NOT_FILTERED`), never a silently unfiltered list.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request

#: Every parameter of the reference's server list query (2.75 refuses any other).
REFERENCE_PARAMS = frozenset(
    {
        "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image",
        "kernel_id", "ramdisk_id", "hostname", "key_name", "power_state", "vm_state",
        "task_state", "host", "node", "flavor", "reservation_id", "launched_at",
        "terminated_at", "availability_zone", "name", "display_name", "description",
        "display_description", "locked_by", "uuid", "root_device_name", "config_drive",
        "access_ip_v4", "access_ip_v6", "auto_disk_config", "progress", "sort_key",
        "sort_dir", "all_tenants", "soft_deleted", "deleted", "status", "changes-since",
        "changes-before", "ip", "ip6", "created_at", "block_device_mapping", "services",
        "metadata", "system_metadata", "info_cache", "security_groups", "pci_devices",
        "tags", "tags-any", "not-tags", "not-tags-any", "limit", "marker", "locked",
        "pinned_availability_zone",
    }
)  # fmt: skip

#: Reference parameters virtfleet has nothing to filter on (or does not sort by).
NOT_FILTERED = frozenset(
    {
        "launch_index", "image_ref", "kernel_id", "ramdisk_id", "locked_by",
        "root_device_name", "access_ip_v4", "access_ip_v6", "auto_disk_config",
        "sort_key", "sort_dir", "soft_deleted", "block_device_mapping", "services",
        "metadata", "system_metadata", "info_cache", "security_groups", "pci_devices",
        "created_at", "launched_at", "terminated_at",
    }
)  # fmt: skip

#: The API statuses Nova knows (2.38: any other is a 400).
STATUSES = frozenset(
    {
        "ACTIVE", "BUILD", "DELETED", "ERROR", "HARD_REBOOT", "MIGRATING", "PASSWORD",
        "PAUSED", "REBOOT", "REBUILD", "RESCUE", "RESIZE", "REVERT_RESIZE", "SHELVED",
        "SHELVED_OFFLOADED", "SHUTOFF", "SOFT_DELETED", "SUSPENDED", "UNKNOWN",
        "VERIFY_RESIZE",
    }
)  # fmt: skip

#: Paging, scope and the filters everyone may use at every microversion.
_EVERYONE = frozenset(
    {
        "name", "status", "flavor", "image", "ip", "changes-since", "reservation_id",
        "all_tenants", "limit", "marker", "tags", "tags-any", "not-tags", "not-tags-any",
        "project_id", "tenant_id", "sort_key", "sort_dir",
    }
)  # fmt: skip
#: The filters 2.83 opens to everyone.
_SINCE_2_83 = frozenset(
    {
        "availability_zone", "config_drive", "key_name", "created_at", "launched_at",
        "terminated_at", "power_state", "task_state", "vm_state", "progress", "user_id",
    }
)  # fmt: skip


def user_filters(req: Request) -> frozenset[str]:
    """The parameters a non-administrator may use at the request's microversion."""
    allowed = set(_EVERYONE)
    if at_least(req, "2.5"):
        allowed.add("ip6")
    if at_least(req, "2.66"):
        allowed.add("changes-before")
    if at_least(req, "2.73"):
        allowed.add("locked")
    if at_least(req, "2.83"):
        allowed |= _SINCE_2_83
    return frozenset(allowed)


@dataclass(frozen=True)
class ServerQuery:
    """The checked query: the filters to apply and whether deleted servers are in."""

    filters: Mapping[str, str]
    statuses: frozenset[str]
    since: datetime.datetime | None
    before: datetime.datetime | None
    read_deleted: bool
    only_deleted: bool


def parse(req: Request, admin: bool) -> ServerQuery:
    """The query of ``req``: 400 for what the reference refuses at its microversion."""
    params = req.GET
    if at_least(req, "2.75"):
        unknown = sorted(set(params.keys()) - REFERENCE_PARAMS)
        if unknown:
            raise HTTPError(
                400,
                "Invalid input for query parameters: additional properties are not "
                f"allowed ({', '.join(repr(u) for u in unknown)} unexpected).",
            )
    known = {k: params.getall(k)[-1] for k in params if k in REFERENCE_PARAMS}
    if not admin:
        allowed = user_filters(req)
        known = {k: v for k, v in known.items() if k in allowed}
    refused = sorted(set(known) & NOT_FILTERED)
    if refused:
        raise HTTPError(400, f"virtfleet does not filter or sort servers by {', '.join(refused)}.")
    statuses = (
        frozenset(v.upper() for v in params.getall("status")) if "status" in known else frozenset()
    )
    if at_least(req, "2.38"):
        bad = sorted(statuses - STATUSES)
        if bad:
            raise HTTPError(400, f"Invalid status value: {', '.join(bad)}.")
    since = _time("changes-since", known.get("changes-since"))
    before = _time("changes-before", known.get("changes-before")) if at_least(req, "2.66") else None
    if since and before and since > before:
        raise HTTPError(
            400,
            "The value of changes-since must be less than or equal to changes-before.",
        )
    only_deleted = "deleted" in known and _flag("deleted", known["deleted"])
    read_deleted = only_deleted or (
        "deleted" not in known and (since is not None or before is not None)
    )
    return ServerQuery(known, statuses, since, before, read_deleted, only_deleted)


def _flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on", "t", "y"):
        return True
    if lowered in ("false", "0", "no", "off", "f", "n"):
        return False
    raise HTTPError(400, f"Invalid input for query parameter {name}: {value!r} is not a boolean.")


def _time(name: str, value: str | None) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPError(
            400, f"Invalid input for query parameter {name}: {value!r} is not an ISO 8601 time."
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def regex(name: str, value: str) -> Callable[[str], bool]:
    """A filter value as Nova reads the regular-expression filters (``ip``, ``ip6``):
    a search anywhere in the field; 400 for an invalid expression."""
    try:
        pattern = re.compile(value)
    except re.error:
        raise HTTPError(
            400, f"Invalid input for query parameter {name}: {value!r} is not a regular expression."
        ) from None
    return lambda text: pattern.search(text) is not None


def flag(name: str, value: str) -> bool:
    """A boolean query value (``locked``, ``config_drive``, ``deleted``)."""
    return _flag(name, value)


def time(name: str, value: str) -> datetime.datetime:
    """A time query value (``created_at`` and the like)."""
    parsed = _time(name, value)
    assert parsed is not None
    return parsed


def as_text(value: Any) -> str:
    return "" if value is None else str(value)
