"""Scheduler hints: what a boot's ``os:scheduler_hints`` may say, and what the
scheduler makes of them once it has looked at the database.

:class:`SchedulerHints` is the request as stored with the server (the group, and the
servers to share or avoid a host with); :class:`Affinity` is its resolution for one
scheduling pass (the group's policy and where its other members are, the hosts of
the named servers), which the server-group and same/different-host filters and the
soft-affinity weighers read. Unknown hints are refused (:func:`parse`), never ignored.
"""

from __future__ import annotations

import dataclasses
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from virtfleet import errors

#: The hints virtfleet honours (Nova's names).
KNOWN = ("group", "same_host", "different_host")

#: Server group policies (Nova's, 2.15+ for the soft ones).
AFFINITY = "affinity"
ANTI_AFFINITY = "anti-affinity"
SOFT_AFFINITY = "soft-affinity"
SOFT_ANTI_AFFINITY = "soft-anti-affinity"
POLICIES = (AFFINITY, ANTI_AFFINITY, SOFT_AFFINITY, SOFT_ANTI_AFFINITY)


@dataclasses.dataclass(frozen=True)
class SchedulerHints:
    """A boot's hints; ``member`` is the server they belong to (left out when its
    group's members are counted, e.g. while it moves)."""

    group: str | None = None
    same_host: tuple[str, ...] = ()
    different_host: tuple[str, ...] = ()
    member: str | None = None

    def __bool__(self) -> bool:
        return bool(self.group or self.same_host or self.different_host)

    def to_primitive(self) -> dict[str, Any]:
        """The stored form (without ``member``: the server is its row)."""
        stored: dict[str, Any] = {}
        if self.group:
            stored["group"] = self.group
        if self.same_host:
            stored["same_host"] = list(self.same_host)
        if self.different_host:
            stored["different_host"] = list(self.different_host)
        return stored

    @classmethod
    def from_primitive(cls, stored: Mapping[str, Any], member: str | None = None) -> SchedulerHints:
        return cls(
            group=stored.get("group"),
            same_host=tuple(stored.get("same_host") or ()),
            different_host=tuple(stored.get("different_host") or ()),
            member=member,
        )


@dataclasses.dataclass(frozen=True)
class Affinity:
    """The hints resolved for one pass: the group (name, policy, members per host
    without the server being placed) and the hosts of the same/different-host
    servers (None: no same_host hint)."""

    group_uuid: str | None = None
    group_name: str = ""
    policy: str | None = None
    max_per_host: int = 1
    member_hosts: tuple[tuple[str, int], ...] = ()
    same_hosts: frozenset[str] | None = None
    different_hosts: frozenset[str] = frozenset()

    def members_on(self, host: str) -> int:
        return dict(self.member_hosts).get(host, 0)

    @property
    def describe(self) -> str:
        """``server group web (policy anti-affinity, max_server_per_host 2)``."""
        rule = (
            f", max_server_per_host {self.max_per_host}"
            if self.policy == ANTI_AFFINITY and self.max_per_host != 1
            else ""
        )
        return f"server group {self.group_name or self.group_uuid} (policy {self.policy}{rule})"


def _uuid_list(name: str, value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in values:
        try:
            found.append(str(uuidlib.UUID(str(item))))
        except ValueError:
            raise errors.InvalidInput(
                f"Invalid scheduler hint {name}: {item!r} is not a server uuid."
            ) from None
    return tuple(dict.fromkeys(found))


def parse(raw: Any) -> SchedulerHints:
    """``os:scheduler_hints`` of a boot body as hints; InvalidInput naming an unknown
    hint or a bad value."""
    if raw is None:
        return SchedulerHints()
    if not isinstance(raw, dict):
        raise errors.InvalidInput("Invalid input for os:scheduler_hints: expected an object.")
    unknown = sorted(set(raw) - set(KNOWN))
    if unknown:
        raise errors.InvalidInput(
            f"Unknown scheduler hint(s) {', '.join(unknown)}: virtfleet honours only "
            f"{', '.join(KNOWN)} and refuses a hint it would have to ignore."
        )
    group = raw.get("group")
    if group is not None:
        if isinstance(group, list) and len(group) == 1:
            group = group[0]  # some clients send every hint as a list
        (group,) = _uuid_list("group", group)
    return SchedulerHints(
        group=group,
        same_host=_uuid_list("same_host", raw["same_host"]) if "same_host" in raw else (),
        different_host=(
            _uuid_list("different_host", raw["different_host"]) if "different_host" in raw else ()
        ),
    )
